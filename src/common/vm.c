/* vm.c: one run of a Hermit kernel: load, lay out, describe, start vCPUs, collect the end. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "backend.h"
#include "boot/boot_info.h"
#include "boot/bootargs.h"
#include "boot/devtree.h"
#include "config/affinity.h"
#include "err.h"
#include "files/files.h"
#include "gdb/gdb.h"
#include "host.h"
#include "hypercall/hypercall.h"
#include "hypercall/uhyve_abi.h"
#include "iobus.h"
#include "loader/image.h"
#include "log.h"
#include "net/virtio_net.h"
#include "readfile.h"
#include "start_fifo.h"
#include "stats/stats.h"
#include "stop_signals.h"
#include "vm.h"

/* A kernel file larger than this is not a Hermit kernel anyone builds. */
#define KERNEL_FILE_MAX (1ull << 30)

/* The kernel file of a run while it loads. */
struct kernel_file {
    int fd;                /* the open file, or -1 */
    struct elf_source src; /* a plain ELF file: read from fd, straight into guest RAM */
    uint8_t *image;        /* a Hermit image: the whole file (files_add_image() reads it) */
    size_t image_len;
};

/* Words a readfile_*() failure for the kernel at path. */
static int kernel_file_error(enum readfile_error e, const char *path)
{
    switch (e) {
    case READFILE_OK:
        break;
    case READFILE_OPEN:
        return err_set("cannot open kernel '%s': %s", path, strerror(errno));
    case READFILE_NOT_REGULAR:
        return err_set("kernel '%s' is not a regular file", path);
    case READFILE_TOO_LARGE:
        return err_set("kernel '%s' is larger than 1 GiB", path);
    case READFILE_NO_MEMORY:
        return err_set("out of memory reading kernel '%s'", path);
    case READFILE_READ:
        return err_set("cannot read kernel '%s': %s", path, errno ? strerror(errno) : "EOF");
    }
    return 0;
}

/*
 * Opens the kernel file and tells what it is from its first bytes: a plain ELF stays a file
 * for the loader to read what it needs of (never copied whole into a buffer); a gzip stream is
 * a Hermit image, read whole. kf->fd is open on success and on failure after the open.
 */
static int kernel_file_open(const char *path, struct kernel_file *kf)
{
    uint64_t size;
    enum readfile_error e = readfile_open(path, KERNEL_FILE_MAX, &kf->fd, &size);
    if (e != READFILE_OK)
        return kernel_file_error(e, path);
    if (elf_source_file(&kf->src, kf->fd, size) != 0)
        return err_prefix("kernel '%s': ", path);
    const uint8_t *head = kf->src.head;
    size_t n = kf->src.head_len;
    if (n >= 4 && memcmp(head, "\177ELF", 4) == 0)
        return 0;
    if (!image_is_gzip(head, n))
        return err_set("'%s' is not a Hermit kernel: not an ELF file or a Hermit image", path);
    return kernel_file_error(readfile_fd(kf->fd, size, &kf->image, &kf->image_len), path);
}

/* Closes the file and frees an image's bytes; safe to call twice. */
static void kernel_file_close(struct kernel_file *kf)
{
    if (kf->fd >= 0)
        close(kf->fd);
    kf->fd = -1;
    free(kf->image);
    kf->image = NULL;
}

