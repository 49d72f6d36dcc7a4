/*
 * arch_aarch64.c: arch.h for aarch64: PCI configuration through the ECAM window of the FDT's
 * "pci-host-ecam-generic" node, BAR addresses from its memory windows ("ranges") and the
 * interrupt from its "interrupt-map", a GICv3 (distributor, this CPU's redistributor, the
 * system-register CPU interface), the virtual timer, and the vectors in arch_aarch64_vec.S.
 */
#include "arch.h"
#include "rt.h"

#define FDT_MAGIC 0xD00DFEEDu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4

/* Level-3 page descriptor: valid, page, AttrIndx 1 (chyve's MAIR: Device-nGnRE), AF, PXN, UXN. */
#define PTE_VALID 0x1ull
#define PTE_TABLE 0x2ull
#define PTE_ADDR 0x0000FFFFFFFFF000ull
#define PTE_DEVICE (PTE_VALID | PTE_TABLE | (1ull << 2) | (1ull << 10) | (3ull << 53))

#define PCI_COMMAND 0x04
#define PCI_BAR0 0x10
#define PCI_INT_PIN 0x3D
#define PCI_COMMAND_MEMORY 0x2

/* GICv3 distributor, redistributor (RD frame, then SGI frame) registers. */
#define GICD_CTLR 0x0000
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0C00
#define GICD_IROUTER 0x6000
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_ARE (1u << 4)  /* ARE_NS (ARE with one security state) */
#define GICD_CTLR_GRP1 (1u << 1) /* EnableGrp1NS (EnableGrp1 with one security state) */
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_TYPER_LAST (1ull << 4)
#define WAKER_SLEEP (1u << 1)
#define WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_SGI 0x10000
#define GICR_FRAME 0x20000
#define IRQ_PRIORITY 0x80
#define INTID_SPURIOUS 1020

/* The virtual timer: PPI 11 (the third /timer interrupt of chyve's FDT), INTID 16 + 11. */
#define INTID_VTIMER 27

extern char arch_a64_vectors[];
void arch_a64_irq(void);
void arch_a64_fault(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far);

static volatile uint8_t *ecam; /* NULL until ecam_init() found and mapped it */
static unsigned ecam_buses;
static bool ecam_tried;
/* The host bridge's memory windows (PCI address = CPU address): [next, end) is still free. */
struct window {
    uint64_t next, end;
};
static struct window win32, win64;

