/* note_hermit.S: the Hermit entry-version note (ABI §1.3): "HERMIT", type 0x5A00, version 4. */
    .section .note.hermit.entry-version, "a", @note
    .balign 4
    .long 7      /* namesz: "HERMIT" + NUL */
    .long 1      /* descsz */
    .long 0x5A00 /* type */
    .asciz "HERMIT"
    .balign 4
    .byte 4      /* entry version */
    .balign 4

    .section .note.GNU-stack, "", @progbits
