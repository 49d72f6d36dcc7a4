/*
 * warnflood.c: many bad hypercalls that chyve only warns about (issue 12): WARNFLOOD_BLOCKS
 * SerialWriteBuffer calls whose parameter block is outside guest memory, then
 * WARNFLOOD_BUFFERS whose block is fine but whose buffer is not. Exits 0; chyve must print a
 * few of each warning and a count of the rest, not one line per call.
 */
#include "rt.h"

#define WARNFLOOD_BLOCKS 20000
#define WARNFLOOD_BUFFERS 3000

int guest_main(void)
{
    rt_printf("warnflood: %d bad blocks, %d bad buffers\n", WARNFLOOD_BLOCKS, WARNFLOOD_BUFFERS);
    for (int i = 0; i < WARNFLOOD_BLOCKS; i++)
        hc1_raw(UHYVE_V1_SERIAL_BUFFER, 0xfffff000u); /* far above the guest's RAM */
    static volatile struct uhyve_serial_buffer_v1 blk;
    for (int i = 0; i < WARNFLOOD_BUFFERS; i++) {
        blk.buf = 0xfff00000000ull + (uint64_t)i; /* outside RAM as well */
        blk.len = 16;
        hc1_raw(UHYVE_V1_SERIAL_BUFFER, hc1_addr(&blk));
    }
    rt_puts("warnflood: done\n");
    return 0;
}
