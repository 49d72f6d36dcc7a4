/* elf.c: validates a Hermit kernel ELF byte by byte and loads it into guest RAM (ABI §1). */
#include "loader/elf.h"

#include <inttypes.h>
#include <string.h>

#include "err.h"
#include "le.h"
#include "log.h"

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
struct phdr {
    uint32_t type;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

/* What parsing learned beyond struct kernel: where elf_load finds headers and relocations. */
struct elf_file {
    const uint8_t *buf;
    size_t len;
    uint16_t machine;
    uint64_t phoff;
    unsigned phnum;
    uint64_t rela_off;   /* file offset of the RELA table */
    uint64_t rela_count; /* entries in it; 0 when there is none */
};

/* True if [off, off + size) lies inside a buffer of len bytes; overflow-safe. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

/* Rounds v up to a multiple of the power of two a; false if that overflows. */
static bool align_up(uint64_t v, uint64_t a, uint64_t *out)
{
    if (v > UINT64_MAX - (a - 1))
        return false;
    *out = (v + a - 1) & ~(a - 1);
    return true;
}

/* A human name for an e_machine value, for error messages. */
static const char *machine_name(uint16_t em)
{
    static const struct {
        uint16_t em;
        const char *name;
    } names[] = {{3, "i386"}, {8, "mips"},    {20, "ppc"},      {21, "ppc64"}, {22, "s390"},
                 {40, "arm"}, {62, "x86_64"}, {183, "aarch64"}, {243, "riscv"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].em == em)
            return names[i].name;
    return "unknown machine";
}

/* Decodes program header i; the caller has checked that the table lies inside the file. */
static void read_phdr(const struct elf_file *f, unsigned i, struct phdr *ph)
{
    const uint8_t *p = f->buf + f->phoff + (uint64_t)i * PHDR_SIZE;
    ph->type = le32_get(p);
    ph->offset = le64_get(p + 8);
    ph->vaddr = le64_get(p + 16);
    ph->filesz = le64_get(p + 32);
    ph->memsz = le64_get(p + 40);
    ph->align = le64_get(p + 48);
}

/* Checks the ELF header and the program header table's position; fills f and k->relocatable. */
static int check_header(struct elf_file *f, uint16_t machine, struct kernel *k, bool warn)
{
    const uint8_t *b = f->buf;
    if (f->len < EHDR_SIZE) {
        return err_set("kernel is too short for an ELF header (%zu bytes)", f->len);
    }
    if (b[0] != 0x7F || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') {
        return err_set("kernel is not an ELF file (bad magic)");
    }
    if (b[EI_CLASS] != ELFCLASS64) {
        return err_set("kernel is not a 64-bit ELF file (EI_CLASS %u)", b[EI_CLASS]);
    }
    if (b[EI_DATA] != ELFDATA2LSB) {
        return err_set("kernel is not a little-endian ELF file (EI_DATA %u)", b[EI_DATA]);
    }
    uint16_t em = le16_get(b + 18);
    if (em != machine) {
        return err_set("kernel is for EM %u (%s), this chyve runs %s guests", em, machine_name(em),
                       machine_name(machine));
    }
    uint16_t type = le16_get(b + 16);
    if (type != ET_EXEC && type != ET_DYN) {
        return err_set("kernel has ELF type %u, expected ET_EXEC (2) or ET_DYN (3)", type);
    }
    if (warn && b[EI_OSABI] != ELFOSABI_STANDALONE) {
        log_warn("not a Hermit kernel (OSABI %u, expected %u); trying anyway", b[EI_OSABI],
                 ELFOSABI_STANDALONE);
    }
    uint16_t phentsize = le16_get(b + 54);
    uint16_t phnum = le16_get(b + 56);
    uint64_t phoff = le64_get(b + 32);
    if (phnum != 0 && phentsize != PHDR_SIZE) {
        return err_set("kernel program header entry size is %u, expected %u", phentsize, PHDR_SIZE);
    }
    if (phnum == 0xFFFF) {
        return err_set("kernel has too many program headers (PN_XNUM)");
    }
    if (!in_file(phoff, (uint64_t)phnum * PHDR_SIZE, f->len)) {
        return err_set("kernel program headers (%u at offset 0x%" PRIx64 ") lie outside the "
                       "file (%zu bytes)",
                       phnum, phoff, f->len);
    }
    f->machine = machine;
    f->phoff = phoff;
    f->phnum = phnum;
    k->relocatable = type == ET_DYN;
    k->entry = le64_get(b + 24);
    return 0;
}

/* True if a note's name field (namesz bytes, NUL included) is exactly `want`. */
static bool note_name_is(const uint8_t *name, uint32_t namesz, const char *want)
{
    size_t n = strlen(want);
    return namesz == n + 1 && memcmp(name, want, n) == 0;
}

/*
 * Walks the notes of one PT_NOTE segment (ABI §1.3). Offsets are relative to the segment, whose
 * notes start aligned: the descriptor begins at align_up(12 + namesz) and the next note at
 * align_up(desc + descsz), with the alignment p_align (0 or 1 meaning 4). With alignment 4 this
 * is exactly "name and descriptor each padded to 4". *entry_version is set to the first HERMIT
 * entry-version note's byte (it starts at -1).
 */
static int scan_notes(const struct elf_file *f, const struct phdr *ph, struct kernel *k,
                      int *entry_version, bool *seen_uhyve_if)
{
    uint64_t a = ph->align <= 1 ? 4 : ph->align;
    if ((a & (a - 1)) != 0) {
        return err_set("kernel PT_NOTE alignment %" PRIu64 " is not a power of two", a);
    }
    const uint8_t *seg = f->buf + ph->offset;
    uint64_t size = ph->filesz;
    uint64_t pos = 0;
    while (size - pos >= NOTE_HDR_SIZE) {
        uint32_t namesz = le32_get(seg + pos);
        uint32_t descsz = le32_get(seg + pos + 4);
        uint32_t type = le32_get(seg + pos + 8);
        uint64_t desc_pos, next;
        if (!align_up(pos + NOTE_HDR_SIZE + namesz, a, &desc_pos) || desc_pos > size ||
            !align_up(desc_pos + descsz, a, &next) || desc_pos + descsz > size) {
            return err_set("kernel has a malformed ELF note at file offset 0x%" PRIx64,
                           ph->offset + pos);
        }
        const uint8_t *name = seg + pos + NOTE_HDR_SIZE;
        const uint8_t *desc = seg + desc_pos;

        if (type == NT_HERMIT_ENTRY_VERSION && note_name_is(name, namesz, "HERMIT")) {
            if (descsz < 1) {
                return err_set("kernel has an empty Hermit entry-version note");
            }
            if (*entry_version < 0) {
                *entry_version = desc[0];
            }
        } else if (type == NT_UHYVE_INTERFACE && note_name_is(name, namesz, "UHYVEIF")) {
            if (descsz != 4) {
                return err_set("kernel UHYVEIF note has %u descriptor bytes, expected 4", descsz);
            }
            if (!*seen_uhyve_if) {
                k->uhyve_if = be32_get(desc);
                *seen_uhyve_if = true;
            }
        } else if (type == NT_GNU_ABI_TAG && note_name_is(name, namesz, "GNU") && descsz == 16 &&
                   le32_get(desc) == ELF_NOTE_OS_HERMIT && !k->has_version) {
            k->has_version = true;
            for (int i = 0; i < 3; i++) {
                k->version[i] = le32_get(desc + 4 + 4 * i);
            }
        }
        pos = next; /* next > pos: it is at least pos + 12 */
        if (pos >= size) {
            break;
        }
    }
    return 0;
}

/* Scans every PT_NOTE segment and checks the Hermit notes (a superset of uhyve's first-only). */
static int check_notes(const struct elf_file *f, struct kernel *k)
{
    int entry_version = -1;
    bool seen_uhyve_if = false;
    k->uhyve_if = 1;
    for (unsigned i = 0; i < f->phnum; i++) {
        struct phdr ph;
        read_phdr(f, i, &ph);
        if (ph.type != PT_NOTE) {
            continue;
        }
        if (!in_file(ph.offset, ph.filesz, f->len)) {
            return err_set("kernel PT_NOTE segment %u lies outside the file", i);
        }
        if (scan_notes(f, &ph, k, &entry_version, &seen_uhyve_if) < 0) {
            return -1;
        }
    }
    if (entry_version < 0) {
        return err_set("kernel has no Hermit entry-version note (not a Hermit kernel?)");
    }
    if (entry_version != HERMIT_ENTRY_VERSION) {
        return err_set("kernel speaks Hermit boot protocol version %d; chyve supports %d",
                       entry_version, HERMIT_ENTRY_VERSION);
    }
    if (k->uhyve_if < 1 || k->uhyve_if > 3) {
        return err_set("kernel uses uhyve interface version %" PRIu32 "; chyve supports 1, 2 "
                       "and 3",
                       k->uhyve_if);
    }
    k->legacy_mapping = !k->has_version || (k->version[0] == 0 && k->version[1] < 10);
    return 0;
}

/* Checks the PT_LOAD segments (ABI §1.4) and fills first_vaddr and mem_size. */
static int check_loads(const struct elf_file *f, struct kernel *k)
{
    unsigned n = 0;
    uint64_t prev_end = 0;
    for (unsigned i = 0; i < f->phnum; i++) {
        struct phdr ph;
        read_phdr(f, i, &ph);
        if (ph.type != PT_LOAD) {
            continue;
        }
        if (ph.filesz > ph.memsz) {
            return err_set("kernel PT_LOAD segment %u has p_filesz 0x%" PRIx64
                           " > p_memsz 0x%" PRIx64,
                           i, ph.filesz, ph.memsz);
        }
        if (!in_file(ph.offset, ph.filesz, f->len)) {
            return err_set("kernel PT_LOAD segment %u (0x%" PRIx64 " bytes at offset 0x%" PRIx64
                           ") lies outside the file (%zu bytes)",
                           i, ph.filesz, ph.offset, f->len);
        }
        if (ph.memsz > UINT64_MAX - ph.vaddr) {
            return err_set("kernel PT_LOAD segment %u ends past the address space", i);
        }
        if (n == 0) {
            k->first_vaddr = ph.vaddr;
        } else if (ph.vaddr < prev_end) {
            return err_set("kernel PT_LOAD segment %u at 0x%" PRIx64 " overlaps or precedes the "
                           "previous one (ending at 0x%" PRIx64 "); segments must be in "
                           "ascending, non-overlapping order",
                           i, ph.vaddr, prev_end);
        }
        prev_end = ph.vaddr + ph.memsz;
        n++;
    }
    if (n == 0) {
        return err_set("kernel has no PT_LOAD segment");
    }
    k->mem_size = prev_end - k->first_vaddr;
    if (k->mem_size > MAX_IMAGE_SIZE) {
        return err_set("kernel image is 0x%" PRIx64 " bytes in memory, more than 64 GiB",
                       k->mem_size);
    }
    if (k->relocatable && k->first_vaddr != 0) {
        return err_set("relocatable kernel's first PT_LOAD is at 0x%" PRIx64 ", expected 0",
                       k->first_vaddr);
    }
    if (k->entry < k->first_vaddr || k->entry - k->first_vaddr >= k->mem_size) {
        return err_set("kernel entry point 0x%" PRIx64 " lies outside its image [0x%" PRIx64
                       ", 0x%" PRIx64 ")",
                       k->entry, k->first_vaddr, k->first_vaddr + k->mem_size);
    }
    return 0;
}

/* Reads PT_TLS (ABI §1.6); it must lie inside the image so that relocating it cannot wrap. */
static int check_tls(const struct elf_file *f, struct kernel *k)
{
    bool seen = false;
    for (unsigned i = 0; i < f->phnum; i++) {
        struct phdr ph;
        read_phdr(f, i, &ph);
        if (ph.type != PT_TLS) {
            continue;
        }
        if (seen) {
            return err_set("kernel has more than one PT_TLS segment");
        }
        seen = true;
        if (ph.filesz > ph.memsz || ph.vaddr < k->first_vaddr ||
            ph.vaddr - k->first_vaddr > k->mem_size ||
            ph.memsz > k->mem_size - (ph.vaddr - k->first_vaddr)) {
            return err_set("kernel PT_TLS (0x%" PRIx64 " bytes at 0x%" PRIx64 ") lies outside "
                           "its image",
                           ph.memsz, ph.vaddr);
        }
        k->tls.start = ph.vaddr;
        k->tls.filesz = ph.filesz;
        k->tls.memsz = ph.memsz;
        k->tls.align = ph.align;
    }
    return 0;
}

/* Finds the file offset of [vaddr, vaddr + size) through the PT_LOAD headers' file data. */
static bool vaddr_to_offset(const struct elf_file *f, uint64_t vaddr, uint64_t size, uint64_t *off)
{
    for (unsigned i = 0; i < f->phnum; i++) {
        struct phdr ph;
        read_phdr(f, i, &ph);
        if (ph.type != PT_LOAD || vaddr < ph.vaddr) {
            continue;
        }
        uint64_t rel = vaddr - ph.vaddr;
        if (rel <= ph.filesz && size <= ph.filesz - rel) {
            *off = ph.offset + rel; /* inside the segment's file data, checked by check_loads */
            return true;
        }
    }
    return false;
}

/* Checks every RELA entry: RELATIVE only, target slot inside the image. */
static int check_relas(const struct elf_file *f, const struct kernel *k)
{
    uint32_t relative = f->machine == EM_AARCH64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
    for (uint64_t i = 0; i < f->rela_count; i++) {
        const uint8_t *r = f->buf + f->rela_off + i * RELA_SIZE;
        uint64_t offset = le64_get(r);
        uint32_t type = (uint32_t)le64_get(r + 8);
        if (type != relative) {
            return err_set("unsupported relocation type %" PRIu32 " at entry %" PRIu64
                           " (chyve applies only RELATIVE relocations)",
                           type, i);
        }
        if (offset > k->mem_size || 8 > k->mem_size - offset) {
            return err_set("relocation %" PRIu64 " targets offset 0x%" PRIx64 ", outside the "
                           "kernel image (0x%" PRIx64 " bytes)",
                           i, offset, k->mem_size);
        }
    }
    return 0;
}

/* Checks PT_DYNAMIC (ABI §1.2, §1.5) and locates the RELA table; sets f->rela_*. */
static int check_dynamic(struct elf_file *f, const struct kernel *k)
{
    struct phdr dyn = {0};
    bool seen = false;
    for (unsigned i = 0; i < f->phnum; i++) {
        struct phdr ph;
        read_phdr(f, i, &ph);
        if (ph.type == PT_DYNAMIC) {
            if (seen) {
                return err_set("kernel has more than one PT_DYNAMIC segment");
            }
            dyn = ph;
            seen = true;
        }
    }
    f->rela_off = 0;
    f->rela_count = 0;
    if (!seen) {
        return 0;
    }
    if (!in_file(dyn.offset, dyn.filesz, f->len)) {
        return err_set("kernel PT_DYNAMIC (0x%" PRIx64 " bytes at offset 0x%" PRIx64 ") lies "
                       "outside the file (%zu bytes)",
                       dyn.filesz, dyn.offset, f->len);
    }
    uint64_t rela = 0, relasz = 0, relaent = RELA_SIZE;
    bool have_rela = false;
    for (uint64_t pos = 0; dyn.filesz - pos >= DYN_SIZE; pos += DYN_SIZE) {
        uint64_t tag = le64_get(f->buf + dyn.offset + pos);
        uint64_t val = le64_get(f->buf + dyn.offset + pos + 8);
        if (tag == DT_NULL) {
            break;
        }
        switch (tag) {
        case DT_NEEDED:
            return err_set("kernel is linked against dynamic libraries (DT_NEEDED)");
        case DT_REL:
        case DT_RELSZ:
        case DT_RELCOUNT:
            if (val != 0) {
                return err_set("kernel has REL relocations, which chyve does not support");
            }
            break;
        case DT_RELR:
        case DT_RELRSZ:
            if (val != 0) {
                return err_set("kernel has RELR relocations, which chyve does not support");
            }
            break;
        case DT_PLTRELSZ:
            if (val != 0) {
                return err_set("kernel has PLT relocations, which chyve does not support");
            }
            break;
        case DT_RELA:
            rela = val;
            have_rela = true;
            break;
        case DT_RELASZ:
            relasz = val;
            break;
        case DT_RELAENT:
            relaent = val;
            break;
        default:
            break;
        }
    }
    if (relasz == 0) {
        return 0;
    }
    if (!have_rela) {
        return err_set("kernel has DT_RELASZ but no DT_RELA");
    }
    if (relaent != RELA_SIZE) {
        return err_set("kernel DT_RELAENT is %" PRIu64 ", expected %u", relaent, RELA_SIZE);
    }
    if (relasz % RELA_SIZE != 0) {
        return err_set("kernel DT_RELASZ %" PRIu64 " is not a multiple of %u", relasz, RELA_SIZE);
    }
    if (!k->relocatable) {
        return err_set("non-relocatable (ET_EXEC) kernel has relocations");
    }
    if (!vaddr_to_offset(f, rela, relasz, &f->rela_off)) {
        return err_set("kernel RELA table (0x%" PRIx64 " bytes at 0x%" PRIx64 ") is not inside "
                       "the file data of a PT_LOAD segment",
                       relasz, rela);
    }
    f->rela_count = relasz / RELA_SIZE;
    return check_relas(f, k);
}

/* The whole validation, shared by elf_parse and elf_load; fills *k only on success. */
static int parse(const uint8_t *buf, size_t len, uint16_t machine, struct kernel *k,
                 struct elf_file *f, bool warn)
{
    struct kernel kk;
    memset(&kk, 0, sizeof(kk));
    memset(f, 0, sizeof(*f));
    f->buf = buf;
    f->len = len;
    if (buf == NULL && len != 0) {
        return err_set("kernel buffer is missing");
    }
    if (check_header(f, machine, &kk, warn) < 0 || check_notes(f, &kk) < 0 ||
        check_loads(f, &kk) < 0 || check_tls(f, &kk) < 0 || check_dynamic(f, &kk) < 0) {
        return -1;
    }
    *k = kk;
    return 0;
}

/* Validates the kernel (see elf.h); warns once about a non-Hermit OSABI. */
int elf_parse(const uint8_t *buf, size_t len, uint16_t e_machine, struct kernel *k)
{
    struct elf_file f;
    return parse(buf, len, e_machine, k, &f, true);
}

/*
 * Loads the kernel. The buffer is parsed again (quietly) rather than trusted, and must describe
 * the same image as *k; every guest write goes through guest_mem.
 */
int elf_load(const struct kernel *k, const uint8_t *buf, size_t len, struct guest_mem *m,
             uint64_t load_addr)
{
    if (len < EHDR_SIZE || buf == NULL) {
        return err_set("elf_load: kernel buffer is too short");
    }
    struct kernel again;
    struct elf_file f;
    if (parse(buf, len, le16_get(buf + 18), &again, &f, false) < 0) {
        return -1;
    }
    if (again.first_vaddr != k->first_vaddr || again.mem_size != k->mem_size ||
        again.relocatable != k->relocatable) {
        return err_set("elf_load: kernel buffer does not match the parsed kernel");
    }
    if (load_addr > UINT64_MAX - k->mem_size || guest_mem_ptr(m, load_addr, k->mem_size) == NULL) {
        return err_set("kernel image [0x%" PRIx64 ", +0x%" PRIx64 ") does not fit in guest "
                       "memory [0x%" PRIx64 ", 0x%" PRIx64 ")",
                       load_addr, k->mem_size, m->base, m->base + m->size);
    }
    for (unsigned i = 0; i < f.phnum; i++) {
        struct phdr ph;
        read_phdr(&f, i, &ph);
        if (ph.type != PT_LOAD) {
            continue;
        }
        uint64_t dest = load_addr + (ph.vaddr - k->first_vaddr);
        if (guest_mem_write(m, dest, buf + ph.offset, ph.filesz) < 0) {
            return err_set("cannot copy kernel segment %u to guest address 0x%" PRIx64, i, dest);
        }
        uint64_t bss = ph.memsz - ph.filesz;
        if (guest_mem_zero(m, dest + ph.filesz, bss) != 0) {
            return err_set("cannot zero kernel segment %u at guest address 0x%" PRIx64, i,
                           dest + ph.filesz);
        }
    }
    for (uint64_t i = 0; i < f.rela_count; i++) {
        const uint8_t *r = buf + f.rela_off + i * RELA_SIZE;
        uint64_t slot = load_addr + le64_get(r); /* r_offset < mem_size: checked, cannot wrap */
        uint8_t val[8];
        le64_put(val, load_addr + le64_get(r + 16)); /* B + addend, modulo 2^64 like the CPU */
        if (guest_mem_write(m, slot, val, sizeof(val)) < 0) {
            return err_set("cannot apply relocation %" PRIu64 " at guest address 0x%" PRIx64, i,
                           slot);
        }
    }
    return 0;
}
