/* hc_file.h: the file hypercalls (open, close, read, write, lseek, unlink, getdents, stat, mkdir). */
#ifndef CHYVE_HC_FILE_H
#define CHYVE_HC_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "hypercall/hypercall.h"

struct vm;
struct backend_vcpu;

/* True if addr is one of the file hypercalls of v1 or v2 that hc_file_handle() serves. */
bool hc_file_is_file_call(uint64_t addr);

/*
 * Serves a file hypercall (v1 or v2 decoding by addr). The parameter block at `data` is checked;
 * errors go back to the guest as negative Hermit errno values in the block's result field.
 */
enum hc_status hc_file_handle(struct vm *vm, struct backend_vcpu *v, uint64_t addr, uint64_t data);

/*
 * Resolves guest-virtual [va, va + len) of vCPU v page by page (v1 FileRead/FileWrite buffers are
 * guest-virtual) and calls fn(ctx, host_ptr, n) for each physically contiguous chunk, in order.
 * Stops at the first chunk fn rejects (fn returns < 0). Returns 0, or -1 if some page is not
 * mapped, lies outside guest RAM, or fn failed.
 */
int hc_for_each_virt_chunk(struct vm *vm, struct backend_vcpu *v, uint64_t va, uint64_t len,
                           int (*fn)(void *ctx, uint8_t *p, uint64_t n), void *ctx);

#endif
