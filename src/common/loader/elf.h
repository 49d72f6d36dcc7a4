/* elf.h: validating a Hermit kernel ELF, reading its notes, and loading it into guest RAM. */
#ifndef CHYVE_ELF_H
#define CHYVE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "loader/elf_source.h"

/* The only Hermit boot-protocol (entry) version current kernels and loaders speak (ABI §1.3). */
#define HERMIT_ENTRY_VERSION 4

struct tls_info {
    uint64_t start; /* unrelocated p_vaddr of PT_TLS; all four fields 0 when there is none */
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

/* What the loader learned from a kernel file; all addresses are as in the file (unrelocated). */
struct kernel {
    bool relocatable;     /* ET_DYN: loaded anywhere, RELATIVE relocations applied */
    uint64_t first_vaddr; /* p_vaddr of the first PT_LOAD (the required address for ET_EXEC) */
    uint64_t mem_size;    /* last PT_LOAD end - first PT_LOAD start, gaps included (ABI §1.4) */
    uint64_t entry;       /* e_entry */
    struct tls_info tls;  /* from PT_TLS */
    uint32_t uhyve_if;    /* uhyve interface version from the UHYVEIF note; 1 if absent */
    bool has_version;     /* a Hermit ABI tag (NT_GNU_ABI_TAG, OS 6) was found */
    uint32_t version[3];  /* kernel major, minor, patch when has_version */
    bool legacy_mapping;  /* no ABI tag or version < 0.10: needs the 1 GiB legacy map (§3.4) */
};

/* A validated kernel and what loading it needs (elf.c). */
struct elf_file;

/*
 * Validates the kernel in src for machine `e_machine` (62 x86_64, 183 aarch64): class, data,
 * type, PT_NOTE with entry version 4, PT_LOAD layout, PT_DYNAMIC (no DT_NEEDED, RELA table inside
 * the file and only RELATIVE entries), and fills *k. Every offset and size in the file is checked
 * against src->size. Reads only the headers, the notes, the dynamic array and the RELA table,
 * each once; *out keeps copies of the program headers and the RELA table for elf_load_file(), so
 * a file that changes afterwards cannot change what was checked. src's buffer or fd must stay
 * valid until elf_close(*out). Returns 0, or -1 with err_msg() naming the problem in one line.
 */
int elf_open(const struct elf_source *src, uint16_t e_machine, struct kernel *k,
             struct elf_file **out);

/*
 * Copies the PT_LOAD segments of f into guest RAM so that the first segment starts at
 * guest-physical `load_addr`, each segment's file bytes straight from the source into guest RAM
 * (pread() for a file: one copy), then, if the kernel is relocatable, applies its RELATIVE
 * relocations for load base `load_addr`. ram_zero: the image's window of guest RAM has not been
 * written since guest_mem_init() (it reads as zero), so the bss (p_filesz..p_memsz) is left
 * alone and its pages are not faulted in; else it is zeroed. Returns 0, or -1 with err_msg() if
 * anything would fall outside guest RAM or the file is now shorter than when it was checked.
 */
int elf_load_file(const struct elf_file *f, struct guest_mem *m, uint64_t load_addr, bool ram_zero);

/* Frees f; NULL is allowed. Closes nothing of the source. */
void elf_close(struct elf_file *f);

/* elf_open() of the ELF in buf[0, len) that keeps nothing: validation only. */
int elf_parse(const uint8_t *buf, size_t len, uint16_t e_machine, struct kernel *k);

/*
 * Loads the kernel in buf[0, len) that elf_parse() accepted as *k (elf_load_file() with
 * ram_zero false): buf is validated again rather than trusted and must describe the same image.
 * Returns 0, or -1 with err_msg() set if anything would fall outside guest RAM.
 */
int elf_load(const struct kernel *k, const uint8_t *buf, size_t len, struct guest_mem *m,
             uint64_t load_addr);

#endif
