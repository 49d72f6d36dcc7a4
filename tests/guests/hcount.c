/*
 * hcount.c: makes exactly the hypercalls its application arguments ask for, so that --stats can
 * be checked against it. `-- B W A`: every CPU but 0 first makes A SerialWriteByte calls ('a'),
 * then CPU 0 makes B SerialWriteByte calls ('b'), W SerialWriteBuffer calls ("buffer\n") and one
 * Exit (code 0). The arguments come from the FDT in memory, which costs no hypercall.
 */
#include "rt.h"

static struct rt_args args;
static long ap_bytes;
static uint32_t go, done;

void guest_ap_main(unsigned cpu)
{
    (void)cpu;
    while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST))
        rt_pause();
    for (long i = 0; i < ap_bytes; i++)
        hc1_serial_byte('a');
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
    rt_park();
}

int guest_main(void)
{
    static const char buffer[] = "buffer\n";
    long bytes, buffers;
    if (rt_parse_bootargs(&args) != 0 || args.napp != 3 || !rt_parse_int(args.app[0], &bytes) ||
        !rt_parse_int(args.app[1], &buffers) || !rt_parse_int(args.app[2], &ap_bytes)) {
        rt_puts("FAIL: usage: hcount -- BYTES BUFFERS BYTES_PER_OTHER_CPU\n");
        return 100;
    }
    uint64_t others = bi_u64(BI_NUM_CPUS) - 1;
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    uint64_t deadline = rt_rdtsc() + rt_tick_khz() * 1000 * 60; /* 60 s */
    while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < others && rt_rdtsc() < deadline)
        rt_pause();
    if (__atomic_load_n(&done, __ATOMIC_SEQ_CST) != others) {
        rt_puts("FAIL: the other CPUs did not finish\n");
        return 101;
    }
    for (long i = 0; i < bytes; i++)
        hc1_serial_byte('b');
    for (long i = 0; i < buffers; i++)
        hc1_serial_buffer(buffer, sizeof(buffer) - 1);
    return 0;
}
