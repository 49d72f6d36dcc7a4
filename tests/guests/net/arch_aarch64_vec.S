/*
 * arch_aarch64_vec.S: the net guest's exception vector table (VBAR_EL1): IRQs taken at EL1 on
 * SP_EL1 save x0-x30, ELR and SPSR, run arch_a64_irq() and return; every other vector reports
 * itself through arch_a64_fault(index, ESR, ELR, FAR), which does not return.
 */
#define FRAME 272 /* x0-x30, ELR, SPSR: 33 doublewords, rounded up to keep SP 16-byte aligned */

    .text
    .macro other idx
    .balign 0x80
    mov x0, #\idx
    b arch_a64_other
    .endm

    .balign 2048
    .globl arch_a64_vectors
arch_a64_vectors:
    .irp i, 0, 1, 2, 3, 4 /* current EL with SP0: sync..SError; current EL with SPx: sync */
    other \i
    .endr
    .balign 0x80 /* 5: current EL with SPx, IRQ */
    b arch_a64_irq_entry
    .irp i, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 /* FIQ, SError, lower ELs */
    other \i
    .endr

arch_a64_other:
    mrs x1, esr_el1
    mrs x2, elr_el1
    mrs x3, far_el1
    bl arch_a64_fault
    b .

arch_a64_irq_entry:
    sub sp, sp, #FRAME
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x9, elr_el1
    mrs x10, spsr_el1
    stp x30, x9, [sp, #240]
    str x10, [sp, #256]
    bl arch_a64_irq
    ldr x10, [sp, #256]
    ldp x30, x9, [sp, #240]
    msr elr_el1, x9
    msr spsr_el1, x10
    ldp x28, x29, [sp, #224]
    ldp x26, x27, [sp, #208]
    ldp x24, x25, [sp, #192]
    ldp x22, x23, [sp, #176]
    ldp x20, x21, [sp, #160]
    ldp x18, x19, [sp, #144]
    ldp x16, x17, [sp, #128]
    ldp x14, x15, [sp, #112]
    ldp x12, x13, [sp, #96]
    ldp x10, x11, [sp, #80]
    ldp x8, x9, [sp, #64]
    ldp x6, x7, [sp, #48]
    ldp x4, x5, [sp, #32]
    ldp x2, x3, [sp, #16]
    ldp x0, x1, [sp, #0]
    add sp, sp, #FRAME
    eret

    .section .note.GNU-stack, "", %progbits
