/*
 * console.c: console output one SerialWriteByte at a time, for the tests of chyve's line-buffered
 * console (tests/integration/test_console.c). Application arguments choose what it prints:
 *   `lines N`: N lines of CONSOLE_LINE bytes (console_line() below, '\n' included), then the
 *       partial line "tail without newline", exit 0;
 *   `warn`: "before ", a SerialWriteBuffer whose buffer is outside RAM (chyve warns on stderr),
 *       "after\n", "end", exit 0;
 *   `fail`: "dying", then a hypercall to a port that is none (the VM fails, status 3);
 *   `prompt serial|file`: "name? ", one read of stdin by SerialReadBuffer or FileRead(fd 0),
 *       "hello, " and what it read, exit 0;
 *   `spin`: "ready\n", "partial", then spins until chyve stops it (exit 1 after 60 s).
 * Uses the v2 interface (UHYVEIF 3 note).
 */
#include "rt.h"

#define CONSOLE_LINE 60 /* bytes per line of `lines`, '\n' included; the test knows it too */

#if defined(__aarch64__)
#define BAD_PORT 0x3990 /* inside the trap window, no hypercall */
#else
#define BAD_PORT 0x9990
#endif

static struct rt_args args;

static void put_bytes(const char *s)
{
    while (*s)
        hc2_serial_byte(*s++);
}

/* Line i of `lines`: "%04d:" then letters from 'a' + i, one '\n' (the test builds the same). */
static void put_line(long i)
{
    char num[8];
    rt_snprintf(num, sizeof(num), "%04ld:", i % 10000);
    put_bytes(num);
    for (int j = 5; j < CONSOLE_LINE - 1; j++)
        hc2_serial_byte((char)('a' + (i + j) % 26));
    hc2_serial_byte('\n');
}

static int prompt(bool serial)
{
    static char buf[64];
    put_bytes("name? ");
    int64_t n = serial ? (int64_t)hc2_serial_read(buf, sizeof(buf) - 1)
                       : hc2_file_read(0, buf, sizeof(buf) - 1);
    if (n < 0 || n >= (int64_t)sizeof(buf)) {
        rt_printf("FAIL: read returned %ld\n", (long)n);
        return 103;
    }
    buf[n] = '\0';
    put_bytes("hello, ");
    put_bytes(buf);
    return 0;
}

static void spin_ms(uint64_t ms)
{
    uint64_t end = rt_rdtsc() + rt_tick_khz() * ms;
    while (rt_rdtsc() < end)
        rt_pause();
}

int guest_main(void)
{
    rt_v2 = true;
    long n = 0;
    if (rt_parse_bootargs(&args) != 0 || args.napp < 1) {
        rt_puts("FAIL: usage: console -- -- lines N|warn|fail|prompt serial|prompt file|spin\n");
        return 100;
    }
    const char *what = args.app[0];
    if (!strcmp(what, "lines") && args.napp == 2 && rt_parse_int(args.app[1], &n) && n >= 0) {
        for (long i = 0; i < n; i++)
            put_line(i);
        put_bytes("tail without newline");
        return 0;
    }
    if (!strcmp(what, "warn")) {
        put_bytes("before ");
        static volatile struct uhyve_serial_buffer_v2 blk = {16, 0xfff00000000ull};
        hc2_raw(UHYVE_V2_SERIAL_BUFFER, (uintptr_t)&blk); /* far above the guest's RAM */
        put_bytes("after\n");
        put_bytes("end");
        return 0;
    }
    if (!strcmp(what, "fail")) {
        put_bytes("dying");
        hc2_raw(BAD_PORT, 0x1234);
        rt_puts("FAIL: still running after the unknown port\n");
        return 0;
    }
    if (!strcmp(what, "prompt") && args.napp == 2)
        return prompt(!strcmp(args.app[1], "serial"));
    if (!strcmp(what, "spin")) {
        put_bytes("ready\n");
        put_bytes("partial");
        spin_ms(60000);
        return 1;
    }
    rt_puts("FAIL: unknown mode\n");
    return 102;
}
