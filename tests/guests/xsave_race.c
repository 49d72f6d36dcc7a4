/*
 * xsave_race.c: CPU 0 XSAVEs x87 state only (RFBM 1) into one area in a loop while CPU 1
 * atomically increments words in bytes the CPU never writes there: XMM (outside RFBM), the
 * reserved bytes 416-463 and the software bytes 464-511. Every increment must survive; proves an
 * emulated XSAVE stores only the fields it saves. Needs two CPUs (-c 2).
 */
#include "rt.h"

#define CR4_OSXSAVE (1ull << 18)
#define SAVES 30000 /* XSAVEs that overlap the increments */

static const unsigned counter_off[] = {200, 424, 464, 504};
#define NCOUNTERS (sizeof(counter_off) / sizeof(counter_off[0]))

static uint8_t area[1024] __attribute__((aligned(64)));
static uint64_t started, saves, done, increments;

static uint64_t *counter(unsigned i)
{
    return (uint64_t *)(void *)(area + counter_off[i]);
}

void guest_ap_main(unsigned cpu)
{
    if (cpu != 1)
        return;
    uint64_t n = 0;
    __atomic_store_n(&started, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&saves, __ATOMIC_SEQ_CST) < SAVES) {
        for (unsigned i = 0; i < NCOUNTERS; i++)
            __atomic_add_fetch(counter(i), 1, __ATOMIC_SEQ_CST);
        n++;
    }
    __atomic_store_n(&increments, n, __ATOMIC_SEQ_CST);
    __atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
}

int guest_main(void)
{
    if (bi_u64(BI_NUM_CPUS) < 2) {
        rt_puts("FAIL: needs two CPUs\n");
        return 1;
    }
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSXSAVE) : "memory");
    uint64_t deadline = rt_rdtsc() + rt_tick_khz() * 1000 * 60; /* 60 s */
    while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST) && rt_rdtsc() < deadline)
        rt_pause();
    for (uint64_t i = 0; i < SAVES; i++) {
        __asm__ volatile("xsave (%0)" : : "r"(area), "a"(1), "d"(0) : "memory");
        __atomic_store_n(&saves, i + 1, __ATOMIC_SEQ_CST);
    }
    while (!__atomic_load_n(&done, __ATOMIC_SEQ_CST) && rt_rdtsc() < deadline)
        rt_pause();
    uint64_t want = __atomic_load_n(&increments, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&done, __ATOMIC_SEQ_CST)) {
        rt_puts("FAIL: CPU 1 did not finish in 60 s\n");
        return 1;
    }
    int bad = 0;
    for (unsigned i = 0; i < NCOUNTERS; i++) {
        uint64_t got = __atomic_load_n(counter(i), __ATOMIC_SEQ_CST);
        if (got != want) {
            rt_printf("FAIL: counter at byte %u is %lu, want %lu (%lu increments lost)\n",
                      counter_off[i], (unsigned long)got, (unsigned long)want,
                      (unsigned long)(want - got));
            bad = 1;
        }
    }
    if (bad)
        return 1;
    rt_printf("xsave race ok (%d saves)\n", SAVES);
    return 0;
}
