/*
 * gdb_regs.h: GDB's aarch64 register file as chyve describes it (gdb_aarch64.c): the features
 * org.gnu.gdb.aarch64.core (x0-x30, sp, pc: 8 bytes; cpsr: 4) and org.gnu.gdb.aarch64.fpu
 * (v0-v31: 16 bytes; fpsr, fpcr: 4), numbered in that order and packed without padding in the
 * 'g' packet, little endian. 68 registers, 788 bytes.
 */
#ifndef CHYVE_AARCH64_GDB_REGS_H
#define CHYVE_AARCH64_GDB_REGS_H

/* GDB register numbers. */
#define A64_GDB_X(n) (n) /* x0 .. x30; x29 is the frame pointer, x30 the link register */
#define A64_GDB_SP 31    /* the current stack pointer (SP_EL0 or SP_ELx, as PSTATE.SP says) */
#define A64_GDB_PC 32
#define A64_GDB_CPSR 33         /* PSTATE, as SPSR_ELx lays it out (32 bits) */
#define A64_GDB_V(n) (34 + (n)) /* v0 .. v31, the 128-bit SIMD&FP registers */
#define A64_GDB_FPSR 66
#define A64_GDB_FPCR 67
#define A64_GDB_NREGS 68

/* Byte offsets in the register file. */
#define A64_GDB_OFF_X(n) (8 * (n))
#define A64_GDB_OFF_SP 248
#define A64_GDB_OFF_PC 256
#define A64_GDB_OFF_CPSR 264
#define A64_GDB_OFF_V(n) (268 + 16 * (n)) /* not 8-byte aligned: copy with memcpy */
#define A64_GDB_OFF_FPSR 780
#define A64_GDB_OFF_FPCR 784
#define A64_GDB_REGS_SIZE 788

#endif
