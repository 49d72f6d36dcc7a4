/* guest_pt.c: frames, entries and links of the boot page tables, through guest_mem only. */
#include "err.h"
#include "guest_pt.h"

/* The error for a table at gpa t that lies (partly) outside guest RAM. */
static int outside(const struct guest_pt *pt, uint64_t t)
{
    return err_set("%s at 0x%llx lies outside guest RAM", pt->what, (unsigned long long)t);
}

int guest_pt_take(struct guest_pt *pt, uint64_t *frame)
{
    if (pt->next > pt->end || pt->end - pt->next < GUEST_PAGE_SIZE)
        return err_set("%s pool exhausted: the identity map needs more tables (kernel too large)",
                       pt->what);
    *frame = pt->next;
    pt->next += GUEST_PAGE_SIZE;
    return 0;
}

int guest_pt_clear(struct guest_pt *pt, uint64_t table)
{
    return guest_mem_zero(pt->mem, table, GUEST_PAGE_SIZE) == 0 ? 0 : outside(pt, table);
}

int guest_pt_set(struct guest_pt *pt, uint64_t table, unsigned idx, uint64_t e)
{
    return guest_mem_write_le64(pt->mem, table + (uint64_t)idx * 8, e) == 0 ? 0
                                                                            : outside(pt, table);
}

int guest_pt_next(struct guest_pt *pt, uint64_t table, unsigned idx, uint64_t *next)
{
    uint64_t e;
    if (guest_mem_read_le64(pt->mem, table + (uint64_t)idx * 8, &e) != 0)
        return outside(pt, table);
    if (e & pt->valid) {
        *next = e & pt->addr;
        return 0;
    }
    uint64_t t = 0;
    if (guest_pt_take(pt, &t) != 0 || guest_pt_clear(pt, t) != 0 ||
        guest_pt_set(pt, table, idx, t | pt->link) != 0)
        return -1;
    *next = t;
    return 0;
}
