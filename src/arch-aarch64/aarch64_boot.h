/* aarch64_boot.h: the initial register state of an aarch64 vCPU (ABI §5.2), for the backends. */
#ifndef CHYVE_AARCH64_BOOT_H
#define CHYVE_AARCH64_BOOT_H

#include <stdint.h>

#include "loader/layout.h"

/* Register values a backend writes before a vCPU's first run (KVM ONE_REG, HVF hv_vcpu_set_*). */
struct aarch64_boot_regs {
    uint64_t pc, sp_el1, x0, x1, pstate;
    uint64_t mair_el1, tcr_el1, sctlr_el1, cpacr_el1, mdscr_el1, ttbr0_el1, ttbr1_el1;
    uint64_t mpidr_el1; /* Aff0 = cpu (kernels >= 0.12 spin on it) */
};

/*
 * Fills r for vCPU `cpu` of layout l. parange is ID_AA64MMFR0_EL1.PARange of the vCPU (TCR IPS);
 * cpacr is the vCPU's CPACR_EL1 before boot (FP/SIMD access bits are added to it).
 */
void aarch64_boot_regs(const struct layout *l, unsigned cpu, uint64_t parange, uint64_t cpacr,
                       struct aarch64_boot_regs *r);

#endif
