/*
 * xsave.c: enables CR4.OSXSAVE and round-trips x87/SSE control state through XSAVE and XRSTOR,
 * using only general-register instructions. Proves the hypervisor runs (or emulates) XGETBV,
 * XSETBV, XSAVE and XRSTOR correctly.
 */
#include "rt.h"

#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87_SSE 0x3ull
#define FCW_OFF 0
#define MXCSR_OFF 24
#define XSTATE_BV_OFF 512

static uint8_t area1[1024] __attribute__((aligned(64)));
static uint8_t area2[1024] __attribute__((aligned(64)));

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void xsave3(void *area)
{
    __asm__ volatile("xsave (%0)" : : "r"(area), "a"(3), "d"(0) : "memory");
}

static void xrstor3(const void *area)
{
    __asm__ volatile("xrstor (%0)" : : "r"(area), "a"(3), "d"(0) : "memory");
}

static uint16_t get16(const uint8_t *a, unsigned off)
{
    uint16_t v;
    memcpy(&v, a + off, 2);
    return v;
}

static uint32_t get32(const uint8_t *a, unsigned off)
{
    uint32_t v;
    memcpy(&v, a + off, 4);
    return v;
}

int guest_main(void)
{
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    if (!(c & (1u << 26))) {
        rt_puts("FAIL: CPUID.1:ECX.XSAVE is clear\n");
        return 1;
    }
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= CR4_OSXSAVE;
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");

    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & XCR0_X87_SSE) != XCR0_X87_SSE) {
        uint64_t want = xcr0 | XCR0_X87_SSE;
        __asm__ volatile("xsetbv" : : "a"((uint32_t)want), "d"((uint32_t)(want >> 32)), "c"(0));
        xcr0 = xgetbv0();
    }
    if ((xcr0 & XCR0_X87_SSE) != XCR0_X87_SSE) {
        rt_printf("FAIL: XCR0 = 0x%lx lacks x87|SSE\n", (unsigned long)xcr0);
        return 1;
    }

    xsave3(area1);
    uint16_t fcw = get16(area1, FCW_OFF);
    uint32_t mxcsr = get32(area1, MXCSR_OFF);
    if (fcw != 0x037F || mxcsr != 0x1F80) {
        rt_printf("FAIL: first XSAVE: FCW 0x%x (want 0x37f), MXCSR 0x%x (want 0x1f80)\n", fcw,
                  mxcsr);
        return 1;
    }

    fcw = 0x027F;
    mxcsr = 0x1FC0;
    memcpy(area1 + FCW_OFF, &fcw, 2);
    memcpy(area1 + MXCSR_OFF, &mxcsr, 4);
    uint64_t bv;
    memcpy(&bv, area1 + XSTATE_BV_OFF, 8);
    bv |= XCR0_X87_SSE; /* load x87 and SSE from memory, not their init values */
    memcpy(area1 + XSTATE_BV_OFF, &bv, 8);
    xrstor3(area1);

    xsave3(area2);
    fcw = get16(area2, FCW_OFF);
    mxcsr = get32(area2, MXCSR_OFF);
    if (fcw != 0x027F || mxcsr != 0x1FC0) {
        rt_printf("FAIL: after XRSTOR: FCW 0x%x (want 0x27f), MXCSR 0x%x (want 0x1fc0)\n", fcw,
                  mxcsr);
        return 1;
    }
    rt_puts("xsave ok\n");
    return 0;
}
