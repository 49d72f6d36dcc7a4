/* hostile.c: placeholder until the attacks are written. */
#include "hostile.h"

unsigned hostile_run(unsigned rx_size, unsigned tx_size)
{
    (void)rx_size;
    (void)tx_size;
    return 0;
}
