/* crt0.S: guest entry (ABI §4.2): every CPU moves to its own stack, indexed by RSI, then C. */
#include "rt.h"

    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
/*
 * In: RDI = boot info (guest-physical, identity-mapped), RSI = CPU number, RSP = the lowest
 * address of a 32 KiB region shared by all CPUs, so nothing may be pushed before the switch.
 */
_start:
    cli
    cld
    cmp $RT_MAX_CPUS, %rsi
    jae 1f
    lea rt_stacks(%rip), %rsp
    lea 1(%rsi), %rax
    shl $RT_STACK_SHIFT, %rax
    add %rax, %rsp
    xor %ebp, %ebp
    call rt_start
1:  cli
    hlt
    jmp 1b
    .size _start, . - _start

    .section .bss
    .balign 4096
    .globl rt_stacks
rt_stacks:
    .skip RT_MAX_CPUS * RT_STACK_SIZE

    .section .note.GNU-stack, "", @progbits
