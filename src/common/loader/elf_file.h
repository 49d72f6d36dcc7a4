/*
 * elf_file.h: ELF64 constants and a validated kernel as elf.c leaves it for elf_load.c; private
 * to src/common/loader.
 */
#ifndef CHYVE_ELF_FILE_H
#define CHYVE_ELF_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "loader/elf.h"
#include "loader/elf_source.h"

/*
 * ELF constants, spelled out here instead of taken from the C library's <elf.h>: that header
 * does not exist on macOS, and our own "elf.h" would shadow it anyway.
 */
#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define DYN_SIZE 16
#define RELA_SIZE 24
#define NOTE_HDR_SIZE 12

#define EI_CLASS 4
#define EI_DATA 5
#define EI_OSABI 7
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELFOSABI_STANDALONE 0xFF

#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62
#define EM_AARCH64 183

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_NOTE 4
#define PT_TLS 7

#define DT_NULL 0
#define DT_NEEDED 1
#define DT_PLTRELSZ 2
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define DT_REL 17
#define DT_RELSZ 18
#define DT_RELRSZ 35
#define DT_RELR 36
#define DT_RELCOUNT 0x6ffffffaull

#define R_X86_64_RELATIVE 8
#define R_AARCH64_RELATIVE 1027

/* Notes a Hermit kernel carries (ABI §1.3). */
#define NT_HERMIT_ENTRY_VERSION 0x5A00
#define NT_UHYVE_INTERFACE 0x5B00
#define NT_GNU_ABI_TAG 1
#define ELF_NOTE_OS_HERMIT 6

/* No Hermit kernel comes near this; anything larger is a broken or hostile file. */
#define MAX_IMAGE_SIZE (64ull << 30)

/* One program header, decoded. */
struct elf_phdr {
    uint32_t type;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

/*
 * A validated kernel and what loading it needs: copies of its program headers and RELA table,
 * read once, so that what was checked is what gets applied even if the file changes afterwards.
 */
struct elf_file {
    struct elf_source src; /* a copy; a buffer source's bytes remain the caller's */
    uint16_t machine;
    unsigned phnum;
    uint8_t *phdrs;      /* phnum program headers, as in the file */
    uint64_t rela_count; /* entries of the RELA table; 0 when there is none */
    uint8_t *rela;       /* the RELA table, rela_count entries, or NULL */
    struct kernel k;     /* what parsing found */
};

/* Decodes program header i < f->phnum from the copy of the table. */
void elf_file_phdr(const struct elf_file *f, unsigned i, struct elf_phdr *ph);

/*
 * elf_open() that can stay quiet about a non-Hermit OSABI (warn false: elf_load's second look at
 * a buffer): validates src for machine and returns 0 with *out, or -1 with err_msg().
 */
int elf_file_open(const struct elf_source *src, uint16_t machine, bool warn, struct elf_file **out);

#endif
