/* badport.c: an OUT to port 0x9990, which is no hypercall: the VM must fail (status 3). */
#include "rt.h"

int guest_main(void)
{
    rt_puts("writing to port 0x9990\n");
    hc1_raw(0x9990, 0x1234);
    rt_puts("FAIL: still running after the unknown port\n");
    return 0;
}
