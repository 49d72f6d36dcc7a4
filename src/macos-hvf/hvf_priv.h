/* hvf_priv.h: state shared by the Hypervisor.framework backend files (hvf.c, hvf_exit.c). */
#ifndef CHYVE_HVF_PRIV_H
#define CHYVE_HVF_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "hvf_api.h"

/* After this many HV_EXIT_REASON_UNKNOWN exits in a row (host signals cause them) the run fails. */
#define HVF_UNKNOWN_EXIT_LIMIT 64

/* Exception classes (ESR_EL2 bits 31:26) the backend tells apart (Arm ARM D17.2.37). */
#define HVF_EC_WFX 0x01
#define HVF_EC_HVC 0x16
#define HVF_EC_SMC 0x17
#define HVF_EC_SYSREG 0x18
#define HVF_EC_IABORT_LOWER 0x20
#define HVF_EC_DABORT_LOWER 0x24
#define HVF_EC_DABORT_SAME 0x25

/* The exception class of syndrome esr. */
static inline unsigned hvf_esr_ec(uint64_t esr)
{
    return (unsigned)(esr >> 26) & 0x3f;
}

/* One vCPU. Lives inside its backend_vm, so a late kick never touches freed memory. */
struct backend_vcpu {
    struct backend_vm *vm;
    unsigned id;
    hv_vcpu_t handle;     /* valid while `alive` */
    hv_vcpu_exit_t *exit; /* the framework's exit record, rewritten by every hv_vcpu_run */
    atomic_bool kicked;   /* a kick is pending; consumed by backend_vcpu_run() */
    atomic_bool alive;    /* handle is valid and the vCPU not destroyed */
    atomic_uint kickers;  /* kicks in flight; destroy waits for them */
    bool vtimer_masked;   /* the framework masked the vtimer at a VTIMER_ACTIVATED exit */
    unsigned unknown_streak;
    uint64_t stats[VCPU_STAT_COUNT]; /* exits handled in the backend, by kind */
};

/* The VM: Hypervisor.framework allows one per process, so this is mostly bookkeeping. */
struct backend_vm {
    uint64_t guest_base; /* start of guest RAM; the hypercall window is its first 16 KiB */
    uint64_t mem_size;
    struct iobus *bus; /* emulated devices: ECAM and BAR accesses (hvf_exit.c) */
    unsigned ncpus;
    bool created;                 /* hv_vm_create succeeded; hv_vm_destroy is owed */
    hv_vcpu_config_t vcpu_config; /* default vCPU configuration; read for ID registers */
    uint64_t parange;             /* ID_AA64MMFR0_EL1.PARange of the vCPUs, for TCR_EL1.IPS */
    struct backend_vcpu vcpus[];
};

/* The fields of a data-abort syndrome (ESR_EL2.ISS for EC 0x24/0x25) the backend needs. */
struct hvf_data_abort {
    bool isv;      /* the syndrome describes the access: size, register and direction valid */
    bool write;    /* WnR: the access was a store */
    bool s1ptw;    /* the fault hit the guest's own stage-1 table walk, not the access */
    bool cm;       /* cache maintenance (DC/IC) rather than a load or store */
    unsigned size; /* access size in bytes (1, 2, 4, 8); valid when isv */
    unsigned srt;  /* transfer register number; 31 is XZR; valid when isv */
};

/* A name for framework result r ("HV_BAD_ARGUMENT", ...), for error messages. */
const char *hvf_strerror(hv_return_t r);

/* Decodes the data-abort syndrome esr. Pure function. */
void hvf_decode_data_abort(uint64_t esr, struct hvf_data_abort *da);

/* What the exit handler wants the run loop to do next. */
enum hvf_action {
    HVF_ACTION_FAIL = -1,  /* stop: err_msg() holds one line */
    HVF_ACTION_RESUME = 0, /* handled; enter the guest again */
    HVF_ACTION_RETURN = 1, /* *exit is filled; hand it to the core */
    HVF_ACTION_KICKED = 2, /* a kick ended the run */
};

/*
 * Handles the exit v->exit describes after hv_vcpu_run returned HV_SUCCESS: hypercall stores in
 * the trap window become VCPU_EXIT_HYPERCALL (PC advanced by 4); WFI/WFE, vtimer, PSCI calls and
 * PMU register accesses are handled here; everything else fails with one line naming the cause,
 * EC, ESR, PC and IPA. On v's thread.
 */
enum hvf_action hvf_handle_exit(struct backend_vcpu *v, struct vcpu_exit *exit);

#endif
