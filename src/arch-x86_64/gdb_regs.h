/*
 * gdb_regs.h: GDB's register numbering and 'g'-packet byte offsets for i386:x86-64 with the
 * org.gnu.gdb.i386.core, .sse and .segments features, in GDB's order (59 registers, 552 bytes).
 * The backend fills the register file at these offsets; gdb_x86.c describes the same layout.
 */
#ifndef CHYVE_GDB_REGS_H
#define CHYVE_GDB_REGS_H

/* Register numbers. */
enum x86_gdb_regnum {
    X86_GDB_RAX,
    X86_GDB_RBX,
    X86_GDB_RCX,
    X86_GDB_RDX,
    X86_GDB_RSI,
    X86_GDB_RDI,
    X86_GDB_RBP,
    X86_GDB_RSP,
    X86_GDB_R8, /* .. r15 = X86_GDB_R8 + 7 */
    X86_GDB_RIP = X86_GDB_R8 + 8,
    X86_GDB_EFLAGS,
    X86_GDB_CS,
    X86_GDB_SS,
    X86_GDB_DS,
    X86_GDB_ES,
    X86_GDB_FS,
    X86_GDB_GS,
    X86_GDB_ST0, /* .. st7 */
    X86_GDB_FCTRL = X86_GDB_ST0 + 8,
    X86_GDB_FSTAT,
    X86_GDB_FTAG,
    X86_GDB_FISEG,
    X86_GDB_FIOFF,
    X86_GDB_FOSEG,
    X86_GDB_FOOFF,
    X86_GDB_FOP,
    X86_GDB_XMM0, /* .. xmm15 */
    X86_GDB_MXCSR = X86_GDB_XMM0 + 16,
    X86_GDB_FS_BASE,
    X86_GDB_GS_BASE,
    X86_GDB_NREGS, /* 59 */
};

/* Byte offsets in the register file (each field directly follows the one before). */
#define X86_GDB_OFF_GPR(i) (8u * (i)) /* rax .. r15 in GDB order, 8 bytes each */
#define X86_GDB_OFF_RIP 128u
#define X86_GDB_OFF_EFLAGS 136u                /* 4 bytes */
#define X86_GDB_OFF_SEG(i) (140u + 4u * (i))   /* cs ss ds es fs gs, 4 bytes each */
#define X86_GDB_OFF_ST(i) (164u + 10u * (i))   /* 80-bit x87 registers */
#define X86_GDB_OFF_FPCTL(i) (244u + 4u * (i)) /* fctrl fstat ftag fiseg fioff foseg fooff fop */
#define X86_GDB_OFF_XMM(i) (276u + 16u * (i))
#define X86_GDB_OFF_MXCSR 532u
#define X86_GDB_OFF_FS_BASE 536u
#define X86_GDB_OFF_GS_BASE 544u
#define X86_GDB_REGS_SIZE 552u

#endif
