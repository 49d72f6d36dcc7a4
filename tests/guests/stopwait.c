/*
 * stopwait.c: a guest that waits, for the tests of how a run stops (tests/integration/
 * test_stop.c). Application arguments choose what it does:
 *   `read` / `serial`: CPU 1 blocks in FileRead(fd 0) / SerialReadBuffer on host stdin, and once
 *       it is in there CPU 0 exits with code 7 (the run must end although CPU 1 never returns);
 *   `spin S`: prints "spinning", spins S seconds (by the TSC) and exits 0;
 *   `stdin`: prints "reading", then CPU 0 itself blocks in FileRead(fd 0) and exits 9 after it.
 * Uses the v2 interface (UHYVEIF 3 note).
 */
#include "rt.h"

static struct rt_args args;
static uint32_t mode; /* 1 read, 2 serial */
static uint32_t entered;

static void spin_ms(uint64_t ms)
{
    uint64_t end = rt_rdtsc() + rt_tick_khz() * ms;
    while (rt_rdtsc() < end)
        rt_pause();
}

void guest_ap_main(unsigned cpu)
{
    static char buf[64];
    uint32_t m;
    while ((m = __atomic_load_n(&mode, __ATOMIC_SEQ_CST)) == 0)
        rt_pause();
    if (cpu == 1) {
        __atomic_store_n(&entered, 1, __ATOMIC_SEQ_CST);
        for (;;) /* again after a kick: only the end of the run may end this */
            m == 1 ? (void)hc2_file_read(0, buf, sizeof(buf))
                   : (void)hc2_serial_read(buf, sizeof(buf));
    }
    rt_park();
}

int guest_main(void)
{
    rt_v2 = true;
    static char buf[64];
    long secs = 0;
    if (rt_parse_bootargs(&args) != 0 || args.napp < 1) {
        rt_puts("FAIL: usage: stopwait -- read|serial|spin S|stdin\n");
        return 100;
    }
    const char *what = args.app[0];
    if (!strcmp(what, "read") || !strcmp(what, "serial")) {
        if (bi_u64(BI_NUM_CPUS) < 2) {
            rt_puts("FAIL: needs 2 CPUs\n");
            return 101;
        }
        __atomic_store_n(&mode, !strcmp(what, "read") ? 1 : 2, __ATOMIC_SEQ_CST);
        while (!__atomic_load_n(&entered, __ATOMIC_SEQ_CST))
            rt_pause();
        spin_ms(200); /* CPU 1 is inside the hypercall by now */
        rt_printf("cpu 0 exits while cpu 1 reads (%s)\n", what);
        return 7;
    }
    if (!strcmp(what, "spin") && args.napp == 2 && rt_parse_int(args.app[1], &secs)) {
        rt_puts("spinning\n");
        spin_ms((uint64_t)secs * 1000);
        rt_puts("spun\n");
        return 0;
    }
    if (!strcmp(what, "stdin")) {
        rt_puts("reading\n");
        int64_t n = hc2_file_read(0, buf, sizeof(buf));
        rt_printf("read returned %ld\n", (long)n);
        return 9;
    }
    rt_puts("FAIL: unknown mode\n");
    return 102;
}
