/* note_uhyveif.S: the uhyve interface note (ABI §1.3): "UHYVEIF", type 0x5B00, u32 BE 3 (v2). */
    .section .note.hermit.uhyve-interface-version, "a", @note
    .balign 4
    .long 8      /* namesz: "UHYVEIF" + NUL */
    .long 4      /* descsz */
    .long 0x5B00 /* type */
    .asciz "UHYVEIF"
    .byte 0, 0, 0, 3 /* big-endian 3 */

    .section .note.GNU-stack, "", @progbits
