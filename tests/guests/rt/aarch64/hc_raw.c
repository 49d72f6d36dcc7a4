/*
 * hc_raw.c (aarch64): the hypercall trap (ABI §5.3): a 64-bit store of X8 to the virtual address
 * equal to the port (v1) or address (v2); chyve maps VA [0, 0x4000) onto the trap window at the
 * start of guest RAM. Also the exception reporter the vectors in crt0.S call.
 */
#include "rt.h"

/* One plain `str x8, [xN]`: no writeback, no pair, so KVM gets a valid syndrome. */
static inline void trap_store(uint64_t va, uint64_t data)
{
    register uint64_t x8 __asm__("x8") = data;
    __asm__ volatile("str %0, [%1]" : : "r"(x8), "r"(va) : "memory");
}

void hc1_raw(uint16_t port, hc1_data_t data)
{
    trap_store(port, data);
}

void hc1_raw8(uint16_t port, uint8_t data)
{
    trap_store(port, data);
}

/* Guest memory is identity-mapped, so a block's virtual address is its physical one. */
hc1_data_t hc1_addr(const volatile void *block)
{
    return (uintptr_t)block;
}

void hc2_raw(uint16_t addr, uint64_t data)
{
    trap_store(addr, data);
}

void rt_exception(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far);

/* Any exception is a bug in the guest or its tables: say which, and exit 98. */
void rt_exception(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far)
{
    rt_printf("FAIL: exception vector %lu, ESR 0x%lx, ELR 0x%lx, FAR 0x%lx\n",
              (unsigned long)vector, (unsigned long)esr, (unsigned long)elr, (unsigned long)far);
    rt_exit(98);
}
