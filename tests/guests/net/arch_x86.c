/*
 * arch_x86.c: arch.h for x86_64: PCI configuration mechanism #1 (ports 0xCF8/0xCFC), an IDT
 * whose stubs live in arch_x86_isr.S, the local APIC (x2APIC through MSRs when CPUID has it,
 * else xAPIC MMIO), the IOAPIC redirection entry of the device's line, and the local APIC timer
 * (TSC-deadline mode when CPUID has it, else periodic mode).
 */
#include "arch.h"
#include "rt.h"

#define PCI_ADDR 0xCF8
#define PCI_DATA 0xCFC

#define VEC_NET 0x2B
#define VEC_TIMER 0x30
#define VEC_SPURIOUS 0xFF

#define IOAPIC_BASE 0xFEC00000ull
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_VER 0x01
#define IOAPIC_REDIR 0x10 /* + 2 * pin: low dword, + 1: high dword */
#define REDIR_MASKED (1u << 16)
#define REDIR_LEVEL (1u << 15)

#define MSR_APIC_BASE 0x1B
#define MSR_TSC_DEADLINE 0x6E0
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_EXTD (1ull << 10)
#define X2APIC_MSR(reg) (0x800 + ((reg) >> 4))

/* Local APIC register offsets (xAPIC MMIO; x2APIC MSR 0x800 + offset / 16). */
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3E0
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define SVR_ENABLE (1u << 8)

#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_HV_TIMING 0x40000010 /* EBX: local APIC bus rate in kHz (chyve, VMware) */

/* What arch_x86_isr.S pushed: registers (last pushed first), vector, error code, CPU frame. */
struct isr_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
};

extern char arch_x86_stubs[]; /* 256 stubs, 16 bytes apart */
void arch_x86_isr(struct isr_frame *f);

static struct idt_gate idt[256] __attribute__((aligned(16)));
static void (*net_handler)(void);
static volatile uint8_t *lapic_mmio; /* NULL: x2APIC */
static bool tsc_deadline;
static uint64_t timer_period; /* TSC ticks (deadline mode) */
static uint64_t next_deadline;
static volatile uint64_t n_irq, n_timer, n_other;

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static uint32_t pci_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    return 0x80000000u | (bus & 0xFF) << 16 | (dev & 31) << 11 | (fn & 7) << 8 | (off & 0xFC);
}

uint32_t arch_pci_read(unsigned bus, unsigned dev, unsigned fn, unsigned off, unsigned len)
{
    outl(PCI_ADDR, pci_addr(bus, dev, fn, off));
    uint16_t port = (uint16_t)(PCI_DATA + (off & 3));
    if (len == 1)
        return inb(port);
    if (len == 2)
        return inw(port);
    return inl(port);
}

void arch_pci_write(unsigned bus, unsigned dev, unsigned fn, unsigned off, unsigned len,
                    uint32_t val)
{
    outl(PCI_ADDR, pci_addr(bus, dev, fn, off));
    uint16_t port = (uint16_t)(PCI_DATA + (off & 3));
    if (len == 1)
        outb(port, (uint8_t)val);
    else if (len == 2)
        outw(port, (uint16_t)val);
    else
        outl(port, val);
}

int arch_pci_setup(unsigned bus, unsigned dev, unsigned fn, unsigned *line)
{
    *line = arch_pci_read(bus, dev, fn, 0x3C, 1); /* firmware (chyve) assigned the BARs */
    return 0;
}

unsigned arch_pci_hostile(unsigned bus, unsigned dev, unsigned fn)
{
    unsigned bad = 0;
    uint32_t id = arch_pci_read(bus, dev, fn, 0, 4);
    outl(PCI_ADDR, pci_addr(bus, dev, fn, 0) & ~0x80000000u); /* enable bit clear */
    bad += inl(PCI_DATA) != 0xFFFFFFFFu;
    outl(PCI_ADDR, pci_addr(bus, dev, fn, 0));
    outb(PCI_ADDR + 1, 0x06); /* 0xCF9: reset control on real chipsets; ignored here */
    outb(PCI_ADDR + 3, 0x00);
    outw(PCI_ADDR + 2, 0x1234);
    bad += inl(PCI_ADDR) != pci_addr(bus, dev, fn, 0);
    bad += inb(PCI_ADDR + 1) != 0xFF;
    bad += inw(PCI_ADDR + 2) != 0xFFFF;
    bad += inl(PCI_DATA) != id;
    bad += inw(PCI_DATA + 3) != 0xFFFF; /* runs past the dword */
    bad += inl(PCI_DATA + 1) != 0xFFFFFFFFu;
    bad += inb(PCI_DATA + 3) != (uint8_t)(id >> 24);
    outl(PCI_DATA + 2, 0); /* runs past the dword: ignored */
    outw(PCI_DATA + 3, 0);
    bad += arch_pci_read(bus, dev, fn, 0, 4) != id;
    outl(PCI_ADDR, pci_addr(bus, dev, fn, 0) | 0x7F000003u); /* reserved bits set */
    (void)inl(PCI_DATA);
    outl(PCI_DATA, 0xFFFFFFFFu); /* the identity dword: read-only */
    bad += arch_pci_read(bus, dev, fn, 0, 4) != id;
    return bad;
}

