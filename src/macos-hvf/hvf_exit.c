/* hvf_exit.c: the Hypervisor.framework vCPU run loop: exit decoding, hypercall traps, kicks. */
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "hvf_priv.h"
#include "iobus.h"
#include "loader/layout.h"

/* TTBR0_EL1 without ASID (bits 63:48) and CnP (bit 0): the table address for a 48-bit space. */
#define TTBR_BADDR_MASK 0x0000FFFFFFFFFFFEull

/* CNTV_CTL_EL0 bits: ENABLE, IMASK, ISTATUS. The timer asserts its interrupt when 1, 0, 1. */
#define CNTV_CTL_FIRING 0x5ull
#define CNTV_CTL_BITS 0x7ull

const char *hvf_strerror(hv_return_t r)
{
    static _Thread_local char buf[32];
    switch (r) {
    case HV_SUCCESS:
        return "HV_SUCCESS";
    case HV_ERROR:
        return "HV_ERROR";
    case HV_BUSY:
        return "HV_BUSY";
    case HV_BAD_ARGUMENT:
        return "HV_BAD_ARGUMENT";
    case HV_ILLEGAL_GUEST_STATE:
        return "HV_ILLEGAL_GUEST_STATE";
    case HV_NO_RESOURCES:
        return "HV_NO_RESOURCES";
    case HV_NO_DEVICE:
        return "HV_NO_DEVICE";
    case HV_DENIED:
        return "HV_DENIED (is chyve signed with the com.apple.security.hypervisor entitlement?)";
    case HV_UNSUPPORTED:
        return "HV_UNSUPPORTED";
    default:
        snprintf(buf, sizeof(buf), "error 0x%08x", (unsigned)r);
        return buf;
    }
}

void hvf_decode_data_abort(uint64_t esr, struct hvf_data_abort *da)
{
    da->isv = (esr >> 24) & 1;
    da->size = 1u << ((esr >> 22) & 3); /* SAS: 0 byte, 1 halfword, 2 word, 3 doubleword */
    da->srt = (unsigned)(esr >> 16) & 31;
    da->cm = (esr >> 8) & 1;
    da->s1ptw = (esr >> 7) & 1;
    da->write = (esr >> 6) & 1;
}

/* A short name for exception class ec, for failure messages. */
static const char *ec_name(unsigned ec)
{
    switch (ec) {
    case 0x00:
        return "unknown reason";
    case 0x07:
        return "FP/SIMD access";
    case 0x0E:
        return "illegal execution state";
    case 0x15:
        return "SVC";
    case 0x22:
        return "PC alignment fault";
    case 0x26:
        return "SP alignment fault";
    case 0x2C:
        return "floating-point exception";
    case 0x30:
    case 0x31:
        return "breakpoint";
    case 0x32:
    case 0x33:
        return "software step";
    case 0x34:
    case 0x35:
        return "watchpoint";
    case 0x3C:
        return "BRK instruction";
    default:
        return "not handled by chyve";
    }
}

/*
 * Records the one-line failure for the current exception exit: the printf-style description,
 * then exception class, syndrome, PC and faulting IPA. Returns HVF_ACTION_FAIL.
 */
