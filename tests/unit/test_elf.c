/* test_elf.c: the kernel loader on crafted ELF images, valid and broken (ABI §1). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elf_builder.h"
#include "le.h"
#include "err.h"
#include "guest_mem.h"
#include "loader/elf.h"

#define EM_X86 EB_EM_X86_64

/* Builds s, parses it for machine em, frees it; returns elf_parse's result. */
static int parse_spec(const struct eb_spec *s, uint16_t em, struct kernel *k)
{
    struct eb_image img;
    eb_build(s, &img);
    int rc = elf_parse(img.buf, img.len, em, k);
    eb_free(&img);
    return rc;
}

/* Parses img for x86_64 and expects failure with `msg` in the error message. */
static void expect_error(const struct eb_image *img, const char *msg)
{
    struct kernel k;
    cr_assert_eq(elf_parse(img->buf, img->len, EM_X86, &k), -1, "accepted; wanted \"%s\"", msg);
    cr_assert(strstr(err_msg(), msg) != NULL, "error \"%s\" lacks \"%s\"", err_msg(), msg);
}

static void expect_spec_error(const struct eb_spec *s, const char *msg)
{
    struct eb_image img;
    eb_build(s, &img);
    expect_error(&img, msg);
    eb_free(&img);
}

Test(elf, valid_exec)
{
    struct eb_spec s;
    struct kernel k;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert(!k.relocatable);
    cr_assert_eq(k.first_vaddr, 0x800000);
    cr_assert_eq(k.mem_size, 0x5000); /* data segment 0x802000 + 0x3000 */
    cr_assert_eq(k.entry, 0x800100);
    cr_assert_eq(k.tls.start, 0x802000);
    cr_assert_eq(k.tls.filesz, 0x20);
    cr_assert_eq(k.tls.memsz, 0x80);
    cr_assert_eq(k.tls.align, 8);
    cr_assert_eq(k.uhyve_if, 1);
    cr_assert(k.has_version);
    cr_assert_eq(k.version[0], 0);
    cr_assert_eq(k.version[1], 11);
    cr_assert_eq(k.version[2], 0);
    cr_assert(!k.legacy_mapping);
}

Test(elf, valid_dyn)
{
    struct eb_spec s;
    struct eb_image img;
    struct kernel k;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.tls = false;
    eb_build(&s, &img);
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &k), 0, "%s", err_msg());
    cr_assert(k.relocatable);
    cr_assert_eq(k.first_vaddr, 0);
    /* extra load at 0x5000: 2 RELA entries (48) + 4 dynamic entries (64) */
    cr_assert_eq(img.mem_end, 0x5070);
    cr_assert_eq(k.mem_size, 0x5070);
    cr_assert_eq(k.entry, 0x100);
    cr_assert_eq(k.tls.start + k.tls.filesz + k.tls.memsz + k.tls.align, 0);
    eb_free(&img);
}

Test(elf, valid_aarch64_and_machine_mismatch)
{
    struct eb_spec s;
    struct kernel k;
    eb_spec_default(&s, EB_EM_AARCH64, EB_ET_DYN);
    cr_assert_eq(parse_spec(&s, EB_EM_AARCH64, &k), 0, "%s", err_msg());
    cr_assert_eq(parse_spec(&s, EM_X86, &k), -1);
    cr_assert_str_eq(err_msg(), "kernel is for EM 183 (aarch64), this chyve runs x86_64 guests");
    /* x86_64 RELATIVE (8) is not RELATIVE for aarch64 */
    s.relas[0].type = EB_R_X86_64_RELATIVE;
    cr_assert_eq(parse_spec(&s, EB_EM_AARCH64, &k), -1);
    cr_assert(strstr(err_msg(), "unsupported relocation type 8 at entry 0") != NULL);
}

/* Every proper prefix of a valid image must be rejected without crashing. */
static void all_prefixes_rejected(uint16_t type)
{
    struct eb_spec s;
    struct eb_image img;
    struct kernel k;
    eb_spec_default(&s, EM_X86, type);
    eb_build(&s, &img);
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &k), 0, "%s", err_msg());
    for (size_t n = 0; n < img.len; n++) {
        /* an exact-size copy, so that ASan catches any read past n */
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, img.buf, n);
        cr_assert_eq(elf_parse(copy, n, EM_X86, &k), -1, "prefix of %zu bytes accepted", n);
        cr_assert_neq(err_msg()[0], '\0');
        free(copy);
    }
    eb_free(&img);
}

