/* gdt.c: the three-descriptor GDT x86_64 guests start with (ABI §3.4), and arch_setup_guest(). */
#include <stdint.h>

#include "arch.h"
#include "err.h"
#include "x86.h"

int x86_write_gdt(struct guest_mem *m, const struct layout *l)
{
    static const uint64_t desc[X86_GDT_ENTRIES] = {X86_GDT_NULL, X86_GDT_CODE, X86_GDT_DATA};
    uint8_t bytes[X86_GDT_ENTRIES * 8];
    for (unsigned i = 0; i < X86_GDT_ENTRIES; i++) {
        for (unsigned b = 0; b < 8; b++) {
            bytes[i * 8 + b] = (uint8_t)(desc[i] >> (8 * b)); /* little-endian */
        }
    }
    if (guest_mem_write(m, l->gdt, bytes, sizeof(bytes)) != 0) {
        return err_set("GDT at 0x%llx lies outside guest RAM", (unsigned long long)l->gdt);
    }
    return 0;
}

/* GDT first, then the page tables; the vCPU registers (CR3, GDTR) are the backend's job. */
int arch_setup_guest(struct guest_mem *m, const struct layout *l)
{
    if (x86_write_gdt(m, l) != 0) {
        return -1;
    }
    return x86_write_page_tables(m, l);
}
