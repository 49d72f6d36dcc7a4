/* elf.c: validates a Hermit kernel ELF (ABI §1), reading only its headers and tables. */
#include "loader/elf.h"
#include "loader/elf_file.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "le.h"
#include "log.h"

/* True if [off, off + size) lies inside a file of len bytes; overflow-safe. */
static bool in_file(uint64_t off, uint64_t size, uint64_t len)
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

void elf_file_phdr(const struct elf_file *f, unsigned i, struct elf_phdr *ph)
{
    const uint8_t *p = f->phdrs + (size_t)i * PHDR_SIZE;
    ph->type = le32_get(p);
    ph->offset = le64_get(p + 8);
    ph->vaddr = le64_get(p + 16);
    ph->filesz = le64_get(p + 32);
    ph->memsz = le64_get(p + 40);
    ph->align = le64_get(p + 48);
}

/*
 * Checks the ELF header and the program header table's position, reads the table; fills f and
 * k->relocatable.
 */
static int check_header(struct elf_file *f, uint16_t machine, struct kernel *k, bool warn)
{
    uint8_t b[EHDR_SIZE];
    uint64_t len = f->src.size;
    if (len < EHDR_SIZE) {
        return err_set("kernel is too short for an ELF header (%" PRIu64 " bytes)", len);
    }
    if (elf_source_read(&f->src, 0, b, EHDR_SIZE) != 0) {
        return -1;
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
    if (!in_file(phoff, (uint64_t)phnum * PHDR_SIZE, len)) {
        return err_set("kernel program headers (%u at offset 0x%" PRIx64 ") lie outside the "
                       "file (%" PRIu64 " bytes)",
                       phnum, phoff, len);
    }
    f->phdrs = elf_source_copy(&f->src, phoff, (uint64_t)phnum * PHDR_SIZE, "program headers");
    if (!f->phdrs) {
        return -1;
    }
    f->machine = machine;
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
 * Walks the notes of one PT_NOTE segment, ph->filesz bytes read into seg (ABI §1.3). Offsets are
 * relative to the segment, whose notes start aligned: the descriptor begins at align_up(12 +
 * namesz) and the next note at align_up(desc + descsz), with the alignment p_align (0 or 1 meaning
 * 4). With alignment 4 this is exactly "name and descriptor each padded to 4". *entry_version is
 * set to the first HERMIT entry-version note's byte (it starts at -1).
 */
static int scan_notes(const uint8_t *seg, const struct elf_phdr *ph, struct kernel *k,
                      int *entry_version, bool *seen_uhyve_if)
{
    uint64_t a = ph->align <= 1 ? 4 : ph->align;
    if ((a & (a - 1)) != 0) {
        return err_set("kernel PT_NOTE alignment %" PRIu64 " is not a power of two", a);
    }
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
        struct elf_phdr ph;
        elf_file_phdr(f, i, &ph);
        if (ph.type != PT_NOTE) {
            continue;
        }
        if (!in_file(ph.offset, ph.filesz, f->src.size)) {
            return err_set("kernel PT_NOTE segment %u lies outside the file", i);
        }
        uint8_t *seg = elf_source_copy(&f->src, ph.offset, ph.filesz, "PT_NOTE segment");
        int rc = seg ? scan_notes(seg, &ph, k, &entry_version, &seen_uhyve_if) : -1;
        free(seg);
        if (rc < 0) {
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
        struct elf_phdr ph;
        elf_file_phdr(f, i, &ph);
        if (ph.type != PT_LOAD) {
            continue;
        }
        if (ph.filesz > ph.memsz) {
            return err_set("kernel PT_LOAD segment %u has p_filesz 0x%" PRIx64
                           " > p_memsz 0x%" PRIx64,
                           i, ph.filesz, ph.memsz);
        }
        if (!in_file(ph.offset, ph.filesz, f->src.size)) {
            return err_set("kernel PT_LOAD segment %u (0x%" PRIx64 " bytes at offset 0x%" PRIx64
                           ") lies outside the file (%" PRIu64 " bytes)",
                           i, ph.filesz, ph.offset, f->src.size);
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
        struct elf_phdr ph;
        elf_file_phdr(f, i, &ph);
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
        struct elf_phdr ph;
        elf_file_phdr(f, i, &ph);
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

/* Checks every RELA entry (in f->rela): RELATIVE only, target slot inside the image. */
static int check_relas(const struct elf_file *f, const struct kernel *k)
{
    uint32_t relative = f->machine == EM_AARCH64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
    for (uint64_t i = 0; i < f->rela_count; i++) {
        const uint8_t *r = f->rela + i * RELA_SIZE;
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

/* What the dynamic array says about relocations (ABI §1.5). */
struct dyn_info {
    uint64_t rela, relasz, relaent;
    bool have_rela;
};

/*
 * Walks the dynamic array d (size bytes, PT_DYNAMIC's file data) up to DT_NULL, refusing what
 * chyve cannot load (ABI §1.2), and collects the RELA entries into *di.
 */
static int scan_dynamic(const uint8_t *d, uint64_t size, struct dyn_info *di)
{
    for (uint64_t pos = 0; size - pos >= DYN_SIZE; pos += DYN_SIZE) {
        uint64_t tag = le64_get(d + pos);
        uint64_t val = le64_get(d + pos + 8);
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
            di->rela = val;
            di->have_rela = true;
            break;
        case DT_RELASZ:
            di->relasz = val;
            break;
        case DT_RELAENT:
            di->relaent = val;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* Checks PT_DYNAMIC (ABI §1.2, §1.5) and reads the RELA table; sets f->rela and rela_count. */
static int check_dynamic(struct elf_file *f, const struct kernel *k)
{
    struct elf_phdr dyn = {0};
    bool seen = false;
    for (unsigned i = 0; i < f->phnum; i++) {
        struct elf_phdr ph;
        elf_file_phdr(f, i, &ph);
        if (ph.type == PT_DYNAMIC) {
            if (seen) {
                return err_set("kernel has more than one PT_DYNAMIC segment");
            }
            dyn = ph;
            seen = true;
        }
    }
    if (!seen) {
        return 0;
    }
    if (!in_file(dyn.offset, dyn.filesz, f->src.size)) {
        return err_set("kernel PT_DYNAMIC (0x%" PRIx64 " bytes at offset 0x%" PRIx64 ") lies "
                       "outside the file (%" PRIu64 " bytes)",
                       dyn.filesz, dyn.offset, f->src.size);
    }
    struct dyn_info di = {.relaent = RELA_SIZE};
    uint8_t *d = elf_source_copy(&f->src, dyn.offset, dyn.filesz, "PT_DYNAMIC segment");
    int rc = d ? scan_dynamic(d, dyn.filesz, &di) : -1;
    free(d);
    if (rc < 0) {
        return -1;
    }
    if (di.relasz == 0) {
        return 0;
    }
    if (!di.have_rela) {
        return err_set("kernel has DT_RELASZ but no DT_RELA");
    }
    if (di.relaent != RELA_SIZE) {
        return err_set("kernel DT_RELAENT is %" PRIu64 ", expected %u", di.relaent, RELA_SIZE);
    }
    if (di.relasz % RELA_SIZE != 0) {
        return err_set("kernel DT_RELASZ %" PRIu64 " is not a multiple of %u", di.relasz,
                       RELA_SIZE);
    }
    if (!k->relocatable) {
        return err_set("non-relocatable (ET_EXEC) kernel has relocations");
    }
    uint64_t rela_off;
    if (!vaddr_to_offset(f, di.rela, di.relasz, &rela_off)) {
        return err_set("kernel RELA table (0x%" PRIx64 " bytes at 0x%" PRIx64 ") is not inside "
                       "the file data of a PT_LOAD segment",
                       di.relasz, di.rela);
    }
    f->rela = elf_source_copy(&f->src, rela_off, di.relasz, "RELA table");
    if (!f->rela) {
        return -1;
    }
    f->rela_count = di.relasz / RELA_SIZE;
    return check_relas(f, k);
}

/* Frees what parsing read; the struct itself stays. */
static void drop_copies(struct elf_file *f)
{
    free(f->phdrs);
    free(f->rela);
    f->phdrs = NULL;
    f->rela = NULL;
    f->phnum = 0;
    f->rela_count = 0;
}

/* The whole validation of f->src for `machine`: fills f and f->k, or frees what it read. */
static int parse(struct elf_file *f, uint16_t machine, bool warn)
{
    struct kernel *k = &f->k;
    memset(k, 0, sizeof(*k));
    if (check_header(f, machine, k, warn) < 0 || check_notes(f, k) < 0 || check_loads(f, k) < 0 ||
        check_tls(f, k) < 0 || check_dynamic(f, k) < 0) {
        drop_copies(f);
        return -1;
    }
    return 0;
}

int elf_file_open(const struct elf_source *src, uint16_t machine, bool warn, struct elf_file **out)
{
    struct elf_file *f = calloc(1, sizeof(*f));
    if (!f) {
        return err_set("out of memory reading the kernel");
    }
    f->src = *src;
    if (parse(f, machine, warn) < 0) {
        free(f);
        return -1;
    }
    *out = f;
    return 0;
}

int elf_open(const struct elf_source *src, uint16_t e_machine, struct kernel *k,
             struct elf_file **out)
{
    struct elf_file *f;
    if (elf_file_open(src, e_machine, true, &f) < 0) {
        return -1;
    }
    *k = f->k;
    *out = f;
    return 0;
}

void elf_close(struct elf_file *f)
{
    if (f) {
        drop_copies(f);
        free(f);
    }
}

/* Validates the kernel in a buffer (see elf.h); warns once about a non-Hermit OSABI. */
int elf_parse(const uint8_t *buf, size_t len, uint16_t e_machine, struct kernel *k)
{
    if (buf == NULL && len != 0) {
        return err_set("kernel buffer is missing");
    }
    struct elf_source src;
    struct elf_file *f;
    elf_source_buffer(&src, buf, len);
    if (elf_open(&src, e_machine, k, &f) < 0) {
        return -1;
    }
    elf_close(f);
    return 0;
}
