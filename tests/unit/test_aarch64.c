/*
 * test_aarch64.c: the aarch64 arch layer on any host: translation tables (ABI §3.5) and the guest
 * walk (§6.1), boot registers (§5.2) and the GIC/timer/PSCI device-tree nodes (§7.2).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "aarch64.h"
#include "aarch64_boot.h"
#include "arch.h"
#include "boot/devtree.h"
#include "err.h"
#include "guest_mem.h"
#include "le.h"
#include "loader/layout.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static struct guest_mem mem;

static void fini(void)
{
    guest_mem_fini(&mem);
}

static uint64_t rd64(uint64_t gpa)
{
    uint8_t b[8];
    cr_assert_eq(guest_mem_read(&mem, gpa, b, 8), 0, "read 0x%llx", (unsigned long long)gpa);
    return le64_get(b);
}

static void wr64(uint64_t gpa, uint64_t v)
{
    uint8_t b[8];
    le64_put(b, v);
    cr_assert_eq(guest_mem_write(&mem, gpa, b, 8), 0);
}

/* RAM at base with the boot area pre-filled with garbage (tables must be zeroed). */
static struct layout setup(uint64_t base, uint64_t size, uint64_t kernel_size)
{
    cr_assert_eq(guest_mem_init(&mem, base, size), 0, "%s", err_msg());
    memset(guest_mem_ptr(&mem, base, LAYOUT_KERNEL_OFFSET), 0xAA, LAYOUT_KERNEL_OFFSET);
    struct layout l;
    memset(&l, 0, sizeof(l));
    l.guest_base = base;
    l.mem_size = size;
    l.kernel_start = base + LAYOUT_KERNEL_OFFSET;
    l.kernel_end = l.kernel_start + kernel_size;
    l.entry = l.kernel_start + 0x800;
    l.boot_info = base + LAYOUT_BOOT_INFO_OFFSET;
    l.fdt = base + LAYOUT_FDT_OFFSET;
    l.pt_root = base + LAYOUT_PT_ROOT_OFFSET;
    l.stack = l.kernel_start - LAYOUT_STACK_SIZE;
    return l;
}

/* The leaf descriptor for va, walked by hand (tables must be 0x713 | address). */
static uint64_t leaf(const struct layout *l, uint64_t va)
{
    uint64_t t = l->pt_root;
    for (unsigned shift = 39; shift > 12; shift -= 9) {
        uint64_t e = rd64(t + ((va >> shift) & 511) * 8);
        if (!(e & A64_DESC_VALID))
            return 0;
        cr_assert_eq(e & ~A64_DESC_ADDR, A64_PT_MEM, "table entry 0x%llx", (unsigned long long)e);
        t = e & A64_DESC_ADDR;
        cr_assert(t >= l->guest_base + LAYOUT_PT_POOL_OFFSET &&
                      t < l->guest_base + LAYOUT_PT_POOL_END,
                  "table 0x%llx outside the pool", (unsigned long long)t);
    }
    return rd64(t + ((va >> 12) & 511) * 8);
}

Test(aarch64_tables, v1_layout, .fini = fini)
{
    const uint64_t base = 0x10000000;
    struct layout l = setup(base, 64 * MIB, 0x123456);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    /* the recursive entry, and nothing else in L0 but entry 0 */
    cr_assert_eq(rd64(l.pt_root + 511 * 8), l.pt_root | 0x713 | (1ull << 55));
    for (unsigned i = 1; i < 511; i++)
        cr_assert_eq(rd64(l.pt_root + i * 8), 0, "L0[%u] not empty", i);
    /* VA 0..0x3FFF: the trap window, Normal non-cacheable */
    for (uint64_t off = 0; off < LAYOUT_TRAP_WINDOW; off += GUEST_PAGE_SIZE)
        cr_assert_eq(leaf(&l, off), (base + off) | 0x70F, "window page 0x%llx",
                     (unsigned long long)off);
    cr_assert_eq(leaf(&l, LAYOUT_TRAP_WINDOW), 0, "VA 0x4000 must stay unmapped");
    /* identity map of [base, align_up(kernel_end)) exactly, no contiguous hints */
    uint64_t end = (l.kernel_end + 0xFFF) & ~0xFFFull;
    for (uint64_t a = base; a < end; a += GUEST_PAGE_SIZE)
        cr_assert_eq(leaf(&l, a), a | 0x713, "identity page 0x%llx", (unsigned long long)a);
    cr_assert_eq(leaf(&l, end), 0, "the page after the kernel must be unmapped");
    cr_assert_eq(leaf(&l, base - GUEST_PAGE_SIZE), 0);
    /* L1, L2 shared by the window and the identity map, one L3 each: 4 pool frames */
    uint64_t pool = base + LAYOUT_PT_POOL_OFFSET;
    cr_assert_eq(rd64(l.pt_root), pool | 0x713);
    cr_assert_eq(rd64(pool), (pool + 0x1000) | 0x713);
    cr_assert_eq(rd64(pool + 0x1000), (pool + 0x2000) | 0x713);
    cr_assert_eq(rd64(pool + 0x1000 + 128 * 8), (pool + 0x3000) | 0x713);
    cr_assert_eq(rd64(pool + 0x4000), 0xAAAAAAAAAAAAAAAAull, "a fifth frame was used");
}