static void (*net_handler)(void);
static unsigned net_intid;
static uint64_t timer_ticks;
static volatile uint64_t n_irq, n_timer, n_other;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Whether the string list [p, p + len) (a "compatible" value) holds s. */
static bool list_has(const uint8_t *p, uint32_t len, const char *s)
{
    size_t n = strlen(s);
    for (uint32_t i = 0; i < len;) {
        uint32_t j = i;
        while (j < len && p[j])
            j++;
        if (j - i == n && memcmp(p + i, s, n) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

/*
 * The value of property `name` of the first node whose "compatible" holds compat, in the FDT of
 * the boot info; its length in *len. NULL if there is none (or the blob is malformed). A node's
 * properties precede its children, so the decision falls at the next node token.
 */
static const uint8_t *fdt_find(const char *compat, const char *name, uint32_t *len)
{
    const uint8_t *b = (const uint8_t *)(uintptr_t)bi_u64(BI_FDT);
    if (!b || be32(b) != FDT_MAGIC)
        return NULL;
    uint32_t total = be32(b + 4), off_struct = be32(b + 8), off_strings = be32(b + 12);
    uint32_t size_strings = be32(b + 32), size_struct = be32(b + 36);
    if (total > 0x100000 || off_struct > total || size_struct > total - off_struct ||
        off_strings > total || size_strings > total - off_strings)
        return NULL;
    const uint8_t *p = b + off_struct, *end = p + size_struct, *strs = b + off_strings;
    bool match = false;
    const uint8_t *found = NULL;
    uint32_t found_len = 0;
    while (p + 4 <= end) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == FDT_BEGIN_NODE || tok == FDT_END_NODE) {
            if (match && found) {
                *len = found_len;
                return found;
            }
            match = false;
            found = NULL;
            if (tok == FDT_BEGIN_NODE) {
                const uint8_t *q = p;
                while (q < end && *q)
                    q++;
                if (q >= end)
                    return NULL;
                p += ((size_t)(q - p) + 1 + 3) & ~(size_t)3;
            }
        } else if (tok == FDT_PROP) {
            if (p + 8 > end)
                return NULL;
            uint32_t plen = be32(p), nameoff = be32(p + 4);
            p += 8;
            if (plen > (size_t)(end - p) || nameoff >= size_strings)
                return NULL;
            const char *pn = (const char *)strs + nameoff;
            if (strcmp(pn, "compatible") == 0)
                match = list_has(p, plen, compat);
            else if (strcmp(pn, name) == 0)
                found = p, found_len = plen;
            p += (plen + 3) & ~3u;
        } else if (tok != FDT_NOP) {
            break;
        }
    }
    return NULL;
}

/* The level-3 descriptor of va in the tables TTBR0 points to, or NULL if a table is missing. */
static volatile uint64_t *leaf(uint64_t va)
{
    uint64_t ttbr;
    __asm__ volatile("mrs %0, ttbr0_el1" : "=r"(ttbr));
    uint64_t *t = (uint64_t *)(uintptr_t)(ttbr & PTE_ADDR);
    for (int level = 0; level < 3; level++) {
        uint64_t e = t[(va >> (39 - 9 * level)) & 511];
        if ((e & (PTE_VALID | PTE_TABLE)) != (PTE_VALID | PTE_TABLE))
            return NULL;
        t = (uint64_t *)(uintptr_t)(e & PTE_ADDR);
    }
    return &t[(va >> 12) & 511];
}

/* rt_map_page() builds the tables (its leaves are Normal memory); the leaf is then rewritten. */
int arch_map_mmio(uint64_t pa, uint64_t len)
{
    for (uint64_t p = pa & ~(RT_PAGE - 1); p < pa + len; p += RT_PAGE) {
        volatile uint64_t *e = leaf(p);
        if (!e && (rt_map_page(p, p) != 0 || !(e = leaf(p))))
            return -1;
        if (*e == (p | PTE_DEVICE))
            continue;
        *e = p | PTE_DEVICE;
        __asm__ volatile("dsb ishst\n\ttlbi vaae1is, %0\n\tdsb ish\n\tisb"
                         :
                         : "r"(p >> 12)
                         : "memory");
    }
    return 0;
}

/*
 * Finds the host bridge in the FDT: its ECAM "reg" (the root's #address-cells and #size-cells
 * are 2 in chyve's FDT, as on QEMU virt) and its 32- and 64-bit memory windows, each "ranges"
 * entry being 3 PCI address cells, 2 CPU address cells and 2 size cells. Maps the ECAM.
 */
static void ecam_init(void)
{
    ecam_tried = true;
    uint32_t len;
    const uint8_t *reg = fdt_find("pci-host-ecam-generic", "reg", &len);
    if (!reg || len < 16) {
        rt_puts("net: FAIL: no pci-host-ecam-generic node with a reg in the FDT\n");
        return;
    }
    uint64_t base = be64(reg), size = be64(reg + 8);
    const uint8_t *r = fdt_find("pci-host-ecam-generic", "ranges", &len);
    for (uint32_t i = 0; r && i + 28 <= len; i += 28) {
        unsigned space = (be32(r + i) >> 24) & 3;
        uint64_t pci = be64(r + i + 4), cpu = be64(r + i + 12), sz = be64(r + i + 20);
        if (space < 2)
            continue;     /* configuration or I/O space: not used */
        if (pci != cpu) { /* the BAR holds the PCI address, the guest maps the CPU address */
            rt_printf("net: ignoring a PCI memory window at 0x%lx with CPU address 0x%lx\n",
                      (unsigned long)pci, (unsigned long)cpu);
            continue;
        }
        if (space == 2)
            win32 = (struct window){cpu, cpu + sz};
        else if (space == 3)
            win64 = (struct window){cpu, cpu + sz};
    }
    if (size < (1u << 20) || arch_map_mmio(base, size) != 0) {
        rt_printf("net: FAIL: cannot map the ECAM at 0x%lx (%lu bytes)\n", (unsigned long)base,
                  (unsigned long)size);
        return;
    }
    ecam_buses = (unsigned)(size >> 20);
    ecam = (volatile uint8_t *)(uintptr_t)base;
}

/* The configuration register's address; NULL past the ECAM's buses or for a misaligned access. */
static volatile uint8_t *cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off,
                                  unsigned len)
{
    if (!ecam_tried)
        ecam_init();
    if (!ecam || bus >= ecam_buses || off >= 4096 || (off & (len - 1)))
        return NULL; /* a misaligned access to Device memory would be an alignment fault */
    return ecam + ((uint64_t)bus << 20 | (dev & 31) << 15 | (fn & 7) << 12 | off);
}

