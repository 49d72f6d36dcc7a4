/* exitcode.c: exits with the code given as its first application argument (FDT bootargs). */
#include "rt.h"

static struct rt_args args;

int guest_main(void)
{
    long code;
    if (rt_parse_bootargs(&args) != 0 || args.napp < 1 || !rt_parse_int(args.app[0], &code)) {
        rt_printf("FAIL: no numeric application argument in bootargs '%s'\n", args.bootargs);
        return 100;
    }
    rt_printf("exiting with %ld\n", code);
    return (int)code;
}
