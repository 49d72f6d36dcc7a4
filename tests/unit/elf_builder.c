/* elf_builder.c: builds small Hermit-like ELF64 kernel images in memory for unit tests. */
#include "elf_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_NOTE 4
#define PT_TLS 7

uint8_t eb_pattern(unsigned i, uint64_t j)
{
    return (uint8_t)(0x11 + i * 37 + j * 7 + (j >> 8));
}

static uint64_t up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

void eb_spec_default(struct eb_spec *s, uint16_t machine, uint16_t type)
{
    memset(s, 0, sizeof(*s));
    s->machine = machine;
    s->type = type;
    s->osabi = 0xFF;
    s->entry_version = 4;
    s->uhyve_if = EB_NONE;
    s->abi_os = 6;
    s->version[0] = 0;
    s->version[1] = 11;
    s->version[2] = 0;
    s->note_align = 4;
    uint64_t base = type == EB_ET_EXEC ? 0x800000 : 0;
    s->nloads = 2;
    s->loads[0] = (struct eb_load){.vaddr = base, .filesz = 0x1800, .memsz = 0x1800};
    s->loads[1] = (struct eb_load){.vaddr = base + 0x2000, .filesz = 0x100, .memsz = 0x3000};
    s->entry = base + 0x100;
    s->tls = true;
    s->tls_vaddr = base + 0x2000;
    s->tls_filesz = 0x20;
    s->tls_memsz = 0x80;
    s->tls_align = 8;
    if (type == EB_ET_DYN) {
        uint32_t rel = machine == EB_EM_AARCH64 ? EB_R_AARCH64_RELATIVE : EB_R_X86_64_RELATIVE;
        s->dynamic = true;
        s->nrelas = 2;
        s->relas[0] = (struct eb_rela){.offset = 0x2010, .type = rel, .addend = 0x1234};
        s->relas[1] = (struct eb_rela){.offset = 0x2018, .type = rel, .addend = 0x2000};
    }
}

/* Appends one note (gABI layout: desc at align_up(12 + namesz), next at align_up(end)). */
static size_t put_note(uint8_t *out, const char *name, uint32_t type, const uint8_t *desc,
                       uint32_t descsz, uint64_t a)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    size_t desc_off = up(12 + namesz, a);
    size_t end = up(desc_off + descsz, a);
    if (out != NULL) {
        memset(out, 0, end);
        le32_put(out, namesz);
        le32_put(out + 4, descsz);
        le32_put(out + 8, type);
        memcpy(out + 12, name, namesz);
        memcpy(out + desc_off, desc, descsz);
    }
    return end;
}

