/*
 * note_abi_net.S: the Hermit kernel-version ABI tag (ABI §1.3) of a kernel with a virtio-net
 * driver: "GNU", type 1, {6, 0, 13, 2}; chyve refuses --net for kernels older than 0.13.2.
 */
    .section .note.ABI-tag, "a", @note
    .balign 4
    .long 4      /* namesz: "GNU" + NUL */
    .long 16     /* descsz */
    .long 1      /* NT_GNU_ABI_TAG */
    .asciz "GNU"
    .long 6      /* ELF_NOTE_OS_HERMIT */
    .long 0, 13, 2

    .section .note.GNU-stack, "", @progbits
