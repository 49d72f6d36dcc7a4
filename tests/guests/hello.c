/*
 * hello.c: the smallest guest: one line through SerialWriteBuffer (0x880), one byte by byte
 * through SerialWriteByte (0x800), then where it was loaded; exits 0. The first line is reached
 * through a pointer in .data.rel.ro, so it only prints correctly if the loader relocated it.
 */
#include "rt.h"

static const char *volatile greeting = "Hello from a chyve test guest (SerialWriteBuffer)\n";

int guest_main(void)
{
    rt_puts(greeting);
    for (const char *p = "Hello byte by byte (SerialWriteByte)\n"; *p; p++)
        hc1_serial_byte(*p);
    rt_printf("image 0x%lx ram 0x%lx-0x%lx cpus %lu\n", (unsigned long)(uintptr_t)__image_start,
              (unsigned long)bi_u64(BI_PHYS_START), (unsigned long)bi_u64(BI_PHYS_END),
              (unsigned long)bi_u64(BI_NUM_CPUS));
    return 0;
}