Test(aarch64_tables, above_4g_and_walk, .fini = fini)
{
    const uint64_t base = 0x100000000ull + 6 * MIB;
    struct layout l = setup(base, 32 * MIB, 3 * MIB);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    uint64_t pa;
    cr_assert_eq(arch_virt_to_phys(&mem, l.pt_root, 0x540, &pa), 0, "%s", err_msg());
    cr_assert_eq(pa, base + 0x540);
    cr_assert_eq(arch_virt_to_phys(&mem, l.pt_root | 1, 0x1010, &pa), 0, "CnP bit ignored");
    cr_assert_eq(pa, base + 0x1010);
    cr_assert_eq(arch_virt_to_phys(&mem, l.pt_root, l.kernel_end - 1, &pa), 0, "%s", err_msg());
    cr_assert_eq(pa, l.kernel_end - 1);
    cr_assert_neq(arch_virt_to_phys(&mem, l.pt_root, l.kernel_end + GUEST_PAGE_SIZE, &pa), 0);
    cr_assert(strstr(err_msg(), "is not mapped"), "%s", err_msg());
    cr_assert_neq(arch_virt_to_phys(&mem, l.pt_root, 1ull << 48, &pa), 0);
    cr_assert(strstr(err_msg(), "48-bit"), "%s", err_msg());
    cr_assert_neq(arch_virt_to_phys(&mem, l.pt_root, ~0ull, &pa), 0);
    /* 6 frames: L1 (shared L0[0]), window L2 + L3, identity L2 + two L3 (crosses 2 MiB) */
    cr_assert_neq(rd64(base + LAYOUT_PT_POOL_OFFSET + 5 * 0x1000), 0xAAAAAAAAAAAAAAAAull);
    cr_assert_eq(rd64(base + LAYOUT_PT_POOL_OFFSET + 6 * 0x1000), 0xAAAAAAAAAAAAAAAAull);
}

Test(aarch64_tables, blocks_and_bad_tables, .fini = fini)
{
    const uint64_t base = 0x40000000;
    struct layout l = setup(base, 16 * MIB, 1 * MIB);
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    uint64_t l1 = rd64(l.pt_root) & A64_DESC_ADDR, pa;
    /* a 1 GiB block at L1[3] (VA 3 GiB) onto PA 0x80000000 */
    wr64(l1 + 3 * 8, 0x80000000ull | 0x711);
    cr_assert_eq(arch_virt_to_phys(&mem, l.pt_root, 3 * GIB + 0x12345678, &pa), 0);
    cr_assert_eq(pa, 0x80000000ull + 0x12345678);
    /* a 2 MiB block at L2[511] of the table under L1[1] (VA 0x7FE00000) */
    uint64_t l2 = rd64(l1 + 1 * 8) & A64_DESC_ADDR;
    wr64(l2 + 511 * 8, 0x123400000ull | 0x711);
    cr_assert_eq(arch_virt_to_phys(&mem, l.pt_root, 0x7FE00000ull + 0x1ABCDE, &pa), 0);
    cr_assert_eq(pa, 0x123400000ull + 0x1ABCDE);
    /* a level-3 entry without the page bit is invalid (identity L3 under that same L2) */
    uint64_t l3 = rd64(l2) & A64_DESC_ADDR;
    wr64(l3 + 5 * 8, 0x40005000ull | 0x711);
    cr_assert_neq(arch_virt_to_phys(&mem, l.pt_root, 0x40005000ull, &pa), 0);
    cr_assert(strstr(err_msg(), "invalid level-3"), "%s", err_msg());
    /* a table outside guest RAM, and a level-0 block */
    wr64(l.pt_root + 2 * 8, 0xFFFFFFFFF000ull | 0x3);
    cr_assert_neq(arch_virt_to_phys(&mem, l.pt_root, 2ull << 39, &pa), 0);
    cr_assert(strstr(err_msg(), "outside guest RAM"), "%s", err_msg());
    wr64(l.pt_root + 3 * 8, 0x1);
    cr_assert_neq(arch_virt_to_phys(&mem, l.pt_root, 3ull << 39, &pa), 0);
    cr_assert(strstr(err_msg(), "level-0"), "%s", err_msg());
    /* a root outside RAM */
    cr_assert_neq(arch_virt_to_phys(&mem, 0x1000, 0x540, &pa), 0);
}

