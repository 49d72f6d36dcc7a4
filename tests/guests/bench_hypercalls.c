/*
 * bench_hypercalls.c: 20000 SerialWriteByte hypercalls ('.'), a newline, exit 0 (benchmarks). The
 * loop is the floor's (bench/floor.c): out, dec, jnz, so that the guest-side instructions per exit
 * are the same on both sides and only the VMM's path differs.
 */
#include "rt.h"

#define COUNT 20000

int guest_main(void)
{
    uint32_t n = COUNT;
    __asm__ volatile("1: outb %%al, %%dx\n\t"
                     "dec %%ecx\n\t"
                     "jnz 1b"
                     : "+c"(n)
                     : "a"((uint8_t)'.'), "d"((uint16_t)UHYVE_V1_SERIAL_BYTE)
                     : "memory");
    hc1_serial_byte('\n');
    return 0;
}
