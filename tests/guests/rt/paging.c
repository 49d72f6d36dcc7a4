/* paging.c: adds 4 KiB mappings to the x86_64 page tables the hypervisor built (ABI §3.4). */
#include "rt.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000FFFFFFFFFF000ull
#define POOL_PAGES 16

static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pool_used;

static uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

/* Table pages are reached through the identity map (.bss and the hypervisor's pool both are). */
int rt_map_page(uint64_t va, uint64_t pa)
{
    uint64_t *table = (uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
    for (int level = 3; level > 0; level--) {
        uint64_t *e = &table[(va >> (12 + 9 * level)) & 511];
        if (!(*e & PTE_P)) {
            if (pool_used >= POOL_PAGES)
                return -1;
            uint64_t *next = pool[pool_used++];
            memset(next, 0, RT_PAGE);
            *e = (uintptr_t)next | PTE_P | PTE_W;
        } else if (level < 3 && (*e & PTE_PS)) {
            return -1;
        }
        table = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
    }
    table[(va >> 12) & 511] = (pa & PTE_ADDR) | PTE_P | PTE_W;
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
    return 0;
}