/* Writes the FDT and the boot info into guest RAM (after the backend told us the TSC rate). */
static int write_boot_data(struct vm *vm)
{
    const struct vm_config *cfg = vm->cfg;
    char *bootargs = bootargs_build(cfg->args, cfg->nargs, cfg->env, cfg->nenv);
    if (!bootargs)
        return -1;
    uint32_t tsc_khz = backend_tsc_khz(vm->backend);
    struct fdt_params fp = {
        .guest_base = vm->layout.guest_base,
        .mem_size = vm->layout.mem_size,
        .ncpus = cfg->ncpus,
        .tsc_khz = tsc_khz,
        .pci = vm->net != NULL,
        .bootargs = bootargs,
        .mounts = files_mounts(vm->files),
    };
    void *fdt = guest_mem_ptr(&vm->mem, vm->layout.fdt, LAYOUT_FDT_MAX);
    size_t fdt_size;
    int rc = fdt ? fdt_build(fdt, LAYOUT_FDT_MAX, &fp, &fdt_size)
                 : err_set("no room for the device tree in guest memory");
    free(bootargs);
    if (rc != 0)
        return -1;

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct boot_info_params bp = {
        .serial_port = vm->kernel.uhyve_if >= 2 ? UHYVE_V2_SERIAL_PORT : UHYVE_V1_SERIAL_PORT,
        .has_pci = backend_has_pci,
        .num_cpus = cfg->ncpus,
        .cpu_freq_khz = tsc_khz,
        .boot_time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec,
    };
    uint8_t bi[BOOT_INFO_SIZE];
    boot_info_build(bi, &vm->layout, &bp);
    if (guest_mem_write(&vm->mem, vm->layout.boot_info, bi, sizeof(bi)) != 0)
        return err_set("no room for the boot info in guest memory");
    log_debug("fdt %zu bytes at 0x%" PRIx64 ", boot info at 0x%" PRIx64 ", tsc %u kHz", fdt_size,
              vm->layout.fdt, vm->layout.boot_info, tsc_khz);
    return 0;
}

/* The network device raises its line through the backend (from its own thread). */
static void net_irq(void *ctx, bool level)
{
    struct vm *vm = ctx;
    if (backend_irq_line(vm->backend, arch_info.pci_irq, level) != 0)
        log_warn("network interrupt: %s", err_msg());
}

/* The device bus, and with --net the host link and the virtio-net device on it. */
static int net_prepare(struct vm *vm)
{
    const struct vm_config *cfg = vm->cfg;
    vm->bus = iobus_create();
    if (!vm->bus)
        return -1;
    if (!cfg->net)
        return 0;
    /* uhyve's rule: 0.13.2 is the first kernel that programs the IOAPIC; without a note, try. */
    const uint32_t *v = vm->kernel.version;
    if (vm->kernel.has_version && v[0] == 0 && (v[1] < 13 || (v[1] == 13 && v[2] < 2)))
        return err_set("--net needs a Hermit kernel 0.13.2 or newer; this one is %u.%u.%u "
                       "(older kernels never enable the device's interrupt)",
                       v[0], v[1], v[2]);
    struct net_spec spec;
    if (net_spec_parse(cfg->net, cfg->mac, &spec) != 0 || netif_open(&spec, &vm->link) != 0)
        return -1;
    vm->link_open = true;
    uint8_t line = arch_info.pci_ecam ? 0 : (uint8_t)arch_info.pci_irq;
    if (virtio_net_create(&vm->mem, &vm->link, line, &vm->net) != 0 ||
        iobus_attach_virtio(vm->bus, virtio_net_device(vm->net), arch_info.pci_slot,
                            arch_info.pci_bar) != 0)
        return -1;
    if (arch_info.pci_ecam)
        iobus_set_ecam(vm->bus, arch_info.pci_ecam, arch_info.pci_ecam_size);
    log_info("network: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u", cfg->net, vm->link.mac[0],
             vm->link.mac[1], vm->link.mac[2], vm->link.mac[3], vm->link.mac[4], vm->link.mac[5],
             vm->link.mtu);
    return 0;
}

