/*
 * arch.h: what the virtio-net test guest needs from the CPU and platform: PCI configuration
 * access, MMIO mappings, one level-triggered device interrupt, a periodic timer and an idle wait.
 * arch_x86.c implements it for x86_64 (mechanism #1, IOAPIC + LAPIC), arch_aarch64.c for aarch64
 * (ECAM and windows from the FDT, GICv3, the virtual timer).
 */
#ifndef NET_ARCH_H
#define NET_ARCH_H

#include <stdbool.h>
#include <stdint.h>

/* Configuration read of len 1, 2 or 4 bytes; absent functions read all ones. */
uint32_t arch_pci_read(unsigned bus, unsigned dev, unsigned fn, unsigned off, unsigned len);
void arch_pci_write(unsigned bus, unsigned dev, unsigned fn, unsigned off, unsigned len,
                    uint32_t val);

/*
 * Readies bus/dev/fn for a driver before it reads the BARs: gives every unassigned memory BAR an
 * address (aarch64: from the host bridge's FDT windows; x86_64 firmware assigned them already)
 * and stores in *line the interrupt to pass to arch_irq_init (x86_64: the interrupt line
 * register; aarch64: the GIC INTID from the FDT interrupt-map). Returns 0, or -1 with a message.
 */
int arch_pci_setup(unsigned bus, unsigned dev, unsigned fn, unsigned *line);

/*
 * Odd accesses to the configuration mechanism itself (x86_64: disabled address, partial and
 * misaligned port accesses, the reset-control byte 0xCF9) with bus/dev/fn the real device.
 * Returns how many were answered wrongly.
 */
unsigned arch_pci_hostile(unsigned bus, unsigned dev, unsigned fn);

/*
 * Identity-maps [pa, pa + len) as device memory (aarch64: Device-nGnRE). Returns 0, or -1
 * (page-table pool empty).
 */
int arch_map_mmio(uint64_t pa, uint64_t len);

/*
 * Installs the interrupt and exception vectors, enables the local interrupt controller, routes
 * the device's line `line` (from arch_pci_setup) to handler, and starts a
 * periodic timer of period_ms that wakes arch_wait(). Interrupts stay disabled outside
 * arch_wait(). handler runs in interrupt context; the end of interrupt is sent after it returns.
 * The line is level-triggered, or with `edge` (x86_64 only) edge-triggered, as Hermit kernels
 * program the IOAPIC. Returns 0, or -1 with a message printed.
 */
int arch_irq_init(unsigned line, void (*handler)(void), unsigned period_ms, bool edge);

/* Enables interrupts and halts until one arrives, atomically; returns with them disabled. */
void arch_wait(void);

/* Interrupts taken since arch_irq_init: the device's and the timer's. */
uint64_t arch_irq_count(void);
uint64_t arch_timer_count(void);

/*
 * MMIO accessors: one load or store of the given width (the hypervisor decodes it). On aarch64
 * they are plain LDR/STR with a base register only, so the data abort always carries a valid
 * instruction syndrome (no pairs, no writeback) that KVM can forward.
 */
#if defined(__aarch64__)
#define MMIO_RD(name, type, insn, reg)                                                             \
    static inline type name(volatile void *p)                                                      \
    {                                                                                              \
        type v;                                                                                    \
        __asm__ volatile(insn " %" reg "0, [%1]" : "=r"(v) : "r"(p) : "memory");                   \
        return v;                                                                                  \
    }
#define MMIO_WR(name, type, insn, reg)                                                             \
    static inline void name(volatile void *p, type v)                                              \
    {                                                                                              \
        __asm__ volatile(insn " %" reg "0, [%1]" : : "rZ"(v), "r"(p) : "memory");                  \
    }
MMIO_RD(mmio_r8, uint8_t, "ldrb", "w")
MMIO_RD(mmio_r16, uint16_t, "ldrh", "w")
MMIO_RD(mmio_r32, uint32_t, "ldr", "w")
MMIO_RD(mmio_r64, uint64_t, "ldr", "x")
MMIO_WR(mmio_w8, uint8_t, "strb", "w")
MMIO_WR(mmio_w16, uint16_t, "strh", "w")
MMIO_WR(mmio_w32, uint32_t, "str", "w")
MMIO_WR(mmio_w64, uint64_t, "str", "x")
#undef MMIO_RD
#undef MMIO_WR
#else
static inline uint8_t mmio_r8(volatile void *p)
{
    return *(volatile uint8_t *)p;
}
static inline uint16_t mmio_r16(volatile void *p)
{
    return *(volatile uint16_t *)p;
}
static inline uint32_t mmio_r32(volatile void *p)
{
    return *(volatile uint32_t *)p;
}
static inline uint64_t mmio_r64(volatile void *p)
{
    return *(volatile uint64_t *)p;
}
static inline void mmio_w8(volatile void *p, uint8_t v)
{
    *(volatile uint8_t *)p = v;
}
static inline void mmio_w16(volatile void *p, uint16_t v)
{
    *(volatile uint16_t *)p = v;
}
static inline void mmio_w32(volatile void *p, uint32_t v)
{
    *(volatile uint32_t *)p = v;
}
static inline void mmio_w64(volatile void *p, uint64_t v)
{
    *(volatile uint64_t *)p = v;
}

#endif

/* Orders ring stores before the device can see a later store or load (a full fence). */
static inline void arch_mb(void)
{
#if defined(__aarch64__)
    __asm__ volatile("dmb ish" ::: "memory");
#else
    __asm__ volatile("lock orq $0, (%%rsp)" ::: "memory", "cc"); /* no SSE2 mfence here */
#endif
}

#endif
