/*
 * test_guest_elf.c: the built test guests have the shape of Hermit kernels (ABI §1.2-1.5):
 * OSABI 0xFF, x86_64, one PT_NOTE with the right notes, no PT_INTERP, only RELATIVE relocations.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "run.h"

struct guest_shape {
    const char *name;
    uint16_t type;    /* ET_DYN or ET_EXEC */
    bool abi_tag;     /* Hermit 0.11.0 ABI tag */
    uint32_t uhyveif; /* 0: no UHYVEIF note */
};

static const struct guest_shape shapes[] = {
    {"hello", ET_DYN, true, 0},       {"hello_exec", ET_EXEC, true, 0},
    {"exitcode", ET_DYN, true, 0},    {"args_fdt", ET_DYN, true, 0},
    {"args_v1", ET_DYN, false, 0},    {"v2", ET_DYN, true, 3},
    {"smp", ET_DYN, true, 0},         {"filewrite_virt", ET_DYN, true, 0},
    {"hostile", ET_DYN, false, 0},    {"hostile_v2", ET_DYN, true, 3},
    {"badport", ET_DYN, true, 0},     {"triplefault", ET_DYN, true, 0},
    {"xsave", ET_DYN, true, 0},       {"bench_hypercalls", ET_DYN, true, 0},
    {"gdb_target", ET_EXEC, true, 0}, {"gdb_target_dyn", ET_DYN, true, 0},
    {"console", ET_DYN, true, 3},
};

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    static unsigned char buf[4 << 20];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

/* File offset of virtual address va through the PT_LOADs. */
static uint64_t va_to_off(const Elf64_Phdr *ph, int n, uint64_t va)
{
    for (int i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr && va < ph[i].p_vaddr + ph[i].p_filesz)
            return va - ph[i].p_vaddr + ph[i].p_offset;
    cr_assert_fail("address 0x%lx is not in the file", (unsigned long)va);
    return 0;
}

/* Checks the notes in [p, p + size): HERMIT=4 first, ABI tag and UHYVEIF as expected. */
static void check_notes(const struct guest_shape *s, const unsigned char *p, uint64_t size)
{
    bool hermit = false, abi = false;
    uint32_t uhyveif = 0;
    for (uint64_t off = 0; off + 12 <= size;) {
        uint32_t namesz = le32_get(p + off), descsz = le32_get(p + off + 4);
        uint32_t type = le32_get(p + off + 8);
        const unsigned char *name = p + off + 12;
        const unsigned char *desc = name + ((namesz + 3) & ~3u);
        if (namesz == 7 && !memcmp(name, "HERMIT", 7) && type == 0x5A00) {
            cr_assert(off == 0 || hermit, "%s: HERMIT note is not first", s->name);
            cr_assert(descsz == 1 && desc[0] == 4, "%s: entry version is not 4", s->name);
            hermit = true;
        } else if (namesz == 4 && !memcmp(name, "GNU", 4) && type == NT_GNU_ABI_TAG) {
            uint32_t v[4];
            cr_assert(descsz == 16, "%s: ABI tag size %u", s->name, descsz);
            for (int i = 0; i < 4; i++)
                v[i] = le32_get(desc + 4 * i);
            cr_assert(v[0] == 6 && v[1] == 0 && v[2] == 11 && v[3] == 0, "%s: ABI tag", s->name);
            abi = true;
        } else if (namesz == 8 && !memcmp(name, "UHYVEIF", 8) && type == 0x5B00) {
            cr_assert(descsz == 4, "%s: UHYVEIF size %u", s->name, descsz);
            uhyveif = be32_get(desc);
        } else {
            cr_assert_fail("%s: unexpected note (namesz %u, type 0x%x)", s->name, namesz, type);
        }
        off = (uint64_t)(desc - p) + ((descsz + 3) & ~3u);
    }
    cr_assert(hermit, "%s: no HERMIT note", s->name);
    cr_assert(abi == s->abi_tag, "%s: ABI tag %s", s->name, abi ? "present" : "missing");
    cr_assert(uhyveif == s->uhyveif, "%s: UHYVEIF %u, want %u", s->name, uhyveif, s->uhyveif);
}

