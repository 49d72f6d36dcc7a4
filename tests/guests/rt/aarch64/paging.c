/* paging.c (aarch64): adds 4 KiB mappings to the translation tables chyve built (ABI §3.5). */
#include "rt.h"

#define DESC_VALID 0x1ull
#define DESC_TABLE 0x2ull /* table at levels 0-2, page at level 3 */
#define DESC_ADDR 0x0000FFFFFFFFF000ull
/* valid, page, AttrIndx 4 (Normal write-back), inner shareable, access flag */
#define DESC_PAGE 0x713ull
#define POOL_PAGES 16

static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pool_used;

static uint64_t read_ttbr0(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, ttbr0_el1" : "=r"(v));
    return v;
}

/* Table pages are reached through the identity map (.bss and the hypervisor's pool both are). */
int rt_map_page(uint64_t va, uint64_t pa)
{
    uint64_t *table = (uint64_t *)(uintptr_t)(read_ttbr0() & DESC_ADDR);
    for (int level = 0; level < 3; level++) {
        uint64_t *e = &table[(va >> (39 - 9 * level)) & 511];
        if (!(*e & DESC_VALID)) {
            if (pool_used >= POOL_PAGES)
                return -1;
            uint64_t *next = pool[pool_used++];
            memset(next, 0, RT_PAGE);
            __asm__ volatile("dsb ishst" ::: "memory");
            *e = (uintptr_t)next | DESC_VALID | DESC_TABLE;
        } else if (!(*e & DESC_TABLE)) {
            return -1; /* a block already covers va */
        }
        table = (uint64_t *)(uintptr_t)(*e & DESC_ADDR);
    }
    table[(va >> 12) & 511] = (pa & DESC_ADDR) | DESC_PAGE;
    __asm__ volatile("dsb ishst\n\ttlbi vaae1is, %0\n\tdsb ish\n\tisb"
                     :
                     : "r"(va >> 12)
                     : "memory");
    return 0;
}
