/* elf.h: validating a Hermit kernel ELF, reading its notes, and loading it into guest RAM. */
#ifndef CHYVE_ELF_H
#define CHYVE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

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

/*
 * Validates the ELF in buf[0, len) for machine `e_machine` (62 x86_64, 183 aarch64): class, data,
 * type, PT_NOTE with entry version 4, PT_LOAD layout, PT_DYNAMIC (no DT_NEEDED, RELA table inside
 * the file and only RELATIVE entries), and fills *k. Every offset and size in the file is checked
 * against len. Returns 0, or -1 with err_msg() naming the problem in one line.
 */
int elf_parse(const uint8_t *buf, size_t len, uint16_t e_machine, struct kernel *k);

/*
 * Copies the PT_LOAD segments of a kernel that elf_parse() accepted into guest RAM so that the
 * first segment starts at guest-physical `load_addr` (zero-filling p_filesz..p_memsz), then, if the
 * kernel is relocatable, applies its RELATIVE relocations for load base `load_addr`.
 * Returns 0, or -1 with err_msg() set if anything would fall outside guest RAM.
 */
int elf_load(const struct kernel *k, const uint8_t *buf, size_t len, struct guest_mem *m,
             uint64_t load_addr);

#endif
