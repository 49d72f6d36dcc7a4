/* fake_hvf.h: a scripted stand-in for Hypervisor.framework, for unit tests of src/macos-hvf. */
#ifndef CHYVE_FAKE_HVF_H
#define CHYVE_FAKE_HVF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hvf_api.h"

#define FAKE_HVF_HANDLE 7ull /* the hv_vcpu_t hv_vcpu_create hands out */
#define FAKE_HVF_MAX_STEPS 256
#define FAKE_HVF_MAX_CALLS 16

/* One scripted return of hv_vcpu_run. */
struct fake_hvf_step {
    hv_return_t result; /* what hv_vcpu_run returns; the exit record is only set on success */
    hv_exit_reason_t reason;
    uint64_t syndrome, va, ipa;
    bool block; /* wait inside hv_vcpu_run until hv_vcpus_exit, then CANCELED */
};

/* A recorded hv_vm_map / hv_vm_protect call. */
struct fake_hvf_mem_call {
    void *host;
    uint64_t ipa, size, flags;
};

/* Everything the fake records and everything a test can set. Reset by fake_hvf_reset(). */
struct fake_hvf {
    /* script of hv_vcpu_run results, consumed in order */
    struct fake_hvf_step steps[FAKE_HVF_MAX_STEPS];
    unsigned nsteps, next;
    unsigned runs; /* hv_vcpu_run calls */

    /* the vCPU */
    bool vcpu_exists;
    pthread_t owner;       /* the thread that created it */
    unsigned wrong_thread; /* per-vCPU calls from another thread (must stay 0) */
    unsigned bad_handle;   /* calls with a handle hv_vcpu_create did not return */
    hv_vcpu_exit_t exit;
    uint64_t x[31], pc, cpsr;
    uint64_t sys[0x10000];  /* by hv_sys_reg_t encoding */
    uint16_t sys_order[64]; /* the order of hv_vcpu_set_sys_reg calls */
    unsigned nsys_order;
    int fail_sys_reg; /* hv_vcpu_set_sys_reg of this register fails; -1 none */
    unsigned vcpu_creates, vcpu_destroys;

    /* kicks and the vtimer */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool in_run_blocked; /* a blocking step is waiting for hv_vcpus_exit */
    bool cancel_pending; /* hv_vcpus_exit arrived: the next/current run is CANCELED */
    unsigned vcpus_exit_calls;
    hv_vcpu_t vcpus_exit_handle;
    unsigned vtimer_mask_calls;
    bool vtimer_masked;

    /* the VM */
    hv_return_t vm_create_result;
    unsigned vm_creates, vm_destroys;
    struct fake_hvf_mem_call maps[FAKE_HVF_MAX_CALLS], protects[FAKE_HVF_MAX_CALLS];
    unsigned nmaps, nprotects;
    uint64_t mmfr0; /* ID_AA64MMFR0_EL1 of the default vCPU configuration */
    unsigned configs_created, configs_released;

    /* the GIC */
    bool gic_available;
    unsigned gic_creates;
    uint64_t gic_dist_base, gic_redist_base;
    size_t gic_dist_size, gic_dist_align, gic_redist_size, gic_redist_align;
    unsigned spi_calls;
    uint32_t spi_intid; /* the last hv_gic_set_spi */
    bool spi_level;
};

extern struct fake_hvf fake_hvf;

/* Back to the defaults: no script, GIC available, PARange 2 (40 bits), TGran4 0. */
void fake_hvf_reset(void);

/* Appends a successful hv_vcpu_run returning `reason` with this exception information. */
void fake_hvf_push(hv_exit_reason_t reason, uint64_t syndrome, uint64_t ipa);

/* Appends an hv_vcpu_run that fails with r. */
void fake_hvf_push_error(hv_return_t r);

/* Appends an hv_vcpu_run that blocks until hv_vcpus_exit. */
void fake_hvf_push_block(void);

/* Waits (up to ~5 s) until a blocking hv_vcpu_run is waiting; false on timeout. */
bool fake_hvf_wait_blocked(void);

#endif
