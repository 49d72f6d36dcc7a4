/*
 * kvm_x86_64_cpuid.c: the CPUID table every vCPU gets: KVM's supported set (asked in a warm-up
 * thread while the kernel loads, backend.h), adjusted per ABI §4.3.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backend.h"
#include "err.h"
#include "kvm_priv.h"

#define CPUID_MAX_ENTRIES 8192
#define CPUID_SPARE 8 /* room for leaves chyve adds */

/* Leaves chyve sets or adds (ABI §4.3, plus the TSC leaf chyve adds on top of uhyve). */
#define CPUID_FEATURES 0x1u
#define CPUID_PMU 0xAu
#define CPUID_HV_BASE 0x40000000u
#define CPUID_HV_TIMING 0x40000010u /* EAX TSC kHz, EBX local APIC bus kHz */
#define CPUID_BRAND 0x80000002u     /* .. 0x80000004 */
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_MSR (1u << 5)
#define LAPIC_BUS_KHZ 1000000u
#define BRAND_STRING "chyve - unikernel hypervisor"

/* The entry for (function, index), or NULL. */
static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
    int i = kvm_x86_cpuid_index(c, fn, index);
    return i < 0 ? NULL : &c->entries[i];
}

/* The entry for (fn, 0), appended zeroed if KVM did not list it. NULL only if the table is full. */
static struct kvm_cpuid_entry2 *cpuid_get(struct kvm_x86_vm *a, uint32_t fn)
{
    struct kvm_cpuid_entry2 *e = cpuid_find(a->cpuid, fn, 0);
    if (e == NULL && a->cpuid->nent < a->cpuid_cap) {
        e = &a->cpuid->entries[a->cpuid->nent++];
        memset(e, 0, sizeof(*e));
        e->function = fn;
    }
    return e;
}

/*
 * The warm-up (backend.h): KVM_GET_SUPPORTED_CPUID asked on a /dev/kvm of its own while the main
 * thread loads the kernel. What it found waits in warm_cpuid until cpuid_fetch() takes it.
 */
static pthread_t warm_thread;
static bool warm_started;
static struct kvm_cpuid2 *warm_cpuid;

static struct kvm_cpuid2 *cpuid_query(int kvm_fd, int *err);

static void *warm_main(void *unused)
{
    (void)unused;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), e;
    if (fd >= 0) {
        warm_cpuid = cpuid_query(fd, &e); /* NULL on failure: cpuid_fetch() asks again */
        close(fd);
    }
    return NULL;
}

void backend_warm_up(void)
{
    if (warm_started)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits a mask blocking all */
    warm_started = pthread_create(&warm_thread, NULL, warm_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Joins the warm-up thread, if it runs; its result stays in warm_cpuid. */
static void warm_join(void)
{
    if (warm_started) {
        pthread_join(warm_thread, NULL);
        warm_started = false;
    }
}

void backend_warm_up_end(void)
{
    warm_join();
    free(warm_cpuid);
    warm_cpuid = NULL;
}

/*
 * KVM_GET_SUPPORTED_CPUID on kvm_fd, growing the buffer while KVM answers E2BIG: the table
 * (malloc'd, with CPUID_SPARE free entries after nent), or NULL with *err the errno (E2BIG
 * past CPUID_MAX_ENTRIES, ENOMEM).
 */
static struct kvm_cpuid2 *cpuid_query(int kvm_fd, int *err)
{
    for (uint32_t n = 256; n <= CPUID_MAX_ENTRIES; n *= 2) {
        size_t bytes =
            sizeof(struct kvm_cpuid2) + (n + CPUID_SPARE) * sizeof(struct kvm_cpuid_entry2);
        struct kvm_cpuid2 *c = calloc(1, bytes);
        if (c == NULL) {
            *err = ENOMEM;
            return NULL;
        }
        c->nent = n;
        if (kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            return c;
        }
        *err = errno;
        free(c);
        if (*err != E2BIG) {
            return NULL;
        }
    }
    *err = E2BIG;
    return NULL;
}

/* KVM's supported CPUID table for a, from the warm-up when it has it, else asked now. */
static int cpuid_fetch(struct backend_vm *vm, struct kvm_x86_vm *a)
{
    warm_join();
    struct kvm_cpuid2 *c = warm_cpuid;
    warm_cpuid = NULL;
    int e = 0;
    if (c == NULL && (c = cpuid_query(vm->kvm_fd, &e)) == NULL) {
        if (e == ENOMEM)
            return err_set("out of memory for the CPUID table");
        if (e == E2BIG)
            return err_set("KVM_GET_SUPPORTED_CPUID needs more than %d entries", CPUID_MAX_ENTRIES);
        return err_set("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(e));
    }
    a->cpuid = c;
    a->cpuid_cap = c->nent + CPUID_SPARE;
    return 0;
}

int kvm_x86_cpuid_build(struct backend_vm *vm, struct kvm_x86_vm *a)
{
    if (cpuid_fetch(vm, a) != 0) {
        return -1;
    }
    struct kvm_cpuid_entry2 *e = cpuid_find(a->cpuid, CPUID_FEATURES, 0);
    if (e == NULL) {
        return err_set("KVM reports no CPUID leaf 1; this host cannot run x86_64 guests");
    }
    e->ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_TSC_DEADLINE;
    e->edx |= CPUID_1_EDX_MSR;
    e = cpuid_find(a->cpuid, CPUID_PMU, 0);
    if (e != NULL) {
        e->eax = 0; /* no architectural PMU */
    }
    char brand[48] = BRAND_STRING; /* NUL padded */
    for (uint32_t i = 0; i < 3; i++) {
        e = cpuid_get(a, CPUID_BRAND + i);
        if (e == NULL) {
            return err_set("CPUID table full");
        }
        memcpy(&e->eax, brand + 16 * i, 4);
        memcpy(&e->ebx, brand + 16 * i + 4, 4);
        memcpy(&e->ecx, brand + 16 * i + 8, 4);
        memcpy(&e->edx, brand + 16 * i + 12, 4);
    }
    if (a->tsc_khz != 0) { /* an unknown rate is better left out than announced as 0 */
        struct kvm_cpuid_entry2 *base = cpuid_find(a->cpuid, CPUID_HV_BASE, 0);
        if (base == NULL) {
            base = cpuid_get(a, CPUID_HV_BASE);
            if (base == NULL) {
                return err_set("CPUID table full");
            }
            memcpy(&base->ebx, "KVMKVMKVM\0\0\0", 12); /* the usual KVM signature */
        }
        if (base->eax < CPUID_HV_TIMING) {
            base->eax = CPUID_HV_TIMING;
        }
        e = cpuid_get(a, CPUID_HV_TIMING);
        if (e == NULL) {
            return err_set("CPUID table full");
        }
        e->eax = a->tsc_khz;
        e->ebx = LAPIC_BUS_KHZ;
        e->ecx = e->edx = 0;
    }
    return 0;
}