Test(aarch64_tables, pool_exhausted, .fini = fini)
{
    /* 39 pool frames hold ~37 L3 tables = 74 MiB; 80 MiB of kernel needs more */
    struct layout l = setup(0x10000000, 128 * MIB, 80 * MIB);
    cr_assert_neq(arch_setup_guest(&mem, &l), 0);
    cr_assert(strstr(err_msg(), "pool exhausted"), "%s", err_msg());
}

Test(aarch64_tables, refuses_bad_layouts, .fini = fini)
{
    struct layout l = setup(0x10000000, 16 * MIB, 1 * MIB);
    l.pt_root += 8;
    cr_assert_neq(arch_setup_guest(&mem, &l), 0);
    l = (struct layout){.guest_base = 0x10000000,
                        .pt_root = 0x10010000,
                        .kernel_start = 0x10040000,
                        .kernel_end = 1ull << 48};
    cr_assert_neq(arch_setup_guest(&mem, &l), 0);
    cr_assert(strstr(err_msg(), "cannot be identity mapped"), "%s", err_msg());
}

Test(aarch64_boot, registers)
{
    struct layout l;
    memset(&l, 0, sizeof(l));
    l.entry = 0x100a4c4c;
    l.stack = 0x10038000;
    l.boot_info = 0x10004000;
    l.pt_root = 0x10010000;
    struct aarch64_boot_regs r;
    memset(&r, 0x5A, sizeof(r));
    aarch64_boot_regs(&l, 2, 5, 0x1, &r);
    cr_assert_eq(r.pc, 0x100a4c4c);
    cr_assert_eq(r.sp_el1, 0x10038000);
    cr_assert_eq(r.x0, 0x10004000);
    cr_assert_eq(r.x1, 2);
    cr_assert_eq(r.pstate, 0x3C5);
    cr_assert_eq(r.mair_el1, 0x000000FF440C0400ull);
    cr_assert_eq(r.tcr_el1, 0x5B5903510ull, "TCR 0x%llx", (unsigned long long)r.tcr_el1);
    cr_assert_eq(r.sctlr_el1, 0x04D5D91Dull);
    cr_assert_eq(r.cpacr_el1, 0x300001ull);
    cr_assert_eq(r.mdscr_el1, 0);
    cr_assert_eq(r.ttbr0_el1, 0x10010000);
    cr_assert_eq(r.ttbr1_el1, 0);
    cr_assert_eq(r.mpidr_el1, 0x80000002ull);
    aarch64_boot_regs(&l, 0, 6, 0, &r);
    cr_assert_eq(r.tcr_el1 >> 32, 6);
    cr_assert_eq(r.x1, 0);
    cr_assert_eq(r.mpidr_el1, 0x80000000ull);
}

static uint8_t blob[LAYOUT_FDT_MAX];

/* The property `prop` of `path`, checking its length. */
static const void *prop(const char *path, const char *name, int want_len)
{
    int node = fdt_path_offset(blob, path);
    cr_assert_geq(node, 0, "no node %s", path);
    int len;
    const void *v = fdt_getprop(blob, node, name, &len);
    cr_assert_not_null(v, "no %s in %s", name, path);
    if (want_len >= 0)
        cr_assert_eq(len, want_len, "%s/%s has %d bytes", path, name, len);
    return v;
}

