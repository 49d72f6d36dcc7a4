/* bench_hypercalls.c: 20000 SerialWriteByte hypercalls ('.'), a newline, exit 0 (benchmarks). */
#include "rt.h"

#define COUNT 20000

int guest_main(void)
{
    for (int i = 0; i < COUNT; i++)
        hc1_serial_byte('.');
    hc1_serial_byte('\n');
    return 0;
}