/* Writes the notes the spec asks for at out (or only measures them when out is NULL). */
static unsigned put_notes(const struct eb_spec *s, uint8_t *out, size_t sizes[3])
{
    uint64_t a = s->note_align <= 1 ? 4 : s->note_align;
    unsigned n = 0;
    size_t pos = 0;
    if (s->entry_version != EB_NONE) {
        uint8_t d = (uint8_t)s->entry_version;
        sizes[n] = put_note(out ? out + pos : NULL, "HERMIT", 0x5A00, &d, 1, a);
        pos += sizes[n++];
    }
    if (s->uhyve_if != EB_NONE) {
        uint32_t v = (uint32_t)s->uhyve_if;
        uint8_t d[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        sizes[n] = put_note(out ? out + pos : NULL, "UHYVEIF", 0x5B00, d, 4, a);
        pos += sizes[n++];
    }
    if (s->abi_os != EB_NONE) {
        uint8_t d[16];
        le32_put(d, (uint32_t)s->abi_os);
        for (int i = 0; i < 3; i++) {
            le32_put(d + 4 + 4 * i, s->version[i]);
        }
        sizes[n] = put_note(out ? out + pos : NULL, "GNU", 1, d, 16, a);
        pos += sizes[n++];
    }
    return n;
}

static void put_phdr(uint8_t *p, uint32_t type, uint64_t off, uint64_t vaddr, uint64_t filesz,
                     uint64_t memsz, uint64_t align)
{
    memset(p, 0, PHDR_SIZE);
    le32_put(p, type);
    le32_put(p + 4, 7); /* RWX */
    le64_put(p + 8, off);
    le64_put(p + 16, vaddr);
    le64_put(p + 24, vaddr);
    le64_put(p + 32, filesz);
    le64_put(p + 40, memsz);
    le64_put(p + 48, align);
}

void eb_build(const struct eb_spec *s, struct eb_image *img)
{
    memset(img, 0, sizeof(*img));
    img->dyn_load = -1;
    size_t note_sizes[3];
    unsigned nnotes = put_notes(s, NULL, note_sizes);
    unsigned note_segs = s->split_notes ? nnotes : (nnotes > 0 ? 1 : 0);
    size_t notes_total = 0;
    for (unsigned i = 0; i < nnotes; i++) {
        notes_total += note_sizes[i];
    }
    unsigned ndyn = 0;
    if (s->needed) {
        ndyn++;
    }
    if (s->rel_size) {
        ndyn += 2;
    }
    if (s->nrelas) {
        ndyn += 3;
    }
    ndyn++; /* DT_NULL */

    img->phnum = s->nloads + (s->dynamic ? 2 : 0) + (s->tls ? 1 : 0) + note_segs;
    img->phoff = EHDR_SIZE;
    uint64_t a = s->note_align <= 1 ? 4 : s->note_align;
    size_t notes_off = up(EHDR_SIZE + (size_t)img->phnum * PHDR_SIZE, a);
    size_t pos = notes_off + notes_total;
    size_t load_off[EB_MAX_LOADS];
    for (unsigned i = 0; i < s->nloads; i++) {
        pos = up(pos, 16);
        load_off[i] = pos;
        pos += s->loads[i].filesz;
    }
    size_t rela_size = (size_t)s->nrelas * 24, dyn_size = (size_t)ndyn * 16;
    if (s->dynamic) {
        pos = up(pos, 16);
        img->rela_off = pos;
        img->dyn_off = pos + rela_size;
        pos += rela_size + dyn_size;
    }
    img->len = pos;
    img->buf = calloc(1, pos);
    if (img->buf == NULL) {
        fprintf(stderr, "elf_builder: out of memory\n");
        exit(2);
    }
    uint8_t *b = img->buf;

    /* ELF header */
    memcpy(b,
           "\x7F"
           "ELF",
           4);
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[7] = s->osabi;
    le16_put(b + 16, s->type);
    le16_put(b + 18, s->machine);
    le32_put(b + 20, 1);
    le64_put(b + 24, s->entry);
    le64_put(b + 32, img->phoff);
    le16_put(b + 52, EHDR_SIZE);
    le16_put(b + 54, PHDR_SIZE);
    le16_put(b + 56, (uint16_t)img->phnum);
    le16_put(b + 58, 64);

    unsigned ph = 0;
    uint64_t end = 0;
    for (unsigned i = 0; i < s->nloads; i++) {
        const struct eb_load *l = &s->loads[i];
        put_phdr(eb_phdr(img, ph++), PT_LOAD, load_off[i], l->vaddr, l->filesz, l->memsz, 0x1000);
        for (uint64_t j = 0; j < l->filesz; j++) {
            b[load_off[i] + j] = l->data ? l->data[j] : eb_pattern(i, j);
        }
        end = l->vaddr + l->memsz;
    }
    if (s->dynamic) {
        img->dyn_vaddr = up(end, 0x1000);
        img->dyn_load = (int)ph;
        put_phdr(eb_phdr(img, ph++), PT_LOAD, img->rela_off, img->dyn_vaddr, rela_size + dyn_size,
                 rela_size + dyn_size, 0x1000);
        end = img->dyn_vaddr + rela_size + dyn_size;
        for (unsigned i = 0; i < s->nrelas; i++) {
            uint8_t *r = b + img->rela_off + 24 * i;
            le64_put(r, s->relas[i].offset);
            le64_put(r + 8, (uint64_t)s->relas[i].sym << 32 | s->relas[i].type);
            le64_put(r + 16, (uint64_t)s->relas[i].addend);
        }
        uint8_t *d = b + img->dyn_off;
        if (s->needed) {
            le64_put(d, EB_DT_NEEDED);
            le64_put(d + 8, 1);
            d += 16;
        }
        if (s->rel_size) {
            le64_put(d, EB_DT_REL);
            le64_put(d + 8, img->dyn_vaddr);
            le64_put(d + 16, EB_DT_RELSZ);
            le64_put(d + 24, s->rel_size);
            d += 32;
        }
        if (s->nrelas) {
            le64_put(d, EB_DT_RELA);
            le64_put(d + 8, img->dyn_vaddr);
            le64_put(d + 16, EB_DT_RELASZ);
            le64_put(d + 24, rela_size);
            le64_put(d + 32, EB_DT_RELAENT);
            le64_put(d + 40, 24);
        }
    }
    img->mem_end = end;
    if (s->tls) {
        put_phdr(eb_phdr(img, ph++), PT_TLS, 0, s->tls_vaddr, s->tls_filesz, s->tls_memsz,
                 s->tls_align);
    }
    if (s->dynamic) {
        put_phdr(eb_phdr(img, ph++), PT_DYNAMIC, img->dyn_off, img->dyn_vaddr + rela_size, dyn_size,
                 dyn_size, 8);
    }
    put_notes(s, b + notes_off, note_sizes);
    size_t noff = notes_off;
    if (s->split_notes) {
        for (unsigned i = 0; i < nnotes; i++) {
            put_phdr(eb_phdr(img, ph++), PT_NOTE, noff, 0, note_sizes[i], note_sizes[i],
                     s->note_align);
            noff += note_sizes[i];
        }
    } else if (nnotes > 0) {
        put_phdr(eb_phdr(img, ph++), PT_NOTE, noff, 0, notes_total, notes_total, s->note_align);
    }
}

void eb_free(struct eb_image *img)
{
    free(img->buf);
    img->buf = NULL;
}

uint8_t *eb_phdr(const struct eb_image *img, unsigned i)
{
    return img->buf + img->phoff + (size_t)i * PHDR_SIZE;
}

uint8_t *eb_dyn(const struct eb_image *img, uint64_t tag)
{
    if (img->dyn_load < 0) {
        return NULL;
    }
    for (uint8_t *d = img->buf + img->dyn_off; d + 16 <= img->buf + img->len; d += 16) {
        if (le64_get(d) == tag) {
            return d;
        }
        if (le64_get(d) == EB_DT_NULL) {
            break;
        }
    }
    return NULL;
}
