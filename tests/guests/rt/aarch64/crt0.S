/*
 * crt0.S (aarch64): guest entry (ABI §5.2): installs the exception vectors, moves every CPU to its
 * own stack indexed by X1, then C.
 */
#include "rt.h"

    .section .text.start, "ax", %progbits
    .globl _start
    .type _start, %function
/*
 * In: X0 = boot info (guest-physical, identity-mapped), X1 = CPU number, SP_EL1 = the lowest
 * address of a 32 KiB region shared by all CPUs, so nothing may be pushed before the switch.
 * The MMU is on with chyve's tables; DAIF are masked.
 */
_start:
    msr daifset, #0xf
    msr spsel, #1
    adr x9, rt_vectors
    msr vbar_el1, x9
    isb
    cmp x1, #RT_MAX_CPUS
    b.hs 1f
    adrp x9, rt_stacks
    add x9, x9, :lo12:rt_stacks
    add x10, x1, #1
    lsl x10, x10, #RT_STACK_SHIFT
    add sp, x9, x10
    mov x29, #0
    mov x30, #0
    bl rt_start
1:  msr daifset, #0xf
    wfi
    b 1b
    .size _start, . - _start

/* 16 vectors of 0x80 bytes: each reports its index, ESR, ELR and FAR through rt_exception. */
    .macro vector idx
    .balign 0x80
    mov x0, #\idx
    b rt_vector_common
    .endm

    .balign 2048
rt_vectors:
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vector \i
    .endr

rt_vector_common:
    mrs x1, esr_el1
    mrs x2, elr_el1
    mrs x3, far_el1
    bl rt_exception
    b .

    .section .bss
    .balign 4096
    .globl rt_stacks
rt_stacks:
    .skip RT_MAX_CPUS * RT_STACK_SIZE

    .section .note.GNU-stack, "", %progbits