/* Builds guest RAM, kernel, page tables, VM and boot data. */
static int vm_prepare(struct vm *vm)
{
    const struct vm_config *cfg = vm->cfg;
    struct kernel_file kf = {.fd = -1};
    struct elf_file *elf = NULL;
    int rc = -1;
    if (files_create(cfg, &vm->files) != 0 || kernel_file_open(cfg->kernel_path, &kf) != 0)
        goto out;
    if (kf.image) {
        const uint8_t *kernel; /* an image's kernel lives in vm->files */
        size_t len;
        if (files_add_image(vm->files, kf.image, kf.image_len, cfg->kernel_path, cfg, &vm->cfg,
                            &kernel, &len) != 0)
            goto out;
        cfg = vm->cfg; /* with the image's arguments and environment */
        elf_source_buffer(&kf.src, kernel, len);
    }
    uint64_t random = 0;
    if (cfg->aslr && getentropy(&random, sizeof(random)) != 0)
        random = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    /* Fresh guest RAM, nothing written before the kernel: elf_load_file() skips the bss. */
    if (elf_open(&kf.src, arch_info.elf_machine, &vm->kernel, &elf) != 0 ||
        layout_choose(&vm->kernel, cfg->mem_size, cfg->aslr, random, &vm->layout) != 0 ||
        guest_mem_init(&vm->mem, vm->layout.guest_base, vm->layout.mem_size) != 0 ||
        guest_mem_advise(&vm->mem, cfg->thp, cfg->ksm) != 0 ||
        elf_load_file(elf, &vm->mem, vm->layout.kernel_start, true) != 0)
        goto out;
    elf_close(elf); /* the kernel file is no longer needed: closed before the sandbox */
    elf = NULL;
    kernel_file_close(&kf);
    if (arch_setup_guest(&vm->mem, &vm->layout) != 0 || net_prepare(vm) != 0 ||
        backend_vm_create(&vm->mem, cfg, vm->bus, &vm->backend) != 0 || write_boot_data(vm) != 0 ||
        (cfg->gdb_port && gdb_open(vm, cfg->gdb_port, &vm->gdb) != 0) ||
        (cfg->start_fifo && (vm->start_fd = start_fifo_open(cfg->start_fifo)) < 0) ||
        files_isolate(vm->files, cfg) != 0 ||       /* everything the run opens is open */
        (vm->net && (netif_start(&vm->link) != 0 || /* threads after it: confined too */
                     virtio_net_start(vm->net, net_irq, vm) != 0)))
        goto out;
    if (vm->gdb) {
        vm->on_stop = gdb_vm_stopping;
        vm->on_stop_ctx = vm->gdb;
        if (gdb_start(vm->gdb) != 0)
            goto out;
    }
    log_info("kernel at 0x%" PRIx64 "-0x%" PRIx64 ", entry 0x%" PRIx64 ", RAM 0x%" PRIx64
             "+%" PRIu64 " MiB, interface v%u%s",
             vm->layout.kernel_start, vm->layout.kernel_end, vm->layout.entry,
             vm->layout.guest_base, vm->layout.mem_size >> 20, vm->kernel.uhyve_if,
             vm->kernel.legacy_mapping ? ", legacy mapping" : "");
    rc = 0;
out:
    elf_close(elf);
    kernel_file_close(&kf);
    return rc;
}

/* Holds the vCPUs before their first guest instruction until the main thread is confined. */
struct vcpu_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
};

struct vcpu_thread {
    struct vm *vm;
    unsigned id;
    pthread_t thread;
    struct vcpu_gate *gate;
};

