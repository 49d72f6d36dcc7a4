/*
 * pciprobe.c: what a PCI scan like Hermit's x86_64 one costs a boot: 2048 configuration reads
 * through mechanism #1 (a 0xCF8 write and a 0xCFC read each: device 0-31 of buses 0-63,
 * function 0), counting the slots that answer; prints "pciprobe: N of 2048 slots answer" and
 * exits 0 (benchmarks).
 */
#include "rt.h"

#define SLOTS 2048 /* buses 0-63, devices 0-31, function 0 */

static void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

int guest_main(void)
{
    unsigned found = 0;
    for (unsigned slot = 0; slot < SLOTS; slot++) {
        unsigned bus = slot / 32, dev = slot % 32;
        outl(0xCF8, 0x80000000u | (bus << 16) | (dev << 11));
        if ((inl(0xCFC) & 0xFFFF) != 0xFFFF)
            found++;
    }
    rt_printf("pciprobe: %u of %u slots answer\n", found, SLOTS);
    return 0;
}
