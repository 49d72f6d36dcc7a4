/* kvm.c: the architecture-neutral part of the Linux KVM backend: VM, RAM slot, vCPUs, run, kick. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "kvm_priv.h"
#include "log.h"
#include "vm.h"

/* The signal that interrupts a vCPU thread blocked in KVM_RUN. Its handler does nothing. */
#define KVM_KICK_SIGNAL SIGUSR2

/* KVM_GET_API_VERSION has been 12 since Linux 2.6.22 and will not change. */
#define KVM_EXPECTED_API 12

/* The kick signal only has to make KVM_RUN return EINTR; the flags say what happened. */
static void kick_handler(int sig)
{
    (void)sig;
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
static int kick_install_errno;

static void kick_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN must come back with EINTR */
    if (sigaction(KVM_KICK_SIGNAL, &sa, NULL) != 0) {
        kick_install_errno = errno;
    }
}

/* Opens /dev/kvm, naming the usual reasons it cannot be used. */
static int open_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        return fd;
    }
    if (errno == ENOENT) {
        return err_set("/dev/kvm does not exist: KVM is not available on this host (kvm module "
                       "not loaded, or no hardware virtualization)");
    }
    if (errno == EACCES || errno == EPERM) {
        return err_set("permission denied opening /dev/kvm (add your user to the 'kvm' group)");
    }
    return err_set("cannot open /dev/kvm: %s", strerror(errno));
}

/* Creates vCPU fd `id` and maps its kvm_run structure. */
static int create_vcpu_fd(struct backend_vm *vm, unsigned id)
{
    struct backend_vcpu *v = &vm->vcpus[id];
    int fd;
    do {
        fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
    } while (fd == -1 && errno == EINTR);
    if (fd < 0) {
        return err_set("KVM_CREATE_VCPU %u failed: %s", id, strerror(errno));
    }
    void *run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (run == MAP_FAILED) {
        int e = errno;
        close(fd);
        return err_set("cannot map the kvm_run area of vCPU %u: %s", id, strerror(e));
    }
    v->fd = fd;
    v->run = run;
    return 0;
}

/* Gives the VM guest RAM [gpa, gpa + size) as memory slot `slot` with KVM_MEM_* flags. */
static int map_slot(struct backend_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
                    uint32_t flags)
{
    void *host = guest_mem_ptr(vm->mem, gpa, size);
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = flags,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    if (host == NULL || kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) != 0) {
        return err_set("cannot map %llu bytes of guest RAM at 0x%llx into the VM: %s",
                       (unsigned long long)size, (unsigned long long)gpa,
                       host ? strerror(errno) : "outside guest RAM");
    }
    return 0;
}

int backend_vm_create(struct guest_mem *m, const struct vm_config *cfg, struct iobus *bus,
                      struct backend_vm **out)
{
    unsigned ncpus = cfg->ncpus;
    if (ncpus == 0) {
        return err_set("a VM needs at least one vCPU");
    }
    pthread_once(&kick_once, kick_install);
    if (kick_install_errno != 0) {
        return err_set("cannot install the vCPU kick signal handler: %s",
                       strerror(kick_install_errno));
    }
    struct backend_vm *vm = calloc(1, sizeof(*vm) + ncpus * sizeof(vm->vcpus[0]));
    if (vm == NULL) {
        return err_set("out of memory creating the VM");
    }
    vm->mem = m;
    vm->cfg = cfg;
    vm->bus = bus;
    vm->ncpus = ncpus;
    vm->vm_fd = -1;
    for (unsigned i = 0; i < ncpus; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].id = i;
        vm->vcpus[i].fd = -1;
    }
    vm->kvm_fd = open_kvm();
    if (vm->kvm_fd < 0) {
        goto fail;
    }
    int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_EXPECTED_API) {
        err_set("unsupported KVM API version %d (expected %d)", api, KVM_EXPECTED_API);
        goto fail;
    }
    do {
        vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0UL);
    } while (vm->vm_fd == -1 && errno == EINTR);
    if (vm->vm_fd < 0) {
        err_set("KVM_CREATE_VM failed: %s", strerror(errno));
        goto fail;
    }
    /* Slot 0: RAM above the trap window; slot 1: the window itself, read-only (aarch64 only). */
    uint64_t window = KVM_TRAP_WINDOW();
    if (window >= m->size || map_slot(vm, 0, m->base + window, m->size - window, 0) != 0 ||
        (window != 0 && map_slot(vm, 1, m->base, window, KVM_MEM_READONLY) != 0)) {
        if (window >= m->size) {
            err_set("guest RAM (%llu bytes) is smaller than the hypercall window",
                    (unsigned long long)m->size);
        }
        goto fail;
    }
    if (kvm_arch_vm_init(vm) != 0) {
        goto fail;
    }
    int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run)) {
        err_set("KVM_GET_VCPU_MMAP_SIZE returned %d", size);
        goto fail;
    }
    vm->run_size = (size_t)size;
    for (unsigned i = 0; i < ncpus; i++) {
        if (create_vcpu_fd(vm, i) != 0) {
            goto fail;
        }
    }
    if (kvm_arch_vm_ready(vm) != 0) {
        goto fail;
    }
    *out = vm;
    return 0;