Test(elf, truncated_exec)
{
    all_prefixes_rejected(EB_ET_EXEC);
}

Test(elf, truncated_dyn)
{
    all_prefixes_rejected(EB_ET_DYN);
}

Test(elf, bad_header_fields)
{
    struct eb_spec s;
    struct eb_image img;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    eb_build(&s, &img);
    img.buf[1] = 'X';
    expect_error(&img, "not an ELF file (bad magic)");
    img.buf[1] = 'E';
    img.buf[4] = 1;
    expect_error(&img, "not a 64-bit ELF file (EI_CLASS 1)");
    img.buf[4] = 2;
    img.buf[5] = 2;
    expect_error(&img, "not a little-endian ELF file (EI_DATA 2)");
    img.buf[5] = 1;
    le16_put(img.buf + 18, 40);
    expect_error(&img, "kernel is for EM 40 (arm), this chyve runs x86_64 guests");
    le16_put(img.buf + 18, EM_X86);
    le16_put(img.buf + 16, 1);
    expect_error(&img, "ELF type 1, expected ET_EXEC (2) or ET_DYN (3)");
    le16_put(img.buf + 16, 4);
    expect_error(&img, "ELF type 4");
    le16_put(img.buf + 16, 2);
    le16_put(img.buf + 54, 64);
    expect_error(&img, "program header entry size is 64, expected 56");
    le16_put(img.buf + 54, 56);
    le64_put(img.buf + 32, UINT64_MAX - 8);
    expect_error(&img, "program headers");
    le64_put(img.buf + 32, 64);
    struct kernel k;
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &k), 0, "%s", err_msg());
    eb_free(&img);
}

Test(elf, osabi_only_warns)
{
    struct eb_spec s;
    struct kernel k;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.osabi = 0;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
}

Test(elf, entry_version_note)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.entry_version = EB_NONE;
    expect_spec_error(&s, "kernel has no Hermit entry-version note (not a Hermit kernel?)");
    s.entry_version = 3;
    expect_spec_error(&s, "kernel speaks Hermit boot protocol version 3; chyve supports 4");
    /* no PT_NOTE at all */
    s.entry_version = EB_NONE;
    s.uhyve_if = EB_NONE;
    s.abi_os = EB_NONE;
    expect_spec_error(&s, "no Hermit entry-version note");
}

Test(elf, notes_in_every_pt_note_and_aligned_8)
{
    struct eb_spec s;
    struct kernel k;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.uhyve_if = 3;
    s.split_notes = true; /* HERMIT, UHYVEIF, GNU each in their own PT_NOTE */
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert_eq(k.uhyve_if, 3);
    cr_assert(k.has_version);
    s.split_notes = false;
    s.note_align = 8;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert_eq(k.uhyve_if, 3);
    cr_assert_eq(k.version[1], 11);
    s.note_align = 0; /* treated as 4 */
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert_eq(k.uhyve_if, 3);
    s.note_align = 12;
    expect_spec_error(&s, "PT_NOTE alignment 12 is not a power of two");
}

Test(elf, malformed_note)
{
    struct eb_spec s;
    struct eb_image img;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    eb_build(&s, &img);
    /* The first note is HERMIT; give it a descsz that runs past the segment. */
    unsigned note_ph = img.phnum - 1;
    uint64_t off = le64_get(eb_phdr(&img, note_ph) + EB_P_OFFSET);
    le32_put(img.buf + off + 4, 0xFFFFFFF0u);
    expect_error(&img, "malformed ELF note");
    eb_free(&img);
}

