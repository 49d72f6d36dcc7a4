/* triplefault.c: an empty IDT and ud2: #UD cannot be delivered, the CPU shuts down. */
#include "rt.h"

int guest_main(void)
{
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {0, 0};
    rt_puts("loading an empty IDT and executing ud2\n");
    __asm__ volatile("lidt %0\n\tud2" : : "m"(idtr) : "memory");
    rt_puts("FAIL: still running after ud2\n");
    return 0;
}
