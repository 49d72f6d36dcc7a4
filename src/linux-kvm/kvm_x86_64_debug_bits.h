/*
 * kvm_x86_64_debug_bits.h: the pure x86 debug-register and x87 bit logic of the KVM debugger
 * support (DR7 encoding, DR6 decoding, tag words, RFLAGS sanitising), kept free of ioctls so
 * that unit tests can check it.
 */
#ifndef CHYVE_KVM_X86_64_DEBUG_BITS_H
#define CHYVE_KVM_X86_64_DEBUG_BITS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

#define X86_DR_SLOTS 4 /* DR0-DR3 */

/* DR6 status bits (as KVM reports them for one #DB in run->debug.arch.dr6). */
#define X86_DR6_B(n) (1ull << (n)) /* slot n's condition was met */
#define X86_DR6_BS (1ull << 14)    /* single step (TF) trap */

/* DR7: enable bits and the per-slot condition/length fields (Intel SDM vol. 3, 18.2.4). */
#define X86_DR7_G(n) (1ull << (2 * (n) + 1)) /* global enable of slot n */
#define X86_DR7_GE (1ull << 9)               /* exact data breakpoints */
#define X86_DR7_FIXED1 (1ull << 10)          /* reserved, reads as 1 */
#define X86_DR7_RW_SHIFT(n) (16 + 4 * (n))
#define X86_DR7_LEN_SHIFT(n) (18 + 4 * (n))
#define X86_DR7_RW_EXEC 0x0ull
#define X86_DR7_RW_WRITE 0x1ull
#define X86_DR7_RW_ACCESS 0x3ull /* reads or writes (no "reads only" on x86) */

#define X86_RFLAGS_FIXED1 (1ull << 1)
#define X86_RFLAGS_TF (1ull << 8)
#define X86_RFLAGS_RF (1ull << 16) /* resume: suppresses instruction breakpoints for one insn */

/* Whether va is canonical with 48-bit virtual addresses (bits 63..47 all equal). */
bool kvm_x86_canonical(uint64_t va);

/*
 * Encodes the hardware slots of d (d->bp[0 .. d->nbp-1] go to DR0 .. DR3 in order) into dr[4]
 * and *dr7; unused slots are 0. Execution breakpoints use RW=00 LEN=00 whatever d->bp[i].len
 * says (x86 matches the instruction's first byte); watchpoints RW=01 (write) or RW=11 (access),
 * with len 1, 2, 4 or 8 aligned to len. DEBUG_WATCH_READ is refused: x86 cannot watch reads
 * alone and the stub should offer an access watchpoint instead. Returns 0, or -1 with err_msg()
 * (more than 4 slots, a bad length, alignment, kind or a non-canonical address).
 */
int kvm_x86_dr_encode(const struct vcpu_debug *d, uint64_t dr[X86_DR_SLOTS], uint64_t *dr7);

/*
 * The lowest slot that is enabled in dr7 and whose B bit is set in dr6, or -1 (the CPU may set
 * B bits of slots that are not enabled).
 */
int kvm_x86_dr6_slot(uint64_t dr6, uint64_t dr7);

/*
 * Expands the abridged FXSAVE tag byte (bit i: physical register i is not empty) into the x87
 * 16-bit tag word GDB shows (2 bits per register: 0 valid, 1 zero, 2 special, 3 empty), by
 * classifying each non-empty register's value. ST(k) is the 10 bytes at st + 16 k; physical
 * register i is ST((i - TOP) mod 8) with TOP in fsw bits 13..11.
 */
uint16_t kvm_x86_ftw_expand(uint8_t ftwx, uint16_t fsw, const uint8_t *st);

/* The abridged tag byte for a full tag word (a register is valid unless its tag is 3). */
uint8_t kvm_x86_ftw_abridge(uint16_t ftw);

/*
 * The RFLAGS to load when GDB writes eflags: GDB's 32 bits with the reserved bits the CPU
 * rejects at VM entry cleared (3, 5, 15, 22-31, and VM, bit 17, which long mode forbids), bit 1
 * set; the upper 32 bits are reserved (0).
 */
uint64_t kvm_x86_rflags_from_gdb(uint32_t eflags);

#endif
