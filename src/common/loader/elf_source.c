/* elf_source.c: reading a kernel's bytes from a buffer or with pread() from a file. */
#include "loader/elf_source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

/* The most one pread() is asked for: Linux transfers at most 0x7ffff000 bytes per call. */
#define MAX_PREAD (1u << 30)

void elf_source_buffer(struct elf_source *s, const uint8_t *buf, size_t len)
{
    s->buf = buf;
    s->fd = -1;
    s->size = len;
    s->head_len = 0;
}

/* True if [off, off + len) lies inside the source; overflow-safe. */
static bool in_source(const struct elf_source *s, uint64_t off, uint64_t len)
{
    return off <= s->size && len <= s->size - off;
}

/* Where pread_all() puts the bytes: a host buffer, or guest RAM from gpa. */
struct dest {
    uint8_t *host;             /* when m is NULL */
    const struct guest_mem *m; /* else guest RAM, reached through guest_mem for every call */
    uint64_t gpa;
};

/* The host address of the dest's bytes [done, done + n); in range: the caller checked it all. */
static uint8_t *dest_at(const struct dest *d, uint64_t done, uint64_t n)
{
    return d->m ? guest_mem_ptr(d->m, d->gpa + done, n) : d->host + done;
}

/*
 * pread() of the file's [off, off + len) into d, len bytes whatever each call returns: 0, or -1
 * with err_msg() when the file now ends early or a read fails. off + len <= size, which came
 * from fstat(), so every offset fits off_t.
 */
static int pread_all(const struct elf_source *s, uint64_t off, const struct dest *d, uint64_t len)
{
    uint64_t done = 0;
    while (done < len) {
        uint64_t want = len - done < MAX_PREAD ? len - done : MAX_PREAD;
        ssize_t n = pread(s->fd, dest_at(d, done, want), (size_t)want, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set("cannot read the kernel file at offset 0x%" PRIx64 ": %s", off + done,
                           strerror(errno));
        if (n == 0)
            return err_set("the kernel file ends at 0x%" PRIx64 ", short of the 0x%" PRIx64
                           " bytes it had when it was checked (changed while loading?)",
                           off + done, s->size);
        done += (uint64_t)n;
    }
    return 0;
}

int elf_source_file(struct elf_source *s, int fd, uint64_t size)
{
    s->buf = NULL;
    s->fd = fd;
    s->size = size;
    s->head_len = 0;
    if (size > INT64_MAX)
        return err_set("the kernel file is too large (0x%" PRIx64 " bytes)", size);
    size_t n = size < ELF_SOURCE_HEAD ? (size_t)size : ELF_SOURCE_HEAD;
    if (pread_all(s, 0, &(struct dest){.host = s->head}, n) != 0)
        return -1;
    s->head_len = n;
    return 0;
}

int elf_source_read(const struct elf_source *s, uint64_t off, void *dst, uint64_t len)
{
    if (!in_source(s, off, len))
        return err_set("kernel read of 0x%" PRIx64 " bytes at offset 0x%" PRIx64 " lies outside "
                       "the file (0x%" PRIx64 " bytes)",
                       len, off, s->size);
    if (len == 0)
        return 0;
    if (s->buf) {
        memcpy(dst, s->buf + off, (size_t)len);
        return 0;
    }
    if (off <= s->head_len && len <= s->head_len - off) {
        memcpy(dst, s->head + off, (size_t)len);
        return 0;
    }
    return pread_all(s, off, &(struct dest){.host = dst}, len);
}

void *elf_source_copy(const struct elf_source *s, uint64_t off, uint64_t len, const char *what)
{
    if (!in_source(s, off, len) || len > SIZE_MAX - 1) {
        err_set("kernel %s (0x%" PRIx64 " bytes at offset 0x%" PRIx64 ") lies outside the file",
                what, len, off);
        return NULL;
    }
    void *p = malloc(len ? (size_t)len : 1);
    if (!p) {
        err_set("out of memory for the kernel's %s (0x%" PRIx64 " bytes)", what, len);
        return NULL;
    }
    if (elf_source_read(s, off, p, len) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

int elf_source_to_guest(const struct elf_source *s, uint64_t off, const struct guest_mem *m,
                        uint64_t gpa, uint64_t len)
{
    if (!in_source(s, off, len))
        return err_set("kernel bytes [0x%" PRIx64 ", +0x%" PRIx64 ") lie outside the file", off,
                       len);
    if (!guest_mem_ptr(m, gpa, len))
        return err_set("kernel bytes for guest address 0x%" PRIx64 " (+0x%" PRIx64 ") lie "
                       "outside guest memory",
                       gpa, len);
    if (s->buf)
        return guest_mem_write(m, gpa, s->buf + off, len);
    /* Straight from the file, never from head[]: these bytes are copied once. */
    return pread_all(s, off, &(struct dest){.m = m, .gpa = gpa}, len);
}