Test(elf, uhyve_interface_note)
{
    struct eb_spec s;
    struct kernel k;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert_eq(k.uhyve_if, 1); /* absent */
    s.uhyve_if = 2;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert_eq(k.uhyve_if, 2);
    s.uhyve_if = 1;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert_eq(k.uhyve_if, 1);
    s.uhyve_if = 7;
    expect_spec_error(&s, "uhyve interface version 7");
    s.uhyve_if = 0;
    expect_spec_error(&s, "uhyve interface version 0");
    /* 2 stored little-endian reads as 0x02000000 big-endian: must not be taken as 2 */
    s.uhyve_if = 0x02000000;
    expect_spec_error(&s, "uhyve interface version 33554432");
}

Test(elf, abi_tag_and_legacy_mapping)
{
    struct eb_spec s;
    struct kernel k;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.version[0] = 0;
    s.version[1] = 6;
    s.version[2] = 9;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert(k.has_version);
    cr_assert_eq(k.version[1], 6);
    cr_assert_eq(k.version[2], 9);
    cr_assert(k.legacy_mapping);
    s.version[1] = 10;
    s.version[2] = 0;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert(!k.legacy_mapping);
    s.version[0] = 1;
    s.version[1] = 0;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert(!k.legacy_mapping);
    s.abi_os = EB_NONE;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert(!k.has_version);
    cr_assert(k.legacy_mapping);
    s.abi_os = 0; /* a Linux ABI tag is not a Hermit version */
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert(!k.has_version);
    cr_assert(k.legacy_mapping);
}

Test(elf, overlapping_and_unordered_segments)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.loads[1].vaddr = 0x801000; /* text ends at 0x801800 */
    expect_spec_error(&s, "PT_LOAD segment 1 at 0x801000 overlaps or precedes the previous one "
                          "(ending at 0x801800)");
    s.loads[1].vaddr = 0x700000;
    s.tls = false;
    expect_spec_error(&s, "PT_LOAD segment 1 at 0x700000 overlaps or precedes");
    s.loads[1].vaddr = 0x801800; /* touching is fine */
    struct kernel k;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    cr_assert_eq(k.mem_size, 0x4800);
}

Test(elf, huge_and_inconsistent_segments)
{
    struct eb_spec s;
    struct eb_image img;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    eb_build(&s, &img);
    uint8_t *ph1 = eb_phdr(&img, 1);
    uint64_t off1 = le64_get(ph1 + EB_P_OFFSET);
    le64_put(ph1 + EB_P_MEMSZ, 1ull << 63);
    expect_error(&img, "more than 64 GiB");
    le64_put(ph1 + EB_P_MEMSZ, UINT64_MAX);
    expect_error(&img, "PT_LOAD segment 1 ends past the address space");
    le64_put(ph1 + EB_P_MEMSZ, 0x3000);
    le64_put(ph1 + EB_P_OFFSET, UINT64_MAX - 0x10); /* offset + filesz wraps */
    expect_error(&img, "PT_LOAD segment 1 (0x100 bytes at offset 0xffffffffffffffef) lies outside "
                       "the file");
    le64_put(ph1 + EB_P_OFFSET, img.len - 0x80); /* runs 0x80 bytes past the end */
    expect_error(&img, "lies outside the file");
    le64_put(ph1 + EB_P_OFFSET, off1);
    le64_put(ph1 + EB_P_FILESZ, 0x3001);
    expect_error(&img, "PT_LOAD segment 1 has p_filesz 0x3001 > p_memsz 0x3000");
    eb_free(&img);
}

Test(elf, load_and_entry_constraints)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.entry = 0x805000; /* one past the image */
    expect_spec_error(&s, "entry point 0x805000 lies outside its image [0x800000, 0x805000)");
    s.entry = 0x7FFFFF;
    expect_spec_error(&s, "entry point 0x7fffff");
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.nloads = 0;
    s.tls = false;
    s.entry = 0;
    expect_spec_error(&s, "kernel has no PT_LOAD segment");
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.loads[0].vaddr = 0x1000;
    s.loads[0].filesz = s.loads[0].memsz = 0x800;
    expect_spec_error(&s, "first PT_LOAD is at 0x1000, expected 0");
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.tls_vaddr = 0x804FC0; /* 0x80 bytes would end 0x40 past the image */
    expect_spec_error(&s, "PT_TLS");
}