uint32_t arch_pci_read(unsigned bus, unsigned dev, unsigned fn, unsigned off, unsigned len)
{
    volatile uint8_t *p = cfg_addr(bus, dev, fn, off, len);
    if (!p)
        return len == 4 ? 0xFFFFFFFFu : (1u << (8 * len)) - 1;
    if (len == 1)
        return mmio_r8(p);
    if (len == 2)
        return mmio_r16(p);
    return mmio_r32(p);
}

void arch_pci_write(unsigned bus, unsigned dev, unsigned fn, unsigned off, unsigned len,
                    uint32_t val)
{
    volatile uint8_t *p = cfg_addr(bus, dev, fn, off, len);
    if (!p)
        return;
    if (len == 1)
        mmio_w8(p, (uint8_t)val);
    else if (len == 2)
        mmio_w16(p, (uint16_t)val);
    else
        mmio_w32(p, val);
}

/*
 * The GIC INTID of bus/dev/fn's INTx pin from the bridge's interrupt-map: entries of 3 unit
 * address cells, 1 pin cell, the GIC's phandle, the GIC's #address-cells of unit address and
 * its 3 interrupt cells (type: 0 SPI, 1 PPI; number; flags). Returns 0 if there is none.
 */
static unsigned pci_intid(unsigned bus, unsigned dev, unsigned fn)
{
    unsigned pin = arch_pci_read(bus, dev, fn, PCI_INT_PIN, 1);
    uint32_t len, mlen, alen;
    const uint8_t *map = fdt_find("pci-host-ecam-generic", "interrupt-map", &len);
    const uint8_t *mask = fdt_find("pci-host-ecam-generic", "interrupt-map-mask", &mlen);
    const uint8_t *acells = fdt_find("arm,gic-v3", "#address-cells", &alen);
    if (pin < 1 || pin > 4 || !map || !mask || mlen != 16 || !acells || alen != 4)
        return 0;
    uint32_t entry = 4 * (5 + be32(acells) + 3);
    uint32_t hi = (uint32_t)bus << 16 | dev << 11 | fn << 8;
    for (uint32_t i = 0; i + entry <= len; i += entry) {
        const uint8_t *e = map + i;
        if ((hi & be32(mask)) != be32(e) || (pin & be32(mask + 12)) != be32(e + 12))
            continue;
        const uint8_t *spec = e + entry - 12;
        uint32_t type = be32(spec), num = be32(spec + 4);
        return type == 0 ? 32 + num : type == 1 ? 16 + num : 0;
    }
    return 0;
}

