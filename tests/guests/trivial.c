/*
 * trivial.c: exits with 0 at once through the v2 Exit hypercall (the benchmarks' boot-to-exit
 * guest: nothing but the boot). Interface 3, so any memory size up to chyve's limit fits.
 */
#include "rt.h"

int guest_main(void)
{
    rt_v2 = true;
    return 0;
}
