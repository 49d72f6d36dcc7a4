/*
 * hypercall.h: serving the uhyve hypercall interface (v1 ports, v2 addresses) for every backend,
 * from one table (hypercall/calls.h). All guest-supplied addresses, lengths, counts and fds are
 * checked by the dispatcher and the handlers.
 */
#ifndef CHYVE_HYPERCALL_H
#define CHYVE_HYPERCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypercall/uhyve_abi.h"

struct vm;
struct backend_vcpu;

enum hc_status {
    HC_CONTINUE, /* resume the vCPU */
    HC_STOP,     /* the run is over (Exit, or a fatal guest error already passed to vm_stop) */
};

/* What a handler is given. */
struct hc_call {
    struct vm *vm;
    struct backend_vcpu *vcpu;
    uint64_t data;     /* the register value: the block's guest-physical address, or a value */
    const void *block; /* HC_BLOCK_IN*: a host copy of the parameter block; else NULL */
};

typedef enum hc_status (*hc_handler)(const struct hc_call *c);

/* How the dispatcher treats `data` before calling the handler. */
enum hc_block {
    HC_VALUE,            /* data is a value (a byte, an exit code): no block */
    HC_BLOCK_IN,         /* data addresses a block of `size` bytes, copied to the host first */
    HC_BLOCK_IN_OR_FAIL, /* the same, but a block outside guest RAM ends the run (v1 Exit) */
    HC_BLOCK_OUT,        /* data addresses a block of `size` bytes that the handler only writes */
};

/* A copied-in block is at most this large (the largest, Getdents, has 40 bytes). */
#define HC_BLOCK_MAX 64

/* One hypercall: a row of the table. */
struct hc_entry {
    uint16_t addr;   /* v1 port or v2 address */
    uint8_t version; /* 1 or 2: the interface, and the window addr must lie in */
    enum hc_block block;
    uint32_t size;     /* parameter block bytes; 0 for HC_VALUE */
    const char *name;  /* "FileWrite", for messages */
    const char *label; /* "v1.FileWrite", for --stats */
    hc_handler handler;
};

struct hc_table {
    const struct hc_entry *entries;
    size_t count;
};

/* At most this many rows, so that per-kind counters can be fixed-size arrays (stats). */
#define HC_KINDS_MAX 64

/* chyve's table: the rows of hypercall/calls.h. */
extern const struct hc_table hypercall_builtin;

/* The row for addr in hypercall_builtin, or NULL (a switch over the rows). */
const struct hc_entry *hypercall_builtin_find(uint64_t addr);

/*
 * Checks a table: versions 1 or 2, every address inside its version's window, no address twice,
 * a handler for every row, block sizes consistent with HC_BLOCK_MAX, fewer than HC_KINDS_MAX rows.
 * Returns 0, or -1 with err_msg() naming the first bad row. (The built-in table is also checked at
 * compile time.)
 */
int hypercall_table_check(const struct hc_table *t);

/*
 * Makes t the table every function below reads (NULL: back to hypercall_builtin), after checking
 * it. For tests that add a call; not thread-safe: call before any vCPU runs. Returns 0 or -1.
 */
int hypercall_use_table(const struct hc_table *t);

/* The row for addr in the active table, or NULL. */
const struct hc_entry *hypercall_lookup(uint64_t addr);

/*
 * The kind of the hypercall at addr: its row index in the active table, or hypercall_kinds() - 1
 * ("other") for an unknown address. Kinds index per-kind counters.
 */
unsigned hypercall_kind(uint64_t addr);
/* Number of kinds: the active table's rows plus one for "other". */
unsigned hypercall_kinds(void);
/* The --stats label of a kind ("v1.SerialWriteByte", "other"). */
const char *hypercall_kind_label(unsigned kind);

/*
 * True if the data of the hypercall at addr is 64 bits from RDI / X8 (a v2 call) rather than the
 * 32-bit OUT value (x86 v1). Unknown addresses between the table's lowest and highest v2 address
 * count as v2; they are refused as unknown afterwards either way.
 */
bool hypercall_is_v2(uint64_t addr);

/*
 * Serves one hypercall of vCPU v: addr and data as in struct vcpu_exit. Errors the guest can see
 * (bad fd, bad buffer) are returned to it in the parameter block. A call whose parameter block is
 * outside guest RAM has nowhere to put an error: it is dropped with a warning and the guest goes
 * on. An unknown address, or an Exit that cannot be read, ends the run via vm_stop() with a
 * one-line message.
 */
enum hc_status hypercall_handle(struct vm *vm, struct backend_vcpu *v, uint64_t addr,
                                uint64_t data);

#endif