/* BARs are sized with memory decoding off, then placed at the next aligned address free. */
int arch_pci_setup(unsigned bus, unsigned dev, unsigned fn, unsigned *line)
{
    if (!ecam_tried)
        ecam_init();
    uint32_t cmd = arch_pci_read(bus, dev, fn, PCI_COMMAND, 2);
    arch_pci_write(bus, dev, fn, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
    for (unsigned i = 0; i < 6; i++) {
        unsigned off = PCI_BAR0 + 4 * i;
        uint32_t lo = arch_pci_read(bus, dev, fn, off, 4);
        if (lo & 1)
            continue; /* an I/O BAR: not used by the virtio driver */
        bool is64 = ((lo >> 1) & 3) == 2 && i < 5;
        uint32_t hi = is64 ? arch_pci_read(bus, dev, fn, off + 4, 4) : 0;
        arch_pci_write(bus, dev, fn, off, 4, 0xFFFFFFFFu);
        if (is64)
            arch_pci_write(bus, dev, fn, off + 4, 4, 0xFFFFFFFFu);
        uint64_t mask = arch_pci_read(bus, dev, fn, off, 4) & ~0xFull;
        mask |=
            is64 ? (uint64_t)arch_pci_read(bus, dev, fn, off + 4, 4) << 32 : 0xFFFFFFFF00000000ull;
        uint64_t addr = ((uint64_t)hi << 32 | lo) & ~0xFull, size = ~mask + 1;
        if ((uint32_t)mask != 0 && addr == 0) {
            struct window *w = is64 ? &win64 : &win32;
            addr = (w->next + size - 1) & ~(size - 1);
            if (size == 0 || addr < w->next || addr + size > w->end) {
                rt_printf("net: FAIL: no room for BAR %u (%lu bytes) in the PCI window\n", i,
                          (unsigned long)size);
                return -1;
            }
            w->next = addr + size;
        }
        arch_pci_write(bus, dev, fn, off, 4, (uint32_t)addr | (lo & 0xF));
        if (is64)
            arch_pci_write(bus, dev, fn, off + 4, 4, (uint32_t)(addr >> 32));
        i += is64;
    }
    arch_pci_write(bus, dev, fn, PCI_COMMAND, 2, cmd);
    *line = pci_intid(bus, dev, fn);
    if (*line < 32) { /* the PCI interrupt line register is 0 here: only the FDT knows */
        rt_printf("net: FAIL: no SPI for PCI %u:%u.%u in the FDT interrupt-map\n", bus, dev, fn);
        return -1;
    }
    return 0;
}

/*
 * Odd ECAM accesses: an absent device at every width, 64-bit and extended-space reads (chyve
 * answers all ones), sub-dword reads of the identity, a write to it. Returns the wrong answers.
 */
unsigned arch_pci_hostile(unsigned bus, unsigned dev, unsigned fn)
{
    unsigned bad = 0;
    uint32_t id = arch_pci_read(bus, dev, fn, 0, 4);
    volatile uint8_t *p = cfg_addr(bus, dev, fn, 0, 4);
    if (!p)
        return 1;
    unsigned absent = dev == 0 ? 2 : 0;
    bad += arch_pci_read(bus, absent, 0, 0, 4) != 0xFFFFFFFFu;
    bad += arch_pci_read(bus, absent, 0, 2, 2) != 0xFFFF;
    bad += arch_pci_read(bus, absent, 0, 3, 1) != 0xFF;
    bad += mmio_r64(p) != ~0ull;
    bad += mmio_r32(p + 0x100) != 0xFFFFFFFFu;
    bad += mmio_r32(p + 0xFFC) != 0xFFFFFFFFu;
    mmio_w64(p, 0); /* ignored */
    mmio_w32(p + 0x100, 0);
    bad += arch_pci_read(bus, dev, fn, 2, 2) != id >> 16;
    bad += arch_pci_read(bus, dev, fn, 3, 1) != id >> 24;
    arch_pci_write(bus, dev, fn, 0, 4, 0xFFFFFFFFu); /* the identity dword: read-only */
    arch_pci_write(bus, dev, fn, 1, 1, 0);
    bad += arch_pci_read(bus, dev, fn, 0, 4) != id;
    return bad;
}

/* GICv3 CPU interface and timer system registers, by encoding (older assemblers lack names). */
#define ICC_PMR_EL1 "S3_0_C4_C6_0"
#define ICC_IAR1_EL1 "S3_0_C12_C12_0"
#define ICC_EOIR1_EL1 "S3_0_C12_C12_1"
#define ICC_BPR1_EL1 "S3_0_C12_C12_3"
#define ICC_SRE_EL1 "S3_0_C12_C12_5"
#define ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"
#define SYS_READ(reg, v) __asm__ volatile("mrs %0, " reg : "=r"(v))
#define SYS_WRITE(reg, v) __asm__ volatile("msr " reg ", %0; isb" : : "r"((uint64_t)(v)))

static void timer_arm(void)
{
    __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1; isb"
                     :
                     : "r"(timer_ticks), "r"(1ull) /* ENABLE, not IMASK */
                     : "memory");
}

