/* elf_source.h: where the kernel loader reads a kernel's bytes from: a buffer, or an open file. */
#ifndef CHYVE_ELF_SOURCE_H
#define CHYVE_ELF_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/*
 * The first bytes of a kernel file, read once: the ELF header and the program headers lie there
 * (linkers put them at offset 64), and so do the notes of every kernel seen here, so parsing
 * reads the file again only for what lies further on.
 */
#define ELF_SOURCE_HEAD 4096

/*
 * A kernel's bytes: buf[0, size) in memory (a Hermit image's kernel), or an open regular file
 * read with pread() (a plain kernel file), which nobody maps: a file truncated meanwhile makes a
 * read come up short, an error, never a SIGBUS.
 */
struct elf_source {
    const uint8_t *buf; /* the kernel in memory, or NULL: read fd */
    int fd;             /* when buf is NULL: the file, not closed by the loader */
    uint64_t size;      /* bytes in buf, or the file's size when it was checked (fstat) */
    size_t head_len;    /* file sources: bytes of the file in head[], from offset 0 */
    uint8_t head[ELF_SOURCE_HEAD];
};

/* A source over buf[0, len) (not copied: buf must stay valid while the source is in use). */
void elf_source_buffer(struct elf_source *s, const uint8_t *buf, size_t len);

/*
 * A source over the open regular file fd, `size` bytes long (its fstat size). Reads its first
 * min(size, ELF_SOURCE_HEAD) bytes into s->head, where the caller can look at the magic.
 * Returns 0, or -1 with err_msg() (a read error, or the file ended before `size`).
 */
int elf_source_file(struct elf_source *s, int fd, uint64_t size);

/*
 * Copies the source's bytes [off, off + len) into dst (from head[] when they lie there).
 * Returns 0, or -1 with err_msg() if the range leaves the source (overflow-safe), the file
 * ends early (it shrank since it was checked) or a read fails.
 */
int elf_source_read(const struct elf_source *s, uint64_t off, void *dst, uint64_t len);

/*
 * The same into a new malloc'd buffer of len bytes (at least 1 allocated, so len 0 is not
 * NULL); the caller frees it. NULL with err_msg() on failure, "what" naming the part read.
 */
void *elf_source_copy(const struct elf_source *s, uint64_t off, uint64_t len, const char *what);

/*
 * Copies [off, off + len) into guest RAM at gpa, the whole range checked through guest_mem
 * first: from a file with pread() straight into guest RAM, the one copy of those bytes.
 * Returns 0, or -1 with err_msg() (outside guest RAM or the source, early end, read error); a
 * failed copy may have written part of the range.
 */
int elf_source_to_guest(const struct elf_source *s, uint64_t off, const struct guest_mem *m,
                        uint64_t gpa, uint64_t len);

#endif