Test(aarch64_fdt, nodes)
{
    struct fdt_params p = {
        .guest_base = 0x10000000, .mem_size = 64 * MIB, .ncpus = 2, .bootargs = "x"};
    size_t size;
    cr_assert_eq(fdt_build(blob, sizeof(blob), &p, &size), 0, "%s", err_msg());
    for (unsigned cpu = 0; cpu < 2; cpu++) {
        char path[32];
        snprintf(path, sizeof(path), "/cpus/cpu@%u", cpu);
        cr_assert_str_eq(prop(path, "compatible", 15), "arm,cortex-a72");
        cr_assert_eq(fdt32_to_cpu(*(const fdt32_t *)prop(path, "reg", 4)), cpu);
        cr_assert_str_eq(prop(path, "enable-method", 5), "psci");
        cr_assert_str_eq(prop(path, "device_type", 4), "cpu");
    }
    cr_assert_str_eq(prop("/intc@8000000", "compatible", 11), "arm,gic-v3");
    fdt64_t reg[4]; /* properties are only 4-byte aligned: copy out */
    memcpy(reg, prop("/intc@8000000", "reg", 32), sizeof(reg));
    const uint64_t want_reg[4] = {0x08000000, 0x10000, 0x080A0000, 0xF60000};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fdt64_to_cpu(reg[i]), want_reg[i], "reg[%d]", i);
    prop("/intc@8000000", "interrupt-controller", 0);
    cr_assert_eq(fdt32_to_cpu(*(const fdt32_t *)prop("/intc@8000000", "#interrupt-cells", 4)), 3);
    uint32_t phandle = fdt_get_phandle(blob, fdt_path_offset(blob, "/intc@8000000"));
    cr_assert_neq(phandle, 0);
    const fdt32_t *irq = prop("/timer", "interrupts", 48);
    const uint32_t want_irq[12] = {1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4};
    for (int i = 0; i < 12; i++)
        cr_assert_eq(fdt32_to_cpu(irq[i]), want_irq[i], "interrupts[%d]", i);
    cr_assert_str_eq(prop("/timer", "compatible", 16), "arm,armv8-timer");
    prop("/timer", "always-on", 0);
    cr_assert_eq(fdt32_to_cpu(*(const fdt32_t *)prop("/timer", "interrupt-parent", 4)), phandle);
    cr_assert_str_eq(prop("/psci", "compatible", 13), "arm,psci-0.2");
    cr_assert_str_eq(prop("/psci", "method", 4), "hvc");
    /* order: cpus, intc, timer, psci, chosen */
    int cpus = fdt_path_offset(blob, "/cpus"), intc = fdt_path_offset(blob, "/intc@8000000");
    int timer = fdt_path_offset(blob, "/timer"), psci = fdt_path_offset(blob, "/psci");
    int chosen = fdt_path_offset(blob, "/chosen");
    cr_assert(cpus < intc && intc < timer && timer < psci && psci < chosen);
}

/* The PCI host bridge node appears only with a device, in the shape the Hermit kernel parses. */
Test(aarch64_fdt, pci_host_bridge)
{
    struct fdt_params p = {
        .guest_base = 0x10000000, .mem_size = 64 * MIB, .ncpus = 1, .bootargs = ""};
    size_t size;
    cr_assert_eq(fdt_build(blob, sizeof(blob), &p, &size), 0, "%s", err_msg());
    cr_assert_lt(fdt_path_offset(blob, "/pcie@9000000"), 0, "no device, no bridge");
    p.pci = true;
    cr_assert_eq(fdt_build(blob, sizeof(blob), &p, &size), 0, "%s", err_msg());
    const char *path = "/pcie@9000000";
    cr_assert_str_eq(prop(path, "compatible", 22), "pci-host-ecam-generic");
    cr_assert_str_eq(prop(path, "device_type", 4), "pci");
    fdt64_t reg[2];
    memcpy(reg, prop(path, "reg", 16), sizeof(reg));
    cr_assert_eq(fdt64_to_cpu(reg[0]), 0x09000000);
    cr_assert_eq(fdt64_to_cpu(reg[1]), 0x100000, "one bus: 1 MiB of ECAM");
    /* ranges: I/O, 32-bit and 64-bit memory, each 3 PCI + 2 CPU address + 2 size cells */
    const fdt32_t *r = prop(path, "ranges", 21 * 4);
    const uint32_t want_r[21] = {0x01000000, 0, 0,          0, 0x09100000, 0, 0x10000,
                                 0x02000000, 0, 0x0A000000, 0, 0x0A000000, 0, 0x03000000,
                                 0x03000000, 0, 0x0D000000, 0, 0x0D000000, 0, 0x03000000};
    for (int i = 0; i < 21; i++)
        cr_assert_eq(fdt32_to_cpu(r[i]), want_r[i], "ranges[%d]", i);
    uint32_t gic = fdt_get_phandle(blob, fdt_path_offset(blob, "/intc@8000000"));
    const fdt32_t *m = prop(path, "interrupt-map", 40);
    const uint32_t want_m[10] = {0x800, 0, 0, 1, gic, 0, 0, 0, 3, 4};
    for (int i = 0; i < 10; i++)
        cr_assert_eq(fdt32_to_cpu(m[i]), want_m[i], "interrupt-map[%d]", i);
    cr_assert_eq(fdt32_to_cpu(*(const fdt32_t *)prop("/intc@8000000", "#address-cells", 4)), 2,
                 "the map's parent unit address is two cells");
}
