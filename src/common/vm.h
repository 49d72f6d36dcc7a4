/* vm.h: one virtual machine run: what the user asked for, and the state its vCPUs share. */
#ifndef CHYVE_VM_H
#define CHYVE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest_mem.h"
#include "loader/elf.h"
#include "loader/layout.h"
#include "net/netif.h"
#include "vm_config.h"

struct backend_vm;
struct backend_vcpu;
struct stats;
struct files;
struct iobus;
struct virtio_net;
struct gdb;

/* Guest console bytes held until a '\n' (vm_console_write): one page, a line and then some. */
#define VM_CONSOLE_BUF 4096

/* Exit statuses chyve itself produces (guest codes pass through as code & 0xFF). */
#define EXIT_USAGE 2      /* bad command line, bad kernel file, no /dev/kvm: nothing ran */
#define EXIT_VM_FAILURE 3 /* the VM failed (triple fault, emulation failure, bad hypercall) */

/* What the kernel's hypercalls see and change. Shared by all vCPU threads. */
struct vm {
    const struct vm_config *cfg;
    struct guest_mem mem;
    struct kernel kernel;
    struct layout layout;
    struct backend_vm *backend;
    struct backend_vcpu *_Atomic vcpus[VM_MAX_CPUS]; /* published once created, for kicking */
    pthread_mutex_t out_lock;  /* serialises console output of concurrent vCPUs */
    pthread_mutex_t stop_lock; /* orders vm_stop() against vCPUs leaving vcpus[] */
    atomic_bool stopping;      /* set once, by the first vCPU that ends the run */
    int exit_code;             /* guest exit code, valid when stopping and !failed */
    bool failed;               /* the run ended in a VM failure; message in fail_msg */
    char fail_msg[512];
    struct stats *stats; /* counters for --stats / --stats-file, else NULL (stats.h) */
    struct files *files; /* the guest's files: mappings, fds, temp dir (files.h) */
    struct iobus *bus;   /* emulated devices the backend forwards accesses to */
    struct netif link;   /* --net: the host end (valid when link_open) */
    bool link_open;
    struct virtio_net *net; /* --net: the device, else NULL */
    struct gdb *gdb;        /* -s: the GDB stub, else NULL (gdb/gdb.h) */
    /*
     * Readable once vm_stop() has run (it writes one byte that nobody reads): a hypercall that
     * waits on a host fd polls it too, so a stop can never be missed between check and wait.
     */
    int wake[2];
    int start_fd; /* --start-fifo: the FIFO to wait on before the first instruction, or -1 */
    pthread_mutex_t stdin_lock; /* one reader of host stdin at a time: poll, then read */
    bool out_may_block;         /* out_fd is a pipe, tty or socket: wait for room, stop-aware */
    /* Called by the first vm_stop(), under stop_lock (the stub releases parked vCPUs). */
    void (*on_stop)(void *ctx);
    void *on_stop_ctx;
    /* Under out_lock: guest console bytes held until a '\n' or a flush (vm_console_write). */
    size_t out_len;
    uint8_t out_buf[VM_CONSOLE_BUF];
};

enum vm_result {
    VM_EXITED,       /* the guest ended the run with an exit code */
    VM_START_FAILED, /* nothing ran: bad kernel, too little memory, no KVM ... (err_msg()) */
    VM_FAILED,       /* the VM failed while running (err_msg()) */
};

/*
 * Loads cfg->kernel_path, builds the VM, runs all vCPUs to the end and tears everything down.
 * On VM_EXITED *code is the guest's exit code (signed, as the guest gave it).
 */
enum vm_result vm_run(const struct vm_config *cfg, int *code);

/*
 * Ends the run on behalf of one vCPU: the first caller's outcome wins (exit code, or failure with
 * msg), every vCPU is kicked. Thread-safe. msg NULL means a normal exit with `code`.
 */
void vm_stop(struct vm *vm, int code, const char *msg);

/*
 * Writes guest console output (serial, fd 1 and 2) to the configured destination, whole, line
 * buffered: bytes are held in out_buf and written when a write brings a '\n', when the buffer is
 * full, and by vm_console_flush(); output that does not fit goes out at once, after the held
 * bytes. Once the run is stopping, output that would have to wait for a full pipe or terminal
 * is dropped. Thread-safe (out_lock).
 */
void vm_console_write(struct vm *vm, const void *buf, size_t len);

/*
 * Writes the console bytes vm_console_write() holds, with its rules for pipes and a stopping
 * run. Called wherever the order against other output matters: before chyve's own lines on
 * stderr (log.h's flush hook), before a wait for stdin, when a vCPU parks or ends, at the end of
 * the run. Thread-safe; must not be called with out_lock held.
 */
void vm_console_flush(struct vm *vm);

/*
 * vm_console_flush() for log.c's hook: writes the held bytes only if that cannot wait (the lock
 * is free and the destination has room), so that a chyve message never blocks behind a full
 * pipe or a vCPU writing to one; then the message may come before those bytes.
 */
void vm_console_flush_nowait(struct vm *vm);

/*
 * Reads host stdin once into buf (at most len bytes) for a hypercall, waiting for input or for
 * the end of the run, whichever comes first; held console output (a prompt) is written first.
 * Returns the byte count, 0 at end of input or when the run is stopping, or -1 with errno (EINTR
 * when a kick interrupted the wait).
 */
ssize_t vm_read_stdin(struct vm *vm, void *buf, size_t len);

#endif