Test(elf, relocation_checks)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.relas[1].type = EB_R_X86_64_64;
    s.relas[1].sym = 1;
    expect_spec_error(&s, "unsupported relocation type 1 at entry 1");
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.relas[0].offset = 0x5070 - 7; /* last 8-byte slot would cross the image end */
    expect_spec_error(&s, "relocation 0 targets offset 0x5069, outside the kernel image");
    s.relas[0].offset = UINT64_MAX - 3;
    expect_spec_error(&s, "relocation 0 targets offset");
    s.relas[0].offset = 0x5068; /* the last slot that fits: accepted */
    struct kernel k;
    cr_assert_eq(parse_spec(&s, EM_X86, &k), 0, "%s", err_msg());
    /* relocations in a non-relocatable kernel */
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    s.dynamic = true;
    s.nrelas = 1;
    s.relas[0] = (struct eb_rela){.offset = 0x2010, .type = EB_R_X86_64_RELATIVE};
    expect_spec_error(&s, "non-relocatable (ET_EXEC) kernel has relocations");
}

Test(elf, rela_table_outside_file)
{
    struct eb_spec s;
    struct eb_image img;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    eb_build(&s, &img);
    uint8_t *relasz = eb_dyn(&img, EB_DT_RELASZ);
    uint8_t *rela = eb_dyn(&img, EB_DT_RELA);
    cr_assert(relasz != NULL && rela != NULL);
    le64_put(relasz + 8, 24 * 1000);
    expect_error(&img, "RELA table (0x5dc0 bytes at 0x5000) is not inside the file data");
    le64_put(relasz + 8, 48);
    le64_put(rela + 8, 0x3000); /* bss of the data segment: not in the file */
    expect_error(&img, "is not inside the file data of a PT_LOAD segment");
    le64_put(rela + 8, UINT64_MAX - 8);
    expect_error(&img, "is not inside the file data");
    le64_put(rela + 8, img.dyn_vaddr);
    le64_put(relasz + 8, 47);
    expect_error(&img, "DT_RELASZ 47 is not a multiple of 24");
    le64_put(relasz + 8, 48);
    le64_put(eb_dyn(&img, EB_DT_RELAENT) + 8, 16);
    expect_error(&img, "DT_RELAENT is 16, expected 24");
    le64_put(eb_dyn(&img, EB_DT_RELAENT) + 8, 24);
    /* PT_DYNAMIC itself outside the file */
    unsigned dyn_ph = img.phnum - 2; /* ..., PT_TLS, PT_DYNAMIC, PT_NOTE */
    cr_assert_eq((uint32_t)le64_get(eb_phdr(&img, dyn_ph) + EB_P_TYPE), 2); /* PT_DYNAMIC */
    le64_put(eb_phdr(&img, dyn_ph) + EB_P_OFFSET, img.len - 8);
    expect_error(&img, "PT_DYNAMIC");
    le64_put(eb_phdr(&img, dyn_ph) + EB_P_OFFSET, img.dyn_off);
    struct kernel k;
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &k), 0, "%s", err_msg());
    eb_free(&img);
}

Test(elf, dynamic_libraries_and_rel)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.needed = true;
    expect_spec_error(&s, "kernel is linked against dynamic libraries");
    s.needed = false;
    s.rel_size = 16;
    expect_spec_error(&s, "REL relocations");
}

/* Maps guest RAM [base, base + size) filled with 0xAA. */
static void fresh_mem(struct guest_mem *m, uint64_t base, uint64_t size)
{
    cr_assert_eq(guest_mem_init(m, base, size), 0, "%s", err_msg());
    memset(guest_mem_ptr(m, base, size), 0xAA, size);
}

static uint64_t guest_u64(const struct guest_mem *m, uint64_t gpa)
{
    uint8_t b[8];
    cr_assert_eq(guest_mem_read(m, gpa, b, 8), 0);
    return le64_get(b);
}

