/*
 * aarch64.h: aarch64 boot constants shared by the arch layer and the aarch64 backends: translation
 * table descriptors (ABI §3.5), system-register values (§5.2) and the GICv3/timer layout (§5.1).
 */
#ifndef CHYVE_AARCH64_H
#define CHYVE_AARCH64_H

#include <stdint.h>

/* Stage-1 descriptor bits, 4 KiB granule. */
#define A64_DESC_VALID 0x1ull
#define A64_DESC_TABLE 0x2ull                 /* levels 0-2: next-level table; level 3: page */
#define A64_DESC_ATTR(i) ((uint64_t)(i) << 2) /* AttrIndx into MAIR_EL1 */
#define A64_DESC_SH_INNER (3ull << 8)
#define A64_DESC_AF (1ull << 10)
#define A64_DESC_SELF_REF (1ull << 55)      /* software bit marking the recursive L0[511] entry */
#define A64_DESC_ADDR 0x0000FFFFFFFFF000ull /* output / next-table address bits [47:12] */

/* MAIR_EL1 attribute indices chyve's tables use (see A64_MAIR_EL1). */
#define A64_ATTR_NORMAL_NC 3
#define A64_ATTR_NORMAL 4

/* Table and normal-page entries: valid, table/page, Normal write-back, inner shareable, AF. */
#define A64_PT_MEM                                                                                 \
    (A64_DESC_VALID | A64_DESC_TABLE | A64_DESC_ATTR(A64_ATTR_NORMAL) | A64_DESC_SH_INNER |        \
     A64_DESC_AF) /* 0x713 */
/* Hypercall-window pages: Normal non-cacheable (uhyve's PT_MEM_CD). */
#define A64_PT_MEM_NC                                                                              \
    (A64_DESC_VALID | A64_DESC_TABLE | A64_DESC_ATTR(A64_ATTR_NORMAL_NC) | A64_DESC_SH_INNER |     \
     A64_DESC_AF) /* 0x70F */

#define A64_ENTRIES 512
#define A64_VA_BITS 48

/* Initial system-register values (ABI §5.2). */
#define A64_PSTATE_EL1H_DAIF 0x3C5ull /* EL1h, D A I F masked */
/* Attr0 Device-nGnRnE, Attr1 Device-nGnRE, Attr2 Device-GRE, Attr3 Normal NC, Attr4 Normal WB */
#define A64_MAIR_EL1 0x000000FF440C0400ull
/*
 * T0SZ = T1SZ = 16, write-back write-allocate inner/outer, inner shareable, TG0 = 4 KiB (uhyve's
 * 0x3510_3510), plus TG1 = 0b10 (4 KiB; uhyve leaves the reserved 0) and EPD1 (no TTBR1 walks:
 * nothing lives in the upper half). IPS (bits 34:32) = PARange is added at run time.
 */
#define A64_TCR_EL1 (0x35103510ull | (2ull << 30) | (1ull << 23))
#define A64_TCR_IPS_SHIFT 32
/* M C SA SA0 SED I DZE UCT nTWI nTWE UCI + RES1 bits 11 20 22 23 (uhyve's value) */
#define A64_SCTLR_EL1 0x04D5D91Dull
#define A64_CPACR_FPEN (3ull << 20) /* FP/SIMD usable at EL1 and EL0 */
#define A64_MPIDR_RES1 (1ull << 31)

/* ID_AA64MMFR0_EL1 fields. */
#define A64_MMFR0_PARANGE(v) ((v)&0xFull)
#define A64_MMFR0_TGRAN4(v) (((v) >> 28) & 0xFull)

/* GICv3 and the architected timer, at the addresses uhyve's HVF backend uses (ABI §5.1, §7.2). */
#define A64_GICD_BASE 0x08000000ull
#define A64_GICD_SIZE 0x10000ull
#define A64_GICR_BASE 0x080A0000ull
#define A64_GICR_SIZE 0xF60000ull  /* room for 123 redistributors of 0x20000 */
#define A64_GICR_STRIDE 0x20000ull /* per-vCPU redistributor frames (RD + SGI) */
#define A64_GIC_NR_IRQS 128        /* SGIs, PPIs and 96 SPIs */
/* Timer PPIs (PPI n = INTID 16 + n): secure, non-secure EL1 physical, virtual, hypervisor. */
/* PCI host bridge windows, between the redistributors and the lowest RAM (0x1000_0000). */
#define A64_PCI_ECAM 0x09000000ull
#define A64_PCI_ECAM_SIZE 0x00100000ull /* bus 0 only */
#define A64_PCI_IO 0x09100000ull
#define A64_PCI_IO_SIZE 0x00010000ull
#define A64_PCI_MMIO 0x0A000000ull
#define A64_PCI_MMIO_SIZE 0x06000000ull
#define A64_PCI_SPI 3
#define A64_IRQ_TYPE_SPI 0

#define A64_PPI_TIMER_SEC 13
#define A64_PPI_TIMER_PHYS 14
#define A64_PPI_TIMER_VIRT 11
#define A64_PPI_TIMER_HYP 10
#define A64_PPI_PMU 7 /* PMU overflow interrupt (INTID 23), as on QEMU virt */
#define A64_IRQ_TYPE_PPI 1
#define A64_IRQ_LEVEL_HIGH 4

#endif