/* ET_DYN: no DT_NEEDED, no REL table, and every RELA entry is R_X86_64_RELATIVE. */
static void check_dynamic(const struct guest_shape *s, const unsigned char *b, size_t len,
                          const Elf64_Phdr *ph, int n, const Elf64_Phdr *dyn)
{
    cr_assert(dyn->p_offset + dyn->p_filesz <= len, "%s: PT_DYNAMIC outside the file", s->name);
    uint64_t rela = 0, relasz = 0;
    for (uint64_t o = 0; o + sizeof(Elf64_Dyn) <= dyn->p_filesz; o += sizeof(Elf64_Dyn)) {
        Elf64_Dyn d;
        memcpy(&d, b + dyn->p_offset + o, sizeof(d));
        if (d.d_tag == DT_NULL)
            break;
        cr_assert(d.d_tag != DT_NEEDED && d.d_tag != DT_REL && d.d_tag != DT_JMPREL,
                  "%s: forbidden dynamic tag %ld", s->name, (long)d.d_tag);
        if (d.d_tag == DT_RELA)
            rela = d.d_un.d_ptr;
        if (d.d_tag == DT_RELASZ)
            relasz = d.d_un.d_val;
    }
    if (!relasz)
        return;
    uint64_t off = va_to_off(ph, n, rela);
    cr_assert(off + relasz <= len, "%s: RELA table outside the file", s->name);
    for (uint64_t o = 0; o < relasz; o += sizeof(Elf64_Rela)) {
        Elf64_Rela r;
        memcpy(&r, b + off + o, sizeof(r));
        cr_assert(ELF64_R_TYPE(r.r_info) == R_X86_64_RELATIVE, "%s: relocation type %lu", s->name,
                  (unsigned long)ELF64_R_TYPE(r.r_info));
    }
}

static void check_shape(const struct guest_shape *s)
{
    char *path = guest_path(s->name);
    size_t len;
    const unsigned char *b = slurp(path, &len);
    Elf64_Ehdr eh;
    cr_assert(len >= sizeof(eh), "%s: too short", s->name);
    memcpy(&eh, b, sizeof(eh));
    cr_assert(!memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
                  eh.e_ident[EI_DATA] == ELFDATA2LSB,
              "%s: not a little-endian ELF64", s->name);
    cr_assert(eh.e_ident[EI_OSABI] == ELFOSABI_STANDALONE, "%s: OSABI %u, want 0xFF", s->name,
              eh.e_ident[EI_OSABI]);
    cr_assert(eh.e_machine == EM_X86_64 && eh.e_type == s->type, "%s: machine %u type %u", s->name,
              eh.e_machine, eh.e_type);
    cr_assert(eh.e_phentsize == sizeof(Elf64_Phdr) &&
                  eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) <= len,
              "%s: bad program headers", s->name);
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(b + eh.e_phoff);
    int notes = 0, loads = 0;
    const Elf64_Phdr *dyn = NULL;
    for (int i = 0; i < eh.e_phnum; i++) {
        cr_assert(ph[i].p_type != PT_INTERP, "%s: has PT_INTERP", s->name);
        if (ph[i].p_type == PT_LOAD && loads++ == 0)
            cr_assert(ph[i].p_vaddr == (s->type == ET_DYN ? 0 : 0x200000),
                      "%s: first PT_LOAD at 0x%lx", s->name, (unsigned long)ph[i].p_vaddr);
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = &ph[i];
        if (ph[i].p_type == PT_NOTE) {
            notes++;
            cr_assert(ph[i].p_offset + ph[i].p_filesz <= len, "%s: PT_NOTE outside", s->name);
            check_notes(s, b + ph[i].p_offset, ph[i].p_filesz);
        }
    }
    cr_assert(notes == 1, "%s: %d PT_NOTE segments, want 1", s->name, notes);
    cr_assert(loads >= 1, "%s: no PT_LOAD", s->name);
    if (s->type == ET_EXEC)
        cr_assert(!dyn, "%s: ET_EXEC guest has PT_DYNAMIC", s->name);
    else if (dyn)
        check_dynamic(s, b, len, ph, eh.e_phnum, dyn);
    free(path);
}

Test(guest_elf, all_guests_look_like_hermit_kernels)
{
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        check_shape(&shapes[i]);
}

/* hello must carry at least one RELATIVE relocation, so booting it proves relocation works. */
Test(guest_elf, hello_has_a_relocation)
{
    char *path = guest_path("hello");
    size_t len;
    const unsigned char *b = slurp(path, &len);
    Elf64_Ehdr eh;
    memcpy(&eh, b, sizeof(eh));
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(b + eh.e_phoff);
    uint64_t relasz = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_DYNAMIC)
            continue;
        for (uint64_t o = 0; o + sizeof(Elf64_Dyn) <= ph[i].p_filesz; o += sizeof(Elf64_Dyn)) {
            Elf64_Dyn d;
            memcpy(&d, b + ph[i].p_offset + o, sizeof(d));
            if (d.d_tag == DT_RELASZ)
                relasz = d.d_un.d_val;
        }
    }
    cr_assert(relasz >= sizeof(Elf64_Rela), "hello has no relocations");
    free(path);
}