Test(elf, load_exec_places_bytes_and_zeroes_bss)
{
    struct eb_spec s;
    struct eb_image img;
    struct kernel k;
    struct guest_mem m;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    eb_build(&s, &img);
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &k), 0, "%s", err_msg());
    fresh_mem(&m, 0, 16ull << 20);
    cr_assert_eq(elf_load(&k, img.buf, img.len, &m, 0x800000), 0, "%s", err_msg());
    const uint8_t *g = guest_mem_ptr(&m, 0, 16ull << 20);
    for (uint64_t j = 0; j < 0x1800; j++) {
        cr_assert_eq(g[0x800000 + j], eb_pattern(0, j), "text byte %#lx", (unsigned long)j);
    }
    for (uint64_t j = 0; j < 0x100; j++) {
        cr_assert_eq(g[0x802000 + j], eb_pattern(1, j), "data byte %#lx", (unsigned long)j);
    }
    for (uint64_t a = 0x802100; a < 0x805000; a++) {
        cr_assert_eq(g[a], 0, "bss byte at %#lx not zeroed", (unsigned long)a);
    }
    cr_assert_eq(g[0x7FFFFF], 0xAA);
    cr_assert_eq(g[0x805000], 0xAA);
    guest_mem_fini(&m);
    eb_free(&img);
}

Test(elf, load_dyn_applies_relative_relocations)
{
    struct eb_spec s;
    struct eb_image img;
    struct kernel k;
    struct guest_mem m;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.nrelas = 3;
    s.relas[2] = (struct eb_rela){.offset = 0x2020, .type = EB_R_X86_64_RELATIVE, .addend = -0x10};
    eb_build(&s, &img);
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &k), 0, "%s", err_msg());
    const uint64_t base = 0x100000000ull, b = base + 0x40000;
    fresh_mem(&m, base, 2ull << 20);
    cr_assert_eq(elf_load(&k, img.buf, img.len, &m, b), 0, "%s", err_msg());
    cr_assert_eq(guest_u64(&m, b + 0x2010), b + 0x1234);
    cr_assert_eq(guest_u64(&m, b + 0x2018), b + 0x2000);
    cr_assert_eq(guest_u64(&m, b + 0x2020), b - 0x10);
    /* data bytes around the slots are the file's, untouched by relocation */
    const uint8_t *g = guest_mem_ptr(&m, b, k.mem_size);
    for (uint64_t j = 0; j < 0x100; j++) {
        if (j < 0x10 || j >= 0x28) {
            cr_assert_eq(g[0x2000 + j], eb_pattern(1, j), "data byte %#lx", (unsigned long)j);
        }
    }
    cr_assert_eq(g[0], eb_pattern(0, 0));
    cr_assert_eq(g[0x2100], 0);
    cr_assert_eq(g[0x4FFF], 0);
    cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, b - 1, 1), 0xAA);
    cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, b + k.mem_size, 1), 0xAA);
    guest_mem_fini(&m);
    eb_free(&img);
}

Test(elf, load_into_too_small_memory_fails)
{
    struct eb_spec s;
    struct eb_image img;
    struct kernel k;
    struct guest_mem m;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    eb_build(&s, &img);
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &k), 0, "%s", err_msg());
    fresh_mem(&m, 0, 0x5000); /* image needs 0x5070 */
    cr_assert_eq(elf_load(&k, img.buf, img.len, &m, 0), -1);
    cr_assert_str_eq(err_msg(), "kernel image [0x0, +0x5070) does not fit in guest memory "
                                "[0x0, 0x5000)");
    cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, 0, 1), 0xAA, "wrote before failing");
    cr_assert_eq(elf_load(&k, img.buf, img.len, &m, UINT64_MAX - 0x100), -1);
    cr_assert_eq(elf_load(&k, img.buf, img.len, &m, 0x1000), -1);
    guest_mem_fini(&m);

    /* a kernel description that does not match the buffer */
    fresh_mem(&m, 0, 1ull << 20);
    struct kernel other = k;
    other.mem_size = 0x1000;
    cr_assert_eq(elf_load(&other, img.buf, img.len, &m, 0), -1);
    cr_assert(strstr(err_msg(), "does not match") != NULL);
    cr_assert_eq(elf_load(&k, img.buf, 10, &m, 0), -1);
    cr_assert_eq(elf_load(&k, img.buf, img.len, &m, 0), 0, "%s", err_msg());
    guest_mem_fini(&m);
    eb_free(&img);
}