static enum hvf_action fail_exit(struct backend_vcpu *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum hvf_action fail_exit(struct backend_vcpu *v, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    const hv_vcpu_exit_exception_t *x = &v->exit->exception;
    uint64_t pc;
    char pcs[24] = "unknown";
    if (hv_vcpu_get_reg(v->handle, HV_REG_PC, &pc) == HV_SUCCESS)
        snprintf(pcs, sizeof(pcs), "0x%" PRIx64, pc);
    err_set("%s (EC 0x%02x, ESR 0x%" PRIx64 ", PC %s, IPA 0x%" PRIx64 ")", what,
            hvf_esr_ec(x->syndrome), (uint64_t)x->syndrome, pcs, (uint64_t)x->physical_address);
    return HVF_ACTION_FAIL;
}

/* Steps over the trapped instruction (every A64 instruction is 4 bytes). 0 or -1. */
static int advance_pc(struct backend_vcpu *v)
{
    uint64_t pc;
    if (hv_vcpu_get_reg(v->handle, HV_REG_PC, &pc) != HV_SUCCESS ||
        hv_vcpu_set_reg(v->handle, HV_REG_PC, pc + 4) != HV_SUCCESS)
        return -1;
    return 0;
}

/*
 * A load or store to an emulated device (the PCI ECAM window or a BAR): the iobus answers,
 * the register is written back for loads, and the guest resumes after the instruction. Returns
 * HVF_ACTION_... or -2 if no device claimed the address.
 */
static int device_access(struct backend_vcpu *v, uint64_t ipa, const struct hvf_data_abort *da)
{
    if (!da->isv || da->s1ptw || da->cm || v->vm->bus == NULL ||
        (da->size != 1 && da->size != 2 && da->size != 4 && da->size != 8))
        return -2;
    uint8_t buf[8] = {0};
    uint64_t val = 0;
    if (da->write) {
        if (da->srt != 31 &&
            hv_vcpu_get_reg(v->handle, (hv_reg_t)(HV_REG_X0 + da->srt), &val) != HV_SUCCESS)
            return fail_exit(v, "cannot read X%u for a device store", da->srt);
        memcpy(buf, &val, sizeof(buf)); /* little-endian host and guest */
    }
    if (!iobus_mmio(v->vm->bus, ipa, da->write, buf, da->size))
        return -2;
    if (!da->write && da->srt != 31) {
        memcpy(&val, buf, sizeof(val));
        if (hv_vcpu_set_reg(v->handle, (hv_reg_t)(HV_REG_X0 + da->srt), val) != HV_SUCCESS)
            return fail_exit(v, "cannot write X%u after a device load", da->srt);
    }
    if (advance_pc(v) != 0)
        return fail_exit(v, "cannot advance PC past a device access at 0x%" PRIx64, ipa);
    return HVF_ACTION_RESUME;
}

/*
 * A stage-2 data abort. The only legitimate one is a plain store into the hypercall window
 * [guest_base, guest_base + 16 KiB) (ABI §5.3): hypercall address = IPA - guest_base, data = the
 * stored register truncated to the access size. All of guest RAM above the window is mapped, so
 * every other abort is a device access (device_access) or a guest error.
 */
static enum hvf_action data_abort(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    const hv_vcpu_exit_exception_t *x = &v->exit->exception;
    uint64_t base = v->vm->guest_base;
    uint64_t ipa = x->physical_address;
    struct hvf_data_abort da;
    hvf_decode_data_abort(x->syndrome, &da);

    if (ipa < base || ipa - base >= LAYOUT_TRAP_WINDOW) {
        int dev = ipa >= base && ipa - base < v->vm->mem_size ? -2 : device_access(v, ipa, &da);
        if (dev != -2)
            return (enum hvf_action)dev;
        if (ipa >= base && ipa - base < v->vm->mem_size)
            return fail_exit(v, "unexpected stage-2 fault on guest RAM at 0x%" PRIx64, ipa);
        if (!da.isv)
            return fail_exit(
                v, "guest accessed guest-physical address 0x%" PRIx64 ", outside guest RAM", ipa);
        return fail_exit(
            v, "guest %s %u bytes %s guest-physical address 0x%" PRIx64 ", outside guest RAM",
            da.write ? "wrote" : "read", da.size, da.write ? "to" : "from", ipa);
    }
    uint64_t off = ipa - base;
    if (da.s1ptw)
        return fail_exit(v, "guest page-table walk read the hypercall window at offset 0x%" PRIx64,
                         off);
    if (da.cm)
        return fail_exit(v, "guest cache maintenance on the hypercall window at offset 0x%" PRIx64,
                         off);
    if (!da.isv)
        return fail_exit(v,
                         "guest accessed the hypercall window at offset 0x%" PRIx64
                         " with an instruction that has no syndrome (a hypercall is a plain "
                         "store of one register)",
                         off);
    if (!da.write)
        return fail_exit(v, "guest read %u bytes from the hypercall window at offset 0x%" PRIx64,
                         da.size, off);

    uint64_t data = 0; /* register 31 in a load/store is XZR */
    if (da.srt != 31 &&
        hv_vcpu_get_reg(v->handle, (hv_reg_t)(HV_REG_X0 + da.srt), &data) != HV_SUCCESS)
        return fail_exit(v, "cannot read X%u for the hypercall at offset 0x%" PRIx64, da.srt, off);
    if (da.size < 8)
        data &= (1ull << (8 * da.size)) - 1;
    /* Both interface versions resume after the store (uhyve does not for v2: docs/decisions.md). */
    if (advance_pc(v) != 0)
        return fail_exit(v, "cannot advance PC past the hypercall at offset 0x%" PRIx64, off);
    exit->kind = VCPU_EXIT_HYPERCALL;
    exit->addr = off;
    exit->data = data;
    return HVF_ACTION_RETURN;
}

/*
 * True for the performance-monitor registers (Arm ARM D23): PMCR_EL0 ... PMCCFILTR_EL0 (op0 3,
 * CRn 9, CRm 12-14, op1 3 or op1 0 for PMINTEN*_EL1) and PMEVCNTR/PMEVTYPER<n>_EL0 (CRn 14,
 * CRm 8-15). Hermit kernels write PMUSERENR_EL0, PMCNTENSET_EL0 and PMCR_EL0 at boot (ABI §5.4).
 */
static bool is_pmu_reg(unsigned op0, unsigned op1, unsigned crn, unsigned crm)
{
    if (op0 != 3)
        return false;
    if (crn == 9 && crm >= 12)
        return op1 == 3 || op1 == 0;
    return crn == 14 && op1 == 3 && crm >= 8;
}

/*
 * A trapped MSR/MRS. The performance monitors are emulated as a PMU without counters (reads 0,
 * writes ignored); any other register ends the run naming it.
 */
static enum hvf_action sysreg_trap(struct backend_vcpu *v, uint64_t esr)
{
    unsigned op0 = (unsigned)(esr >> 20) & 3, op2 = (unsigned)(esr >> 17) & 7;
    unsigned op1 = (unsigned)(esr >> 14) & 7, crn = (unsigned)(esr >> 10) & 15;
    unsigned rt = (unsigned)(esr >> 5) & 31, crm = (unsigned)(esr >> 1) & 15;
    bool read = esr & 1;
    if (!is_pmu_reg(op0, op1, crn, crm))
        return fail_exit(v,
                         "guest %s system register S%u_%u_C%u_C%u_%u, which chyve does not "
                         "emulate",
                         read ? "read" : "wrote", op0, op1, crn, crm, op2);
    if (read && rt != 31 && hv_vcpu_set_reg(v->handle, (hv_reg_t)(HV_REG_X0 + rt), 0) != HV_SUCCESS)
        return fail_exit(v, "cannot set X%u for a PMU register read", rt);
    /* A trapped MSR/MRS returns to itself: step over it. */
    if (advance_pc(v) != 0)
        return fail_exit(v, "cannot advance PC past a PMU register access");
    v->stats[VCPU_STAT_EMULATED]++;
    return HVF_ACTION_RESUME;
}

/* PSCI 0.2 function IDs (SMC32; the SMC64 forms differ in bit 30) and results (DEN 0022). */
#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_ON 0x84000003u
#define PSCI_AFFINITY_INFO 0x84000004u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_SMC64 0x40000000u
#define PSCI_NOT_SUPPORTED (-1)
#define PSCI_INVALID_PARAMETERS (-2)
#define PSCI_ALREADY_ON (-4)

/*
 * HVC/SMC: the FDT offers PSCI 0.2 through HVC (as KVM implements it). Every vCPU runs from the
 * start (ABI §2.3), so CPU_ON answers ALREADY_ON; SYSTEM_OFF/RESET without an Exit hypercall end
 * the run as a failure; unknown functions get NOT_SUPPORTED (SMC Calling Convention).
 */
static enum hvf_action psci_call(struct backend_vcpu *v, bool smc)
{
    uint64_t x0 = 0, x1 = 0;
    if (hv_vcpu_get_reg(v->handle, HV_REG_X0, &x0) != HV_SUCCESS ||
        hv_vcpu_get_reg(v->handle, HV_REG_X1, &x1) != HV_SUCCESS)
        return fail_exit(v, "cannot read X0/X1 of a %s call", smc ? "SMC" : "HVC");
    uint32_t fn = (uint32_t)x0 & ~PSCI_SMC64;
    int64_t result;
    switch (fn) {
    case PSCI_VERSION:
        result = 2; /* 0.2 */
        break;
    case PSCI_CPU_ON:
        result = PSCI_ALREADY_ON;
        break;
    case PSCI_AFFINITY_INFO:
        /* 0 = ON for every vCPU of this VM (Aff0 = CPU number, other levels 0). */
        result = (x1 & ~0xFFull) == 0 && (x1 & 0xFF) < v->vm->ncpus ? 0 : PSCI_INVALID_PARAMETERS;
        break;
    case PSCI_MIGRATE_INFO_TYPE:
        result = 2; /* no Trusted OS to migrate */
        break;
    case PSCI_SYSTEM_OFF:
        return fail_exit(v, "guest powered off through PSCI SYSTEM_OFF without an Exit hypercall");
    case PSCI_SYSTEM_RESET:
        return fail_exit(v, "guest asked for a reset through PSCI SYSTEM_RESET; chyve does not "
                            "reset VMs");
    default:
        result = PSCI_NOT_SUPPORTED;
        break;
    }
    if (hv_vcpu_set_reg(v->handle, HV_REG_X0, (uint64_t)result) != HV_SUCCESS)
        return fail_exit(v, "cannot return the %s result in X0", smc ? "SMC" : "HVC");
    /* An HVC returns to the next instruction by itself; a trapped SMC returns to the SMC. */
    if (smc && advance_pc(v) != 0)
        return fail_exit(v, "cannot advance PC past SMC");
    v->stats[VCPU_STAT_OTHER]++;
    return HVF_ACTION_RESUME;
}

/* An HV_EXIT_REASON_EXCEPTION exit, dispatched on its exception class. */
static enum hvf_action exception(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    uint64_t esr = v->exit->exception.syndrome;
    unsigned ec = hvf_esr_ec(esr);
    switch (ec) {
    case HVF_EC_DABORT_LOWER:
    case HVF_EC_DABORT_SAME:
        return data_abort(v, exit);
    case HVF_EC_WFX:
        /* WFI/WFE: the guest waits for an interrupt or event; any wake-up is architecturally
         * allowed, so step over it and give the host CPU away once for a WFI (TI bit 0 = 0). */
        if (advance_pc(v) != 0)
            return fail_exit(v, "cannot advance PC past WFI/WFE");
        v->stats[VCPU_STAT_HLT]++;
        if ((esr & 1) == 0)
            sched_yield();
        return HVF_ACTION_RESUME;
    case HVF_EC_HVC:
    case HVF_EC_SMC:
        return psci_call(v, ec == HVF_EC_SMC);
    case HVF_EC_SYSREG:
        return sysreg_trap(v, esr);
    case HVF_EC_IABORT_LOWER:
        return fail_exit(v,
                         "guest executed from guest-physical address 0x%" PRIx64
                         ", outside guest RAM or in the hypercall window",
                         (uint64_t)v->exit->exception.physical_address);
    default:
        return fail_exit(v, "guest exception class 0x%02x (%s)", ec, ec_name(ec));
    }
}

/* Consumes a pending kick; true if there was one. */
static bool take_kick(struct backend_vcpu *v)
{
    return atomic_exchange(&v->kicked, false);
}

enum hvf_action hvf_handle_exit(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    hv_exit_reason_t reason = v->exit->reason;
    if (reason != HV_EXIT_REASON_UNKNOWN)
        v->unknown_streak = 0;
    switch (reason) {
    case HV_EXIT_REASON_EXCEPTION:
        return exception(v, exit);
    case HV_EXIT_REASON_CANCELED:
        /* hv_vcpus_exit() from a kick; a cancel left over from an already consumed kick is
         * just resumed. */
        if (take_kick(v))
            return HVF_ACTION_KICKED;
        v->stats[VCPU_STAT_OTHER]++;
        return HVF_ACTION_RESUME;
    case HV_EXIT_REASON_VTIMER_ACTIVATED:
        /* The framework masked the vtimer; it is unmasked before a later run, once the guest
         * has handled the interrupt (see rearm_vtimer). */
        v->vtimer_masked = true;
        v->stats[VCPU_STAT_OTHER]++;
        return HVF_ACTION_RESUME;
    case HV_EXIT_REASON_UNKNOWN:
        /* A host signal delivered to this thread inside hv_vcpu_run ends it this way. */
        if (take_kick(v))
            return HVF_ACTION_KICKED;
        if (++v->unknown_streak >= HVF_UNKNOWN_EXIT_LIMIT) {
            err_set("hv_vcpu_run returned HV_EXIT_REASON_UNKNOWN %u times in a row",
                    v->unknown_streak);
            return HVF_ACTION_FAIL;
        }
        v->stats[VCPU_STAT_OTHER]++;
        return HVF_ACTION_RESUME;
    default:
        err_set("hv_vcpu_run returned exit reason %u, which chyve does not know", (unsigned)reason);
        return HVF_ACTION_FAIL;
    }
}

/*
 * After a VTIMER_ACTIVATED exit the vtimer stays masked (no further such exits) until cleared.
 * Unmasking while the guest's timer still asserts its interrupt would exit again at once, so
 * it is unmasked only when CNTV_CTL_EL0 no longer reads ENABLE=1, IMASK=0, ISTATUS=1.
 */
static int rearm_vtimer(struct backend_vcpu *v)
{
    uint64_t ctl;
    hv_return_t r = hv_vcpu_get_sys_reg(v->handle, HV_SYS_REG_CNTV_CTL_EL0, &ctl);
    if (r != HV_SUCCESS)
        return err_set("cannot read CNTV_CTL_EL0 of vCPU %u: %s", v->id, hvf_strerror(r));
    if ((ctl & CNTV_CTL_BITS) == CNTV_CTL_FIRING)
        return 0;
    r = hv_vcpu_set_vtimer_mask(v->handle, false);
    if (r != HV_SUCCESS)
        return err_set("cannot unmask the vtimer of vCPU %u: %s", v->id, hvf_strerror(r));
    v->vtimer_masked = false;
    return 0;
}

int backend_vcpu_run(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    memset(exit, 0, sizeof(*exit));
    for (;;) {
        if (take_kick(v)) {
            exit->kind = VCPU_EXIT_KICKED;
            return 0;
        }
        if (v->vtimer_masked && rearm_vtimer(v) != 0) {
            exit->kind = VCPU_EXIT_FAILED;
            return -1;
        }
        hv_return_t r = hv_vcpu_run(v->handle);
        if (r != HV_SUCCESS) {
            exit->kind = VCPU_EXIT_FAILED;
            return err_set("hv_vcpu_run failed on vCPU %u: %s", v->id, hvf_strerror(r));
        }
        switch (hvf_handle_exit(v, exit)) {
        case HVF_ACTION_RESUME:
            continue;
        case HVF_ACTION_RETURN:
            return 0;
        case HVF_ACTION_KICKED:
            exit->kind = VCPU_EXIT_KICKED;
            return 0;
        case HVF_ACTION_FAIL:
        default:
            exit->kind = VCPU_EXIT_FAILED;
            return -1;
        }
    }
}

int backend_vcpu_pt_root(struct backend_vcpu *v, uint64_t *root)
{
    uint64_t ttbr;
    hv_return_t r = hv_vcpu_get_sys_reg(v->handle, HV_SYS_REG_TTBR0_EL1, &ttbr);
    if (r != HV_SUCCESS)
        return err_set("cannot read TTBR0_EL1 of vCPU %u: %s", v->id, hvf_strerror(r));
    *root = ttbr & TTBR_BADDR_MASK;
    return 0;
}

void backend_vcpu_kick(struct backend_vcpu *v)
{
    atomic_fetch_add(&v->kickers, 1);
    atomic_store(&v->kicked, true);
    /* destroy clears `alive` and then waits for kickers, so the handle is valid here. A vCPU
     * not inside hv_vcpu_run returns HV_EXIT_REASON_CANCELED from its next run. */
    if (atomic_load(&v->alive)) {
        hv_vcpu_t h = v->handle;
        hv_vcpus_exit(&h, 1);
    }
    atomic_fetch_sub(&v->kickers, 1);
}

void backend_vcpu_stats(struct backend_vcpu *v, uint64_t counts[VCPU_STAT_COUNT])
{
    memcpy(counts, v->stats, sizeof(v->stats));
}

void backend_vcpu_destroy(struct backend_vcpu *v)
{
    if (v == NULL || !atomic_load(&v->alive))
        return;
    atomic_store(&v->alive, false);
    while (atomic_load(&v->kickers) != 0)
        sched_yield();
    hv_vcpu_destroy(v->handle);
    v->exit = NULL;
}
