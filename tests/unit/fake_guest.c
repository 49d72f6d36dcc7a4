/* fake_guest.c: a struct vm around a small guest RAM, with console capture, for hypercall tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fake_guest.h"
#include "guest_mem.h"
#include "le.h"

/* Test setup cannot go on: say why and stop the test process (criterion reports the crash). */
static void die(const char *what, uint64_t gpa)
{
    fprintf(stderr, "fake_guest: %s at 0x%llx: %s\n", what, (unsigned long long)gpa, err_msg());
    abort();
}

void fake_guest_init(struct fake_guest *g, uint64_t base, uint64_t size)
{
    memset(g, 0, sizeof(*g));
    g->out = tmpfile();
    if (!g->out)
        die("tmpfile", 0);
    g->cfg.kernel_path = "/boot/kernel";
    g->cfg.mem_size = size;
    g->cfg.ncpus = 1;
    g->cfg.out_fd = fileno(g->out);
    g->vm.cfg = &g->cfg;
    /* The same initialisation vm_run() does before any vCPU exists. */
    pthread_mutex_init(&g->vm.out_lock, NULL);
    pthread_mutex_init(&g->vm.stop_lock, NULL);
    pthread_mutex_init(&g->vm.stdin_lock, NULL);
    g->vm.wake[0] = g->vm.wake[1] = -1; /* no wake-up pipe: poll() skips it, vm_stop() too */
    atomic_init(&g->vm.stopping, false);
    for (unsigned i = 0; i < VM_MAX_CPUS; i++)
        atomic_init(&g->vm.vcpus[i], NULL);
    if (guest_mem_init(&g->vm.mem, base, size) != 0)
        die("guest_mem_init", base);
}

void fake_guest_fini(struct fake_guest *g)
{
    guest_mem_fini(&g->vm.mem);
    pthread_mutex_destroy(&g->vm.out_lock);
    pthread_mutex_destroy(&g->vm.stop_lock);
    pthread_mutex_destroy(&g->vm.stdin_lock);
    if (g->out)
        fclose(g->out);
    g->out = NULL;
}

size_t fake_guest_output(struct fake_guest *g, void *buf, size_t cap)
{
    vm_console_flush(&g->vm); /* what the guest wrote, also a line not ended yet */
    struct stat st;
    if (fstat(fileno(g->out), &st) != 0)
        die("fstat", 0);
    size_t total = (size_t)st.st_size;
    size_t n = total < cap ? total : cap;
    if (n > 0 && pread(fileno(g->out), buf, n, 0) != (ssize_t)n)
        die("pread", 0);
    return total;
}

void fg_wbytes(struct fake_guest *g, uint64_t gpa, const void *src, size_t len)
{
    if (guest_mem_write(&g->vm.mem, gpa, src, len) != 0)
        die("write outside guest RAM", gpa);
}

void fg_fill(struct fake_guest *g, uint64_t gpa, uint8_t byte, size_t len)
{
    void *p = guest_mem_ptr(&g->vm.mem, gpa, len);
    if (!p)
        die("fill outside guest RAM", gpa);
    memset(p, byte, len);
}

/* Copies len bytes of guest RAM at gpa into dst. */
static void rd_bytes(struct fake_guest *g, uint64_t gpa, uint8_t *dst, size_t len)
{
    if (guest_mem_read(&g->vm.mem, gpa, dst, len) != 0)
        die("read outside guest RAM", gpa);
}

void fg_w8(struct fake_guest *g, uint64_t gpa, uint8_t v)
{
    fg_wbytes(g, gpa, &v, 1);
}

void fg_w32(struct fake_guest *g, uint64_t gpa, uint32_t v)
{
    uint8_t b[4];
    le32_put(b, v);
    fg_wbytes(g, gpa, b, sizeof(b));
}

void fg_w64(struct fake_guest *g, uint64_t gpa, uint64_t v)
{
    uint8_t b[8];
    le64_put(b, v);
    fg_wbytes(g, gpa, b, sizeof(b));
}

uint8_t fg_r8(struct fake_guest *g, uint64_t gpa)
{
    uint8_t b;
    rd_bytes(g, gpa, &b, 1);
    return b;
}

uint32_t fg_r32(struct fake_guest *g, uint64_t gpa)
{
    uint8_t b[4];
    rd_bytes(g, gpa, b, sizeof(b));
    return le32_get(b);
}

uint64_t fg_r64(struct fake_guest *g, uint64_t gpa)
{
    uint8_t b[8];
    rd_bytes(g, gpa, b, sizeof(b));
    return le64_get(b);
}

#define PTE_PRESENT_RW 0x3ull
#define PTE_ADDR 0x000FFFFFFFFFF000ull

/* Takes one zeroed 4 KiB table from the pool. */
static uint64_t pt_alloc(struct fg_pt *pt)
{
    if (pt->next + 0x1000 > pt->end)
        die("page-table pool exhausted", pt->next);
    uint64_t t = pt->next;
    pt->next += 0x1000;
    fg_fill(pt->g, t, 0, 0x1000);
    return t;
}

void fg_pt_init(struct fg_pt *pt, struct fake_guest *g, uint64_t pool, uint64_t pool_end)
{
    pt->g = g;
    pt->next = pool;
    pt->end = pool_end;
    pt->root = pt_alloc(pt);
}

void fg_pt_map4k(struct fg_pt *pt, uint64_t va, uint64_t pa)
{
    uint64_t table = pt->root;
    /* PML4 (39), PDPT (30), PD (21): find or create the next level; then the PT entry (12). */
    for (unsigned shift = 39; shift > 12; shift -= 9) {
        uint64_t slot = table + 8 * ((va >> shift) & 511);
        uint64_t e = fg_r64(pt->g, slot);
        if (!(e & 1)) {
            e = pt_alloc(pt) | PTE_PRESENT_RW;
            fg_w64(pt->g, slot, e);
        }
        table = e & PTE_ADDR;
    }
    fg_w64(pt->g, table + 8 * ((va >> 12) & 511), (pa & PTE_ADDR) | PTE_PRESENT_RW);
}
