/*
 * arch_x86_isr.S: the 256 interrupt entry stubs (16 bytes apart, from arch_x86_stubs) and the
 * common path: it pushes a zero error code where the CPU pushes none, the vector, all fifteen
 * general-purpose registers, calls arch_x86_isr(frame) and returns with iretq.
 */
    .altmacro
    .section .text.isr, "ax", @progbits

    .macro stub vec
    .balign 16
    .if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0
    .endif
    pushq $\vec
    jmp isr_common
    .endm

    .balign 16
    .globl arch_x86_stubs
arch_x86_stubs:
    .set vec, 0
    .rept 256
    stub %vec
    .set vec, vec + 1
    .endr

/* The CPU aligned RSP to 16 before its 5-word frame; +2 words here +15 registers keeps it. */
isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    call arch_x86_isr
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

    .section .note.GNU-stack, "", @progbits
