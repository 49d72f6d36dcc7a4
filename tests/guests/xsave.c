/*
 * xsave.c: enables CR4.OSXSAVE and round-trips x87/SSE control state through XSAVE and XRSTOR,
 * using only general-register instructions; then XSAVEs into a read-only page and expects #PF
 * with CR0.WP set (and no fault with it clear), and XRSTORs from that page without one. Proves the
 * hypervisor runs (or emulates) XGETBV, XSETBV, XSAVE and XRSTOR with the MMU's checks.
 */
#include "rt.h"

#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87_SSE 0x3ull
#define FCW_OFF 0
#define MXCSR_OFF 24
#define XSTATE_BV_OFF 512

static uint8_t area1[1024] __attribute__((aligned(64)));
static uint8_t area2[1024] __attribute__((aligned(64)));
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

/* The page mapped read-only at RO_VA (its identity address stays writable). */
static uint8_t ro_page[4096] __attribute__((aligned(4096)));

#define RO_VA 0x400000000000ull /* 64 TiB: canonical, far above the identity map */
#define CR0_WP (1ull << 16)
#define PTE_W 0x2ull
#define PTE_ADDR 0x000FFFFFFFFFF000ull

/* What the #PF handler saw; pf_resume is where it continues (set before each try). */
uint64_t pf_resume, pf_code, pf_cr2, pf_count;

/* Interrupt gates (64-bit, 16 bytes each): only #PF (14) is installed. */
static uint64_t idt[2 * 32] __attribute__((aligned(16)));
void pf_entry(void);

__asm__(".text\n"
        ".globl pf_entry\n"
        "pf_entry:\n"
        "    push %rax\n"
        "    mov 8(%rsp), %rax\n" /* error code */
        "    mov %rax, pf_code(%rip)\n"
        "    mov %cr2, %rax\n"
        "    mov %rax, pf_cr2(%rip)\n"
        "    incq pf_count(%rip)\n"
        "    mov pf_resume(%rip), %rax\n"
        "    mov %rax, 16(%rsp)\n" /* the saved RIP: continue after the faulting instruction */
        "    pop %rax\n"
        "    add $8, %rsp\n"
        "    iretq\n");

static void install_idt(void)
{
    uint64_t h = (uint64_t)(uintptr_t)pf_entry;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    idt[2 * 14] =
        (h & 0xFFFF) | ((uint64_t)cs << 16) | (0x8Eull << 40) | ((h >> 16 & 0xFFFF) << 48);
    idt[2 * 14 + 1] = h >> 32;
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } d = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(d) : "memory");
}

/* The 4 KiB PTE that maps va (rt_map_page made every level). */
static uint64_t *pte_of(uint64_t va)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *t = (uint64_t *)(uintptr_t)(cr3 & PTE_ADDR);
    for (int level = 3; level > 0; level--)
        t = (uint64_t *)(uintptr_t)(t[(va >> (12 + 9 * level)) & 511] & PTE_ADDR);
    return &t[(va >> 12) & 511];
}

static void set_wp(bool on)
{
    uint64_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = on ? cr0 | CR0_WP : cr0 & ~CR0_WP;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
}

/* XSAVE / XRSTOR (RFBM x87|SSE) at va; the number of #PFs it raised. */
static uint64_t try_xsave(uint64_t va)
{
    uint64_t before = pf_count;
    __asm__ volatile("lea 1f(%%rip), %%r8\n\t"
                     "mov %%r8, %0\n\t"
                     "xsave (%1)\n"
                     "1:"
                     : "=m"(pf_resume)
                     : "r"(va), "a"(3), "d"(0)
                     : "r8", "memory");
    return pf_count - before;
}

static uint64_t try_xrstor(uint64_t va)
{
    uint64_t before = pf_count;
    __asm__ volatile("lea 1f(%%rip), %%r8\n\t"
                     "mov %%r8, %0\n\t"
                     "xrstor (%1)\n"
                     "1:"
                     : "=m"(pf_resume)
                     : "r"(va), "a"(3), "d"(0)
                     : "r8", "memory");
    return pf_count - before;
}

/* The read-only page: #PF (P|W, CR2 in the page) with WP, a store without WP, loads either way. */
static int read_only_checks(void)
{
    install_idt();
    if (rt_map_page(RO_VA, (uint64_t)(uintptr_t)ro_page) != 0) {
        rt_puts("FAIL: cannot map the test page\n");
        return 1;
    }
    *pte_of(RO_VA) &= ~PTE_W;
    __asm__ volatile("invlpg (%0)" : : "r"(RO_VA) : "memory");
    memset(ro_page, 0xA5, sizeof(ro_page));

    set_wp(true);
    uint64_t n = try_xsave(RO_VA);
    if (n != 1) {
        rt_printf("FAIL: XSAVE to a read-only page with CR0.WP=1 raised %lu #PF (want 1)\n",
                  (unsigned long)n);
        return 1;
    }
    if ((pf_code & 7) != 3 || pf_cr2 < RO_VA || pf_cr2 >= RO_VA + RT_PAGE) {
        rt_printf("FAIL: #PF error code 0x%lx (want P|W, supervisor), CR2 0x%lx\n",
                  (unsigned long)pf_code, (unsigned long)pf_cr2);
        return 1;
    }
    for (unsigned i = 0; i < sizeof(ro_page); i++) {
        if (ro_page[i] != 0xA5) {
            rt_printf("FAIL: the faulting XSAVE changed byte %u of the read-only page\n", i);
            return 1;
        }
    }
    rt_puts("xsave read-only #PF ok\n");

    memset(ro_page + XSTATE_BV_OFF, 0, 64); /* XSAVE leaves the header but XSTATE_BV alone */
    set_wp(false);
    n = try_xsave(RO_VA);
    set_wp(true);
    uint16_t fcw = get16(ro_page, FCW_OFF);
    if (n != 0 || fcw != 0x027F) {
        rt_printf("FAIL: XSAVE to a read-only page with CR0.WP=0: %lu #PF, FCW 0x%x (want 0, "
                  "0x27f)\n",
                  (unsigned long)n, fcw);
        return 1;
    }
    n = try_xrstor(RO_VA);
    if (n != 0) {
        rt_printf("FAIL: XRSTOR from a read-only page raised %lu #PF\n", (unsigned long)n);
        return 1;
    }
    rt_puts("xsave read-only WP=0 ok\n");
    return 0;
}

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
    return read_only_checks();
}
