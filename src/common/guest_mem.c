/* guest_mem.c: guest RAM as one lazily backed host mapping, reached only through checked calls. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"
#include "guest_mem.h"
#include "host.h"
#include "le.h"

int guest_mem_init(struct guest_mem *m, uint64_t base, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    if (size == 0 || size > SIZE_MAX || base + size < base)
        return err_set("invalid guest memory range: base 0x%llx size 0x%llx",
                       (unsigned long long)base, (unsigned long long)size);
    /* MAP_NORESERVE: a 4 GiB guest that touches 10 MiB costs 10 MiB of host memory. */
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return err_set("cannot allocate %llu MiB of guest memory: %s",
                       (unsigned long long)(size >> 20), strerror(errno));
    m->host = p;
    m->base = base;
    m->size = size;
    return 0;
}

/* One piece of advice over all of guest RAM; `what` names the option in the error. */
static int advise(struct guest_mem *m, enum host_advice advice, const char *what)
{
    int rc = host_advise_memory(m->host, (size_t)m->size, advice);
    if (rc == HOST_UNAVAILABLE)
        return err_set("--thp and --ksm need a Linux host");
    if (rc < 0)
        return err_set("%s: the host refused madvise on guest memory: %s", what, strerror(-rc));
    return 0;
}

int guest_mem_advise(struct guest_mem *m, bool huge, bool mergeable)
{
    if (huge && advise(m, HOST_ADVISE_HUGEPAGE, "--thp (transparent huge pages)") != 0)
        return -1;
    if (mergeable && advise(m, HOST_ADVISE_MERGEABLE, "--ksm (kernel same-page merging)") != 0)
        return -1;
    return 0;
}

void guest_mem_fini(struct guest_mem *m)
{
    if (m->host)
        munmap(m->host, (size_t)m->size);
    m->host = NULL;
    m->size = 0;
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    if (!m->host || gpa < m->base)
        return NULL;
    uint64_t off = gpa - m->base;
    /* off <= size and len <= size - off, written so that nothing can overflow. */
    if (off > m->size || len > m->size - off)
        return NULL;
    return m->host + off;
}

int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
    const void *p = guest_mem_ptr(m, gpa, len);
    if (!p)
        return -1;
    memcpy(dst, p, (size_t)len);
    return 0;
}

int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
    void *p = guest_mem_ptr(m, gpa, len);
    if (!p)
        return -1;
    memcpy(p, src, (size_t)len);
    return 0;
}

/* What guest_mem_zero() checks before it writes: the smallest host page size. */
#define ZERO_BLOCK 4096u

/*
 * Writes only the blocks that are not zero already. RAM nobody has written reads as zero (the
 * host maps its shared zero page on a read), and a write would give each block a page of host
 * memory: a kernel's .bss zeroed at load cost chyve its whole size in resident memory, however
 * little of it the guest then used.
 */
int guest_mem_zero(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    uint8_t *p = guest_mem_ptr(m, gpa, len);
    if (!p)
        return -1;
    while (len > 0) {
        size_t n = ZERO_BLOCK - (size_t)((uintptr_t)p & (ZERO_BLOCK - 1));
        if (n > len)
            n = (size_t)len;
        if (p[0] != 0 || memcmp(p, p + 1, n - 1) != 0)
            memset(p, 0, n);
        p += n;
        len -= n;
    }
    return 0;
}

int guest_mem_read_le64(const struct guest_mem *m, uint64_t gpa, uint64_t *v)
{
    uint8_t b[8];
    if (guest_mem_read(m, gpa, b, sizeof(b)) != 0)
        return -1;
    *v = le64_get(b);
    return 0;
}

int guest_mem_write_le64(const struct guest_mem *m, uint64_t gpa, uint64_t v)
{
    uint8_t b[8];
    le64_put(b, v);
    return guest_mem_write(m, gpa, b, sizeof(b));
}

long guest_mem_read_str(const struct guest_mem *m, uint64_t gpa, char *dst, size_t cap)
{
    const char *p = guest_mem_ptr(m, gpa, 0);
    if (!p || cap == 0)
        return -1;
    /* Bytes available from gpa to the end of RAM; then copy at most cap of them. */
    uint64_t avail = m->size - (gpa - m->base);
    size_t n = avail < cap ? (size_t)avail : cap;
    /* The guest may change the bytes under us: copy first, then look for the NUL in the copy. */
    memcpy(dst, p, n);
    const char *nul = memchr(dst, '\0', n);
    if (!nul)
        return -1;
    return (long)(nul - dst);
}
