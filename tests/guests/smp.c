/*
 * smp.c: every CPU prints "cpu N online" and checks in on an atomic counter; CPU 0 waits (bounded
 * by the TSC) until num_cpus from the boot info have checked in, then reports and exits 0.
 */
#include "rt.h"

static uint32_t online;

static void check_in(unsigned cpu)
{
    rt_printf("cpu %u online\n", cpu);
    __atomic_add_fetch(&online, 1, __ATOMIC_SEQ_CST);
}

void guest_ap_main(unsigned cpu)
{
    check_in(cpu);
    rt_park();
}

int guest_main(void)
{
    uint64_t ncpus = bi_u64(BI_NUM_CPUS);
    check_in(0);
    uint64_t khz = rt_tick_khz();
    uint64_t deadline = rt_rdtsc() + khz * 1000 * 60; /* 60 s */
    while (__atomic_load_n(&online, __ATOMIC_SEQ_CST) < ncpus && rt_rdtsc() < deadline)
        rt_pause();
    uint32_t n = __atomic_load_n(&online, __ATOMIC_SEQ_CST);
    if (n != ncpus) {
        rt_printf("FAIL: only %u of %lu cpus checked in\n", n, (unsigned long)ncpus);
        return 1;
    }
    rt_printf("all %u cpus online\n", n);
    return 0;
}
