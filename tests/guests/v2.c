/*
 * v2.c: a guest with the UHYVEIF 3 note that uses only v2 hypercalls (DX = address, RDI = data):
 * SerialWriteBuffer, SerialWriteByte, FileWrite (reporting its ret) and Exit with the code from
 * its first application argument.
 */
#include "rt.h"

static struct rt_args args;

int guest_main(void)
{
    rt_v2 = true;
    rt_puts("v2: hello via SerialWriteBuffer\n");
    for (const char *p = "v2: hello via SerialWriteByte\n"; *p; p++)
        hc2_serial_byte(*p);
    static const char msg[] = "v2: hello via FileWrite\n";
    int64_t ret = hc2_file_write(1, msg, sizeof(msg) - 1);
    rt_printf("v2: FileWrite ret=%ld\n", (long)ret);
    ret = hc2_file_write(7, msg, sizeof(msg) - 1);
    rt_printf("v2: FileWrite to fd 7 ret=%ld\n", (long)ret);
    rt_printf("v2: serial port in boot info 0x%x\n", bi_u16(BI_SERIAL_PORT));
    rt_printf("v2: RAM above 4 GiB: %s\n", bi_u64(BI_PHYS_START) >= (1ull << 32) ? "yes" : "no");

    long code = 0;
    if (rt_parse_bootargs(&args) == 0 && args.napp > 0 && !rt_parse_int(args.app[0], &code)) {
        rt_printf("FAIL: bad exit code argument '%s'\n", args.app[0]);
        code = 100;
    }
    rt_printf("v2: exiting with %ld\n", code);
    hc2_exit((int32_t)code);
    rt_puts("FAIL: still running after the v2 Exit\n");
    return 101;
}
