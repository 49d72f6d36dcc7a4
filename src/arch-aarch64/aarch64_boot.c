/* aarch64_boot.c: the initial register state of each aarch64 vCPU (ABI §5.2, §2.3). */
#include <string.h>

#include "aarch64.h"
#include "aarch64_boot.h"

void aarch64_boot_regs(const struct layout *l, unsigned cpu, uint64_t parange, uint64_t cpacr,
                       struct aarch64_boot_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->pc = l->entry;
    r->sp_el1 = l->stack; /* the LOWEST address of the boot stack: the kernel adds 0x7FF0 */
    r->x0 = l->boot_info;
    r->x1 = cpu;
    r->pstate = A64_PSTATE_EL1H_DAIF;
    r->mair_el1 = A64_MAIR_EL1;
    r->tcr_el1 = A64_TCR_EL1 | ((parange & 0x7) << A64_TCR_IPS_SHIFT);
    r->sctlr_el1 = A64_SCTLR_EL1;
    r->cpacr_el1 = cpacr | A64_CPACR_FPEN;
    r->mdscr_el1 = 0;
    r->ttbr0_el1 = l->pt_root;
    r->ttbr1_el1 = 0;
    /* Aff0 = CPU number, Aff1-3 = 0: kernels >= 0.12 wait until CPU_ONLINE == MPIDR & 0xFF. */
    r->mpidr_el1 = A64_MPIDR_RES1 | (cpu & 0xFFu);
}