fail:
    backend_vm_destroy(vm);
    return -1;
}

int backend_vcpu_create(struct backend_vm *vm, unsigned id, const struct layout *l,
                        struct backend_vcpu **out)
{
    if (id >= vm->ncpus) {
        return err_set("vCPU id %u out of range (VM has %u vCPUs)", id, vm->ncpus);
    }
    struct backend_vcpu *v = &vm->vcpus[id];
    if (v->fd < 0 || atomic_load(&v->alive)) {
        return err_set("vCPU %u was already created or destroyed", id);
    }
    /* The core may block signals in its threads; this one must reach us inside KVM_RUN. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, KVM_KICK_SIGNAL);
    int e = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (e != 0) {
        return err_set("cannot unblock the kick signal: %s", strerror(e));
    }
    if (kvm_arch_vcpu_init(v, l) != 0) {
        return -1;
    }
    v->thread = pthread_self();
    atomic_store(&v->alive, true);
    *out = v;
    return 0;
}

/*
 * Consumes a pending kick. The flag is cleared before immediate_exit so that a kick racing with
 * us either leaves immediate_exit set or is seen by the flag check at the top of the run loop.
 */
static bool take_kick(struct backend_vcpu *v)
{
    if (!atomic_exchange(&v->kicked, false)) {
        return false;
    }
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    return true;
}

/* Counts an exit the backend handled itself (hypercalls are counted by the core). */
static void count_exit(struct backend_vcpu *v)
{
    const struct kvm_run *run = v->run;
    enum vcpu_stat s;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        s = run->io.direction == KVM_EXIT_IO_IN ? VCPU_STAT_IO_IN : VCPU_STAT_IO_OUT;
        break;
    case KVM_EXIT_MMIO:
        s = run->mmio.is_write ? VCPU_STAT_MMIO_WRITE : VCPU_STAT_MMIO_READ;
        break;
    case KVM_EXIT_HLT:
        s = VCPU_STAT_HLT;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        s = VCPU_STAT_EMULATED;
        break;
    default:
        s = VCPU_STAT_OTHER;
        break;
    }
    v->stats[s]++;
}

void backend_vcpu_stats(struct backend_vcpu *v, uint64_t counts[VCPU_STAT_COUNT])
{
    memcpy(counts, v->stats, sizeof(v->stats));
}

int backend_vcpu_run(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    memset(exit, 0, sizeof(*exit));
    for (;;) {
        if (take_kick(v)) {
            exit->kind = VCPU_EXIT_KICKED;
            return 0;
        }
        if (ioctl(v->fd, KVM_RUN, 0UL) != 0) {
            if (errno != EINTR && errno != EAGAIN) {
                exit->kind = VCPU_EXIT_FAILED;
                return err_set("KVM_RUN failed on vCPU %u: %s", v->id, strerror(errno));
            }
            if (take_kick(v)) {
                exit->kind = VCPU_EXIT_KICKED;
                return 0;
            }
            /* Another signal, or a stale immediate_exit of an already consumed kick. */
            __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
            continue;
        }
        enum kvm_exit_action a = kvm_arch_handle_exit(v, exit);
        if (a == KVM_ACTION_RESUME) {
            count_exit(v);
        }
        if (a == KVM_ACTION_RETURN) {
            return 0;
        }
        if (a == KVM_ACTION_FAIL) {
            exit->kind = VCPU_EXIT_FAILED;
            return -1;
        }
    }
}

void backend_vcpu_kick(struct backend_vcpu *v)
{
    atomic_fetch_add(&v->kickers, 1);
    atomic_store(&v->kicked, true);
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    /* destroy clears `alive` and then waits for kickers, so the thread cannot be gone here. */
    if (atomic_load(&v->alive)) {
        pthread_kill(v->thread, KVM_KICK_SIGNAL);
    }
    atomic_fetch_sub(&v->kickers, 1);
}

void backend_vcpu_destroy(struct backend_vcpu *v)
{
    if (v == NULL) {
        return;
    }
    atomic_store(&v->alive, false);
    while (atomic_load(&v->kickers) != 0) {
        sched_yield();
    }
    /* The kvm_run mapping stays until the VM goes: a late kick may still write immediate_exit. */
    if (v->fd >= 0) {
        close(v->fd);
        v->fd = -1;
    }
}

void backend_vm_destroy(struct backend_vm *vm)
{
    if (vm == NULL) {
        return;
    }
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct backend_vcpu *v = &vm->vcpus[i];
        if (v->run != NULL) {
            munmap(v->run, vm->run_size);
        }
        if (v->fd >= 0) {
            close(v->fd);
        }
    }
    kvm_arch_vm_free(vm);
    if (vm->vm_fd >= 0) {
        close(vm->vm_fd);
    }
    if (vm->kvm_fd >= 0) {
        close(vm->kvm_fd);
    }
    free(vm);
}
