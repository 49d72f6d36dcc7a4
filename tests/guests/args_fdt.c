/*
 * args_fdt.c: prints what a 0.10+ kernel gets from /chosen/bootargs: the raw string, the kernel
 * words, then argv (argv[0] = "args_fdt", then the application arguments) and the environment.
 */
#include "rt.h"

static struct rt_args args;

int guest_main(void)
{
    if (rt_parse_bootargs(&args) != 0) {
        rt_printf("FAIL: cannot parse bootargs '%s'\n", args.bootargs);
        return 1;
    }
    rt_printf("bootargs=%s\n", args.bootargs);
    for (int i = 0; i < args.nkernel; i++)
        rt_printf("karg[%d]=%s\n", i, args.kernel[i]);
    rt_printf("argc=%d\n", args.napp + 1);
    rt_printf("arg[0]=args_fdt\n");
    for (int i = 0; i < args.napp; i++)
        rt_printf("arg[%d]=%s\n", i + 1, args.app[i]);
    rt_printf("envc=%d\n", args.nenv);
    for (int i = 0; i < args.nenv; i++)
        rt_printf("env %s\n", args.env[i]);
    return 0;
}