int arch_map_mmio(uint64_t pa, uint64_t len)
{
    for (uint64_t p = pa & ~(RT_PAGE - 1); p < pa + len; p += RT_PAGE)
        if (rt_map_page(p, p) != 0)
            return -1;
    return 0;
}

static void lapic_write(unsigned reg, uint32_t v)
{
    if (lapic_mmio)
        mmio_w32(lapic_mmio + reg, v);
    else
        wrmsr(X2APIC_MSR(reg), v);
}

static uint32_t ioapic_read(volatile uint8_t *io, uint32_t reg)
{
    mmio_w32(io + IOAPIC_REGSEL, reg);
    return mmio_r32(io + IOAPIC_WIN);
}

static void ioapic_write(volatile uint8_t *io, uint32_t reg, uint32_t v)
{
    mmio_w32(io + IOAPIC_REGSEL, reg);
    mmio_w32(io + IOAPIC_WIN, v);
}

static void timer_rearm(void)
{
    uint64_t now = rt_rdtsc();
    next_deadline += timer_period;
    if (next_deadline <= now) /* we were late: skip the missed periods */
        next_deadline = now + timer_period;
    wrmsr(MSR_TSC_DEADLINE, next_deadline);
}

/* Called from arch_x86_isr.S with interrupts disabled. */
void arch_x86_isr(struct isr_frame *f)
{
    uint64_t v = f->vector;
    if (v < 32) {
        uint64_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        rt_printf("net: FAIL: exception %lu error 0x%lx at rip 0x%lx (cr2 0x%lx)\n",
                  (unsigned long)v, (unsigned long)f->error, (unsigned long)f->rip,
                  (unsigned long)cr2);
        rt_exit(99);
    }
    if (v == VEC_SPURIOUS)
        return; /* no EOI for a spurious interrupt */
    if (v == VEC_NET) {
        n_irq++;
        if (net_handler)
            net_handler();
    } else if (v == VEC_TIMER) {
        n_timer++;
        if (tsc_deadline)
            timer_rearm();
    } else {
        if (n_other++ < 4)
            rt_printf("net: unexpected interrupt vector 0x%lx\n", (unsigned long)v);
    }
    lapic_write(LAPIC_EOI, 0);
}

static void idt_init(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (unsigned i = 0; i < 256; i++) {
        uint64_t a = (uintptr_t)(arch_x86_stubs + 16 * i);
        idt[i] = (struct idt_gate){
            .off_lo = (uint16_t)a,
            .sel = cs,
            .type = 0x8E, /* present, DPL 0, 64-bit interrupt gate */
            .off_mid = (uint16_t)(a >> 16),
            .off_hi = (uint32_t)(a >> 32),
        };
    }
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {sizeof(idt) - 1, (uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

int arch_irq_init(unsigned line, void (*handler)(void), unsigned period_ms, bool edge)
{
    uint32_t a, b, c, d;
    cpuid(1, &a, &b, &c, &d);
    net_handler = handler;
    idt_init();

    /* The 8259s are never used: mask them so the line cannot also arrive through LINT0. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);

    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (c & CPUID1_ECX_X2APIC) {
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
    } else {
        uint64_t pa = base & ~0xFFFull;
        if (arch_map_mmio(pa, RT_PAGE) != 0) {
            rt_puts("net: FAIL: cannot map the local APIC\n");
            return -1;
        }
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
        lapic_mmio = (volatile uint8_t *)(uintptr_t)pa;
    }
    lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);

    volatile uint8_t *io = (volatile uint8_t *)(uintptr_t)IOAPIC_BASE;
    if (arch_map_mmio(IOAPIC_BASE, RT_PAGE) != 0) {
        rt_puts("net: FAIL: cannot map the IOAPIC\n");
        return -1;
    }
    unsigned pins = ((ioapic_read(io, IOAPIC_VER) >> 16) & 0xFF) + 1;
    if (line >= pins) {
        rt_printf("net: FAIL: interrupt line %u, but the IOAPIC has %u pins\n", line, pins);
        return -1;
    }
    /* Destination APIC 0 (physical), fixed delivery, active high, unmasked. */
    ioapic_write(io, IOAPIC_REDIR + 2 * line + 1, 0);
    ioapic_write(io, IOAPIC_REDIR + 2 * line, (edge ? 0 : REDIR_LEVEL) | VEC_NET);

    uint64_t khz = rt_tick_khz();
    if (c & CPUID1_ECX_TSC_DEADLINE) {
        tsc_deadline = true;
        timer_period = khz * period_ms;
        lapic_write(LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | VEC_TIMER);
        next_deadline = rt_rdtsc();
        timer_rearm();
    } else {
        cpuid(CPUID_HV_TIMING, &a, &b, &c, &d);
        uint32_t bus_khz = (a != 0 && b != 0) ? b : 1000000; /* unknown: a 1 GHz guess */
        lapic_write(LAPIC_TIMER_DIV, 0xB);                   /* divide by 1 */
        lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
        lapic_write(LAPIC_TIMER_INIT, bus_khz * period_ms);
    }
    return 0;
}

void arch_wait(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

uint64_t arch_irq_count(void)
{
    return n_irq;
}

uint64_t arch_timer_count(void)
{
    return n_timer;
}
