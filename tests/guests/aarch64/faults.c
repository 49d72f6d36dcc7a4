/*
 * faults.c (aarch64 only): accesses KVM cannot turn into a hypercall, chosen by the first
 * application argument. Each must end the run as a VM failure (status 3) with one clear line:
 *   pair     stp to the trap window (no instruction syndrome: KVM_EXIT_ARM_NISV)
 *   narrow   a 32-bit str w8 to the Exit address
 *   unmapped a store to guest-physical 0x0A000000: no RAM, no GIC, and (without --net) no BAR
 *   psci-off PSCI SYSTEM_OFF through hvc, without an Exit hypercall
 */
#include "rt.h"

#define UNMAPPED_PA 0x0A000000ull
#define UNMAPPED_VA 0x30000000000ull
#define PSCI_SYSTEM_OFF 0x84000008u

static struct rt_args args;

int guest_main(void)
{
    if (rt_parse_bootargs(&args) != 0 || args.napp < 1) {
        rt_printf("FAIL: no mode argument in bootargs '%s'\n", args.bootargs);
        return 100;
    }
    const char *mode = args.app[0];
    rt_printf("faults: %s\n", mode);
    if (strcmp(mode, "pair") == 0) {
        __asm__ volatile("stp xzr, xzr, [%0]" : : "r"(0x540ull) : "memory");
    } else if (strcmp(mode, "narrow") == 0) {
        __asm__ volatile("str wzr, [%0]" : : "r"(0x540ull) : "memory");
    } else if (strcmp(mode, "unmapped") == 0) {
        if (rt_map_page(UNMAPPED_VA, UNMAPPED_PA) != 0) {
            rt_puts("FAIL: cannot map the page\n");
            return 101;
        }
        *(volatile uint64_t *)(uintptr_t)UNMAPPED_VA = 0x1234;
    } else if (strcmp(mode, "psci-off") == 0) {
        register uint64_t x0 __asm__("x0") = PSCI_SYSTEM_OFF;
        __asm__ volatile("hvc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
    } else {
        rt_printf("FAIL: unknown mode '%s'\n", mode);
        return 102;
    }
    rt_puts("FAIL: still running\n");
    return 0;
}
