/* elf_load.c: loads a validated kernel into guest RAM: its segments, then its relocations. */
#include <inttypes.h>

#include "err.h"
#include "le.h"
#include "loader/elf.h"
#include "loader/elf_file.h"

int elf_load_file(const struct elf_file *f, struct guest_mem *m, uint64_t load_addr, bool ram_zero)
{
    const struct kernel *k = &f->k;
    if (load_addr > UINT64_MAX - k->mem_size || guest_mem_ptr(m, load_addr, k->mem_size) == NULL) {
        return err_set("kernel image [0x%" PRIx64 ", +0x%" PRIx64 ") does not fit in guest "
                       "memory [0x%" PRIx64 ", 0x%" PRIx64 ")",
                       load_addr, k->mem_size, m->base, m->base + m->size);
    }
    for (unsigned i = 0; i < f->phnum; i++) {
        struct elf_phdr ph;
        elf_file_phdr(f, i, &ph);
        if (ph.type != PT_LOAD) {
            continue;
        }
        uint64_t dest = load_addr + (ph.vaddr - k->first_vaddr);
        if (elf_source_to_guest(&f->src, ph.offset, m, dest, ph.filesz) < 0) {
            return err_prefix("cannot copy kernel segment %u to guest address 0x%" PRIx64 ": ", i,
                              dest);
        }
        /*
         * Fresh guest RAM reads as zero, and no other segment's bytes lie in this one's bss
         * (check_loads: no overlap): writing the zeroes would only fault its pages in.
         */
        uint64_t bss = ph.memsz - ph.filesz;
        if (!ram_zero && guest_mem_zero(m, dest + ph.filesz, bss) != 0) {
            return err_set("cannot zero kernel segment %u at guest address 0x%" PRIx64, i,
                           dest + ph.filesz);
        }
    }
    for (uint64_t i = 0; i < f->rela_count; i++) {
        const uint8_t *r = f->rela + i * RELA_SIZE;
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

/*
 * Loads the kernel from a buffer. The buffer is parsed again (quietly) rather than trusted, and
 * must describe the same image as *k; every guest write goes through guest_mem.
 */
int elf_load(const struct kernel *k, const uint8_t *buf, size_t len, struct guest_mem *m,
             uint64_t load_addr)
{
    if (len < EHDR_SIZE || buf == NULL) {
        return err_set("elf_load: kernel buffer is too short");
    }
    struct elf_source src;
    struct elf_file *f;
    elf_source_buffer(&src, buf, len);
    if (elf_file_open(&src, le16_get(buf + 18), false, &f) < 0) {
        return -1;
    }
    int rc;
    if (f->k.first_vaddr != k->first_vaddr || f->k.mem_size != k->mem_size ||
        f->k.relocatable != k->relocatable) {
        rc = err_set("elf_load: kernel buffer does not match the parsed kernel");
    } else {
        rc = elf_load_file(f, m, load_addr, false);
    }
    elf_close(f);
    return rc;
}
