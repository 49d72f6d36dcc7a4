/*
 * hello.c: chyve's example guest: greets, shows what the hypervisor handed over (CPUs, RAM,
 * arguments and environment from the device tree's bootargs) and exits 0. Built from the test
 * guests' runtime (tests/guests/rt), like a tiny Hermit 0.11 kernel.
 */
#include "rt.h"

static struct rt_args args;

int guest_main(void)
{
    rt_puts("Hello from chyve! I am a tiny guest speaking the Hermit boot ABI.\n");
    rt_printf("I run on %lu CPU(s) with %lu MiB of RAM at 0x%lx.\n",
              (unsigned long)bi_u64(BI_NUM_CPUS),
              (unsigned long)((bi_u64(BI_PHYS_END) - bi_u64(BI_PHYS_START)) >> 20),
              (unsigned long)bi_u64(BI_PHYS_START));
    if (rt_parse_bootargs(&args) != 0) {
        rt_puts("I could not read my command line.\n");
        return 0;
    }
    if (args.napp == 0)
        rt_puts("I got no arguments (try: chyve hello -- -- some words).\n");
    for (int i = 0; i < args.napp; i++)
        rt_printf("argument %d: %s\n", i + 1, args.app[i]);
    size_t bytes = 0;
    for (int i = 0; i < args.nenv; i++)
        bytes += strlen(args.env[i]) + 1;
    rt_printf("My environment has %d variable(s), %lu bytes.\n", args.nenv, (unsigned long)bytes);
    rt_puts("Goodbye.\n");
    return 0;
}