static void gate_wait(struct vcpu_gate *g)
{
    pthread_mutex_lock(&g->lock);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct vcpu_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* Parks this vCPU for the debugger, its console output written first: the user sees it all. */
static void vcpu_park(struct vm *vm, unsigned id, struct backend_vcpu *v, const struct vcpu_exit *e)
{
    vm_console_flush(vm);
    gdb_vcpu_park(vm->gdb, id, v, e);
}

/* One vCPU: create it on this thread, publish it for kicks, serve its hypercalls until the end. */
static void *vcpu_main(void *arg)
{
    struct vcpu_thread *t = arg;
    struct vm *vm = t->vm;
    struct backend_vcpu *v;
    char msg[sizeof(vm->fail_msg)];
    if (vm->cfg->affinity && affinity_pin_self(vm->cfg->affinity[t->id]) != 0) {
        snprintf(msg, sizeof(msg), "vCPU %u: %s", t->id, err_msg());
        vm_stop(vm, 0, msg);
        if (vm->gdb)
            gdb_vcpu_gone(vm->gdb, t->id);
        return NULL;
    }
    if (backend_vcpu_create(vm->backend, t->id, &vm->layout, &v) != 0) {
        snprintf(msg, sizeof(msg), "cannot create vCPU %u: %s", t->id, err_msg());
        vm_stop(vm, 0, msg);
        if (vm->gdb)
            gdb_vcpu_gone(vm->gdb, t->id);
        return NULL;
    }
    atomic_store(&vm->vcpus[t->id], v);
    /* Set-up is over for this thread: confined before the guest runs on it. */
    bool confined = host_confine_thread(HOST_THREAD_VCPU) == 0;
    if (!confined) {
        snprintf(msg, sizeof(msg), "vCPU %u: %s", t->id, err_msg());
        vm_stop(vm, 0, msg);
    }
    gate_wait(t->gate);
    uint64_t start_ns = stats_now_ns();
    /* Checked after publishing: a vm_stop() that missed us in vcpus[] is seen here. */
    while (confined && !atomic_load(&vm->stopping)) {
        struct vcpu_exit e;
        if (vm->gdb && gdb_vcpu_must_park(vm->gdb)) {
            vcpu_park(vm, t->id, v, NULL);
            continue;
        }
        backend_vcpu_run(v, &e);
        if (e.kind == VCPU_EXIT_FAILED) {
            snprintf(msg, sizeof(msg), "vCPU %u: %s", t->id, err_msg());
            vm_stop(vm, 0, msg);
            break;
        }
        if (e.kind == VCPU_EXIT_DEBUG && vm->gdb)
            vcpu_park(vm, t->id, v, &e);
        if (e.kind != VCPU_EXIT_HYPERCALL)
            continue;
        if (vm->stats)
            stats_hypercall(vm->stats, t->id, e.addr); /* this vCPU's own counters: no lock */
        if (hypercall_handle(vm, v, e.addr, e.data) == HC_STOP)
            break;
    }
    vm_console_flush(vm); /* this vCPU's last partial line, before the run's end is reported */
    pthread_mutex_lock(&vm->stop_lock);
    atomic_store(&vm->vcpus[t->id], NULL);
    pthread_mutex_unlock(&vm->stop_lock);
    if (vm->gdb)
        gdb_vcpu_gone(vm->gdb, t->id);
    if (vm->stats)
        stats_vcpu_done(vm->stats, t->id, v, start_ns);
    backend_vcpu_destroy(v);
    return NULL;
}

/* Starts one thread per vCPU and waits for all of them. */
static int vm_execute(struct vm *vm)
{
    unsigned n = vm->cfg->ncpus;
    struct vcpu_thread *threads = calloc(n, sizeof(*threads));
    if (!threads)
        return err_set("out of memory for %u vCPU threads", n);
    unsigned started = 0;
    struct vcpu_gate gate = {.open = false};
    pthread_mutex_init(&gate.lock, NULL);
    pthread_cond_init(&gate.cond, NULL);
    if (vm->stats)
        vm->stats->t_run = stats_now_ns();
    for (; started < n; started++) {
        threads[started].vm = vm;
        threads[started].id = started;
        threads[started].gate = &gate;
        int e = pthread_create(&threads[started].thread, NULL, vcpu_main, &threads[started]);
        if (e != 0) {
            vm_stop(vm, 0, "cannot start a vCPU thread");
            err_set("cannot start vCPU thread %u: %s", started, strerror(e));
            break;
        }
    }
    /* The main thread starts nothing more: it only waits and tears down from here. */
    if (host_confine_thread(HOST_THREAD_MAIN) != 0) {
        char msg[sizeof(vm->fail_msg)];
        snprintf(msg, sizeof(msg), "%s", err_msg());
        vm_stop(vm, 0, msg);
    }
    gate_open(&gate);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i].thread, NULL);
    pthread_cond_destroy(&gate.cond);
    pthread_mutex_destroy(&gate.lock);
    if (vm->stats)
        vm->stats->t_end = stats_now_ns();
    free(threads);
    return 0;
}

/* The wake pipe (see struct vm): close-on-exec, its write end non-blocking. macOS has no pipe2. */
static int wake_open(struct vm *vm)
{
    if (pipe(vm->wake) != 0) {
        vm->wake[0] = vm->wake[1] = -1;
        return err_set("cannot create the vCPU wake-up pipe: %s", strerror(errno));
    }
    for (int i = 0; i < 2; i++)
        if (fcntl(vm->wake[i], F_SETFD, FD_CLOEXEC) != 0)
            return err_set("cannot set up the vCPU wake-up pipe: %s", strerror(errno));
    int fl = fcntl(vm->wake[1], F_GETFL);
    if (fl < 0 || fcntl(vm->wake[1], F_SETFL, fl | O_NONBLOCK) != 0)
        return err_set("cannot set up the vCPU wake-up pipe: %s", strerror(errno));
    return 0;
}