/* Called from arch_aarch64_vec.S with IRQs masked. */
void arch_a64_irq(void)
{
    uint64_t iar;
    SYS_READ(ICC_IAR1_EL1, iar);
    unsigned id = (unsigned)(iar & 0xFFFFFF);
    if (id >= INTID_SPURIOUS && id < 1024)
        return; /* nothing pending any more: no end of interrupt */
    if (id == net_intid) {
        n_irq++;
        if (net_handler)
            net_handler();
    } else if (id == INTID_VTIMER) {
        n_timer++;
        timer_arm(); /* a new TVAL ends the timer condition, lowering its level */
    } else if (n_other++ < 4) {
        rt_printf("net: unexpected interrupt %u\n", id);
    }
    SYS_WRITE(ICC_EOIR1_EL1, iar);
}

void arch_a64_fault(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far)
{
    rt_printf("net: FAIL: exception vector %lu ESR 0x%lx at pc 0x%lx (FAR 0x%lx)\n",
              (unsigned long)vector, (unsigned long)esr, (unsigned long)elr, (unsigned long)far);
    rt_exit(99);
}

/* Waits (bounded) until the register at p has the bits of `mask` clear. */
static bool wait_clear(volatile uint8_t *p, uint32_t mask)
{
    for (unsigned i = 0; i < 1000000; i++)
        if (!(mmio_r32(p) & mask))
            return true;
    return false;
}

/* This CPU's redistributor: the frame whose GICR_TYPER affinity is MPIDR's. */
static volatile uint8_t *find_redist(uint64_t base, uint64_t size, uint32_t aff)
{
    for (uint64_t f = base; f + 2 * GICR_SGI <= base + size; f += GICR_FRAME) {
        if (arch_map_mmio(f, RT_PAGE) != 0)
            return NULL;
        uint64_t typer = mmio_r64((volatile uint8_t *)(uintptr_t)f + GICR_TYPER);
        if ((uint32_t)(typer >> 32) == aff)
            return arch_map_mmio(f, GICR_FRAME) == 0 ? (volatile uint8_t *)(uintptr_t)f : NULL;
        if (typer & GICR_TYPER_LAST)
            break;
    }
    return NULL;
}

