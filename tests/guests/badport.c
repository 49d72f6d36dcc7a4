/*
 * badport.c: a hypercall to an address that is none: an OUT to port 0x9990 (x86_64), a store to
 * 0x3990 inside the trap window (aarch64). The VM must fail (status 3).
 */
#include "rt.h"

#if defined(__aarch64__)
#define BAD_PORT 0x3990
#else
#define BAD_PORT 0x9990
#endif

int guest_main(void)
{
    rt_printf("writing to port 0x%x\n", BAD_PORT);
    hc1_raw(BAD_PORT, 0x1234);
    rt_puts("FAIL: still running after the unknown port\n");
    return 0;
}