/* Whether a write to fd can wait indefinitely (pipe, terminal, socket), as files cannot. */
static bool fd_may_block(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
}

/* log.c's flush hook: chyve's own lines on stderr come after the guest output before them. */
static void console_flush_hook(void *vm)
{
    vm_console_flush_nowait(vm);
}

/* vm_execute() with SIGINT, SIGTERM and SIGHUP stopping the run (stop_signals.h). */
static int vm_execute_stoppable(struct vm *vm)
{
    stop_signals_attach(vm); /* a signal that came during set-up stops the run right here */
    int rc = 0;
    if (vm->start_fd >= 0) {
        int started = start_fifo_wait(vm->start_fd, vm->wake[0]);
        close(vm->start_fd);
        vm->start_fd = -1;
        if (started < 0)
            rc = -1;
        else if (started == 0) /* stopped while waiting: vm_stop() recorded how */
            rc = 0;
        else
            rc = vm_execute(vm);
    } else {
        rc = vm_execute(vm);
    }
    stop_signals_attach(NULL);
    return rc;
}

enum vm_result vm_run(const struct vm_config *cfg, int *code)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        err_set("out of memory");
        return VM_START_FAILED;
    }
    vm->cfg = cfg;
    vm->wake[0] = vm->wake[1] = -1;
    vm->start_fd = -1;
    pthread_mutex_init(&vm->out_lock, NULL);
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_mutex_init(&vm->stdin_lock, NULL);
    atomic_init(&vm->stopping, false);
    vm->out_may_block = fd_may_block(cfg->out_fd);
    for (unsigned i = 0; i < VM_MAX_CPUS; i++)
        atomic_init(&vm->vcpus[i], NULL);
    log_set_flush_hook(console_flush_hook, vm); /* before any thread of the run can log */

    enum vm_result res = VM_START_FAILED;
    if (cfg->stats || cfg->stats_file)
        vm->stats = stats_new(cfg->ncpus); /* NULL (out of memory): a run without statistics */
    if (cfg->ncpus == 0 || cfg->ncpus > VM_MAX_CPUS)
        err_set("the vCPU count must be between 1 and %d", VM_MAX_CPUS);
    else if (wake_open(vm) == 0 && vm_prepare(vm) == 0 && vm_execute_stoppable(vm) == 0) {
        /* Each vCPU flushed as it ended; said once more where it matters: before --stats. */
        vm_console_flush(vm);
        if (vm->stats && vm->net) {
            vm->stats->has_net = true;
            virtio_net_stats(vm->net, &vm->stats->net);
        }
        if (vm->stats)
            stats_report(vm->stats, cfg,
                         &(struct stats_outcome){vm->failed, vm->exit_code, vm->fail_msg});
        if (vm->failed) {
            err_set("%s", vm->fail_msg);
            res = VM_FAILED;
        } else {
            *code = vm->exit_code;
            res = VM_EXITED;
        }
    }
    gdb_close(vm->gdb);          /* after the vCPUs: tells the debugger how the run ended */
    virtio_net_destroy(vm->net); /* first: its thread raises lines through the backend */
    if (vm->link_open)
        netif_close(&vm->link);
    if (vm->backend)
        backend_vm_destroy(vm->backend);
    iobus_destroy(vm->bus);
    guest_mem_fini(&vm->mem);
    files_destroy(vm->files); /* closes guest fds, removes the temporary directory */
    stats_free(vm->stats);
    for (int i = 0; i < 2; i++)
        if (vm->wake[i] >= 0)
            close(vm->wake[i]);
    if (vm->start_fd >= 0)
        close(vm->start_fd);
    log_set_flush_hook(NULL, NULL); /* every thread of the run has ended */
    pthread_mutex_destroy(&vm->out_lock);
    pthread_mutex_destroy(&vm->stop_lock);
    pthread_mutex_destroy(&vm->stdin_lock);
    free(vm);
    return res;
}