int arch_irq_init(unsigned line, void (*handler)(void), unsigned period_ms, bool edge)
{
    (void)edge; /* the SPI stays level-sensitive, as the FDT's interrupt-map says */
    net_handler = handler;
    net_intid = line;
    __asm__ volatile("msr vbar_el1, %0; isb" : : "r"(arch_a64_vectors));

    uint32_t len;
    const uint8_t *reg = fdt_find("arm,gic-v3", "reg", &len);
    if (!reg || len < 32) {
        rt_puts("net: FAIL: no arm,gic-v3 node with distributor and redistributors\n");
        return -1;
    }
    uint64_t dist_pa = be64(reg), dist_size = be64(reg + 8);
    uint64_t mpidr;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    uint64_t aff = mpidr & 0xFF00FFFFFFull; /* Aff3 (bits 32-39) and Aff2.Aff1.Aff0 */
    uint32_t aff_packed = (uint32_t)((aff >> 32) << 24 | (aff & 0xFFFFFF));
    volatile uint8_t *rd = find_redist(be64(reg + 16), be64(reg + 24), aff_packed);
    if (arch_map_mmio(dist_pa, dist_size) != 0 || !rd) {
        rt_puts("net: FAIL: cannot map the GIC distributor or find this CPU's redistributor\n");
        return -1;
    }
    volatile uint8_t *gicd = (volatile uint8_t *)(uintptr_t)dist_pa;
    if (line < 32 || line >= 1020) {
        rt_printf("net: FAIL: interrupt %u is not an SPI\n", line);
        return -1;
    }

    /* Distributor: affinity routing and group 1 on; the SPI group 1, level, routed here, on. */
    mmio_w32(gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
    if (!wait_clear(gicd + GICD_CTLR, GICD_CTLR_RWP)) {
        rt_puts("net: FAIL: the GIC distributor stays busy (GICD_CTLR.RWP)\n");
        return -1;
    }
    unsigned bit = line % 32;
    volatile uint8_t *grp = gicd + GICD_IGROUPR + 4 * (line / 32);
    mmio_w32(grp, mmio_r32(grp) | 1u << bit);
    volatile uint8_t *cfg = gicd + GICD_ICFGR + 4 * (line / 16);
    mmio_w32(cfg, mmio_r32(cfg) & ~(2u << 2 * (line % 16))); /* 0: level-sensitive */
    mmio_w8(gicd + GICD_IPRIORITYR + line, IRQ_PRIORITY);
    mmio_w64(gicd + GICD_IROUTER + 8 * line, aff); /* Interrupt_Routing_Mode 0: this PE */
    mmio_w32(gicd + GICD_ISENABLER + 4 * (line / 32), 1u << bit);

    /* Redistributor: awake; the virtual timer's PPI group 1 and enabled in the SGI frame. */
    mmio_w32(rd + GICR_WAKER, mmio_r32(rd + GICR_WAKER) & ~WAKER_SLEEP);
    if (!wait_clear(rd + GICR_WAKER, WAKER_CHILDREN_ASLEEP)) {
        rt_puts("net: FAIL: the GIC redistributor does not wake up\n");
        return -1;
    }
    volatile uint8_t *sgi = rd + GICR_SGI; /* GICR_IGROUPR0 etc. sit at the GICD offsets */
    mmio_w32(sgi + GICD_IGROUPR, mmio_r32(sgi + GICD_IGROUPR) | 1u << INTID_VTIMER);
    mmio_w8(sgi + GICD_IPRIORITYR + INTID_VTIMER, IRQ_PRIORITY);
    mmio_w32(sgi + GICD_ISENABLER, 1u << INTID_VTIMER);

    /* CPU interface: system registers, every priority unmasked, group 1 on. */
    uint64_t sre;
    SYS_READ(ICC_SRE_EL1, sre);
    SYS_WRITE(ICC_SRE_EL1, sre | 1);
    SYS_WRITE(ICC_PMR_EL1, 0xFF);
    SYS_WRITE(ICC_BPR1_EL1, 0);
    SYS_WRITE(ICC_IGRPEN1_EL1, 1);

    timer_ticks = rt_tick_khz() * period_ms;
    timer_arm();
    return 0;
}

/*
 * WFI wakes on a pending interrupt even while PSTATE.I masks it; the short unmasked window after
 * it takes the interrupt, so one arriving just before the WFI is not lost.
 */
void arch_wait(void)
{
    __asm__ volatile("wfi\n\tmsr daifclr, #2\n\tisb\n\tmsr daifset, #2" ::: "memory");
}

uint64_t arch_irq_count(void)
{
    return n_irq;
}

uint64_t arch_timer_count(void)
{
    return n_timer;
}
