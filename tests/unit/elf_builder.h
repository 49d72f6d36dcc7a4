/* elf_builder.h: builds small Hermit-like ELF64 kernel images in memory for unit tests. */
#ifndef CHYVE_TEST_ELF_BUILDER_H
#define CHYVE_TEST_ELF_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EB_NONE (-1) /* "leave this note out" */
#define EB_MAX_LOADS 8
#define EB_MAX_RELAS 16

#define EB_EM_X86_64 62
#define EB_EM_AARCH64 183
#define EB_ET_EXEC 2
#define EB_ET_DYN 3
#define EB_R_X86_64_64 1
#define EB_R_X86_64_RELATIVE 8
#define EB_R_AARCH64_RELATIVE 1027

#define EB_DT_NULL 0
#define EB_DT_NEEDED 1
#define EB_DT_RELA 7
#define EB_DT_RELASZ 8
#define EB_DT_RELAENT 9
#define EB_DT_REL 17
#define EB_DT_RELSZ 18

/* One PT_LOAD. Its file bytes are `data`, or eb_pattern(index, j) when data is NULL. */
struct eb_load {
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
    const uint8_t *data;
};

/* One Elf64_Rela entry: r_info = (sym << 32) | type. */
struct eb_rela {
    uint64_t offset;
    uint32_t type;
    uint32_t sym;
    int64_t addend;
};

/* Everything a test may vary. Start from eb_spec_default(), then change fields. */
struct eb_spec {
    uint16_t machine;
    uint16_t type;
    uint8_t osabi;
    uint64_t entry;
    int entry_version;   /* desc byte of the HERMIT note, or EB_NONE */
    int64_t uhyve_if;    /* value of the UHYVEIF note (stored big-endian), or EB_NONE */
    int64_t abi_os;      /* first word of the GNU ABI tag (6 = Hermit), or EB_NONE */
    uint32_t version[3]; /* ABI tag major, minor, patch */
    uint64_t note_align; /* p_align of the PT_NOTE segment(s); notes are padded to it (0 = 4) */
    bool split_notes;    /* put each note in its own PT_NOTE segment */
    unsigned nloads;
    struct eb_load loads[EB_MAX_LOADS];
    bool tls; /* emit PT_TLS with the four values below */
    uint64_t tls_vaddr, tls_filesz, tls_memsz, tls_align;
    /*
     * dynamic: emit a PT_DYNAMIC plus one extra PT_LOAD (placed 4 KiB aligned after the last
     * load, file-backed) that holds the RELA table followed by the dynamic array. Its entries, in
     * order: DT_NEEDED (if needed), DT_REL + DT_RELSZ (if rel_size), DT_RELA + DT_RELASZ +
     * DT_RELAENT (if nrelas), DT_NULL.
     */
    bool dynamic;
    bool needed;
    uint64_t rel_size;
    unsigned nrelas;
    struct eb_rela relas[EB_MAX_RELAS];
};

/* A built image and where its parts are, so tests can patch bytes. */
struct eb_image {
    uint8_t *buf;
    size_t len;
    size_t phoff; /* program headers: loads first (index i = spec load i), then the rest */
    unsigned phnum;
    int dyn_load;       /* program header index of the extra PT_LOAD, or -1 */
    uint64_t dyn_vaddr; /* its p_vaddr: the RELA table's address */
    size_t rela_off;    /* file offset of the RELA table */
    size_t dyn_off;     /* file offset of the dynamic array */
    uint64_t mem_end;   /* end vaddr of the last PT_LOAD */
};

/*
 * A valid Hermit kernel for `machine` and `type` (EB_ET_EXEC or EB_ET_DYN): entry-version 4
 * note, no UHYVEIF, ABI tag 0.11.0, OSABI 0xFF, two loads (text 0x1800 bytes; data 0x100 bytes
 * in file, 0x3000 in memory), a PT_TLS. ET_EXEC loads at 0x800000; ET_DYN at 0 with a dynamic
 * section and two RELATIVE relocations into the data segment.
 */
void eb_spec_default(struct eb_spec *s, uint16_t machine, uint16_t type);

/* Builds the image (malloc'd buf; the file ends exactly at its last described byte). */
void eb_build(const struct eb_spec *s, struct eb_image *img);

/* Frees img->buf. */
void eb_free(struct eb_image *img);

/* The deterministic byte j of load i when its data is NULL. */
uint8_t eb_pattern(unsigned i, uint64_t j);

/* Pointer to program header i inside the image. */
uint8_t *eb_phdr(const struct eb_image *img, unsigned i);

/* Pointer to the 16-byte dynamic entry with tag, or NULL. */
uint8_t *eb_dyn(const struct eb_image *img, uint64_t tag);

/* Field offsets inside an Elf64_Phdr, for le64_put(eb_phdr(img, i) + EB_P_..., v). */
#define EB_P_TYPE 0
#define EB_P_OFFSET 8
#define EB_P_VADDR 16
#define EB_P_FILESZ 32
#define EB_P_MEMSZ 40
#define EB_P_ALIGN 48

#endif
