/* fake_virtq.c: a test driver for chyve's virtio transport (see fake_virtq.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "le.h"

static void put(const struct fvq *q, uint64_t gpa, const void *src, size_t len)
{
    if (guest_mem_write(q->m, gpa, src, len) != 0) {
        fprintf(stderr, "fake_virtq: write outside guest RAM at 0x%llx\n", (unsigned long long)gpa);
        abort();
    }
}

static void get(const struct fvq *q, uint64_t gpa, void *dst, size_t len)
{
    if (guest_mem_read(q->m, gpa, dst, len) != 0) {
        fprintf(stderr, "fake_virtq: read outside guest RAM at 0x%llx\n", (unsigned long long)gpa);
        abort();
    }
}

void fvq_init(struct fvq *q, const struct guest_mem *m, uint64_t base, uint16_t size)
{
    q->m = m;
    q->size = size;
    q->desc = base;
    q->avail = base + 16ull * size;
    q->used = (q->avail + 6 + 2ull * size + 0xFFF) & ~0xFFFull;
    q->avail_idx = 0;
    if (guest_mem_zero(m, base, q->used + 6 + 8ull * size - base) != 0) {
        fprintf(stderr, "fake_virtq: rings at 0x%llx do not fit\n", (unsigned long long)base);
        abort();
    }
}

void fvq_desc(struct fvq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t d[16];
    le64_put(d, addr);
    le32_put(d + 8, len);
    le16_put(d + 12, flags);
    le16_put(d + 14, next);
    put(q, q->desc + 16ull * i, d, sizeof(d));
}

void fvq_set_avail_idx(struct fvq *q, uint16_t idx)
{
    uint8_t b[2];
    le16_put(b, idx);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* ring entries before the index */
    put(q, q->avail + 2, b, 2);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void fvq_make_avail(struct fvq *q, uint16_t head)
{
    uint8_t b[2];
    le16_put(b, head);
    put(q, q->avail + 4 + 2ull * (q->avail_idx % q->size), b, 2);
    q->avail_idx++;
    fvq_set_avail_idx(q, q->avail_idx);
}

void fvq_set_avail_flags(struct fvq *q, uint16_t flags)
{
    uint8_t b[2];
    le16_put(b, flags);
    put(q, q->avail, b, 2);
}

uint16_t fvq_used_idx(const struct fvq *q)
{
    uint8_t b[2];
    get(q, q->used + 2, b, 2);
    return le16_get(b);
}

uint16_t fvq_used_idx_sync(const struct fvq *q)
{
    const uint16_t *p = guest_mem_ptr(q->m, q->used + 2, 2);
    uint16_t v = __atomic_load_n(p, __ATOMIC_ACQUIRE);
    uint8_t b[2];
    memcpy(b, &v, 2);
    return le16_get(b);
}

uint16_t fvq_wait_used(const struct fvq *q, uint16_t want, int timeout_ms)
{
    uint16_t v = fvq_used_idx_sync(q);
    for (int waited = 0; (uint16_t)(v - want) > 0x8000 && waited < timeout_ms; waited++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        v = fvq_used_idx_sync(q);
    }
    return v;
}

void fvq_used_elem(const struct fvq *q, uint16_t slot, uint32_t *id, uint32_t *len)
{
    uint8_t e[8];
    get(q, q->used + 4 + 8ull * (slot % q->size), e, sizeof(e));
    *id = le32_get(e);
    *len = le32_get(e + 4);
}

uint64_t vbar_read(struct virtio_device *d, uint64_t off, unsigned len)
{
    uint8_t b[8];
    memset(b, 0xA5, sizeof(b)); /* whatever the device does not fill shows up */
    virtio_bar_access(d, off, false, b, len);
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

void vbar_write(struct virtio_device *d, uint64_t off, unsigned len, uint64_t val)
{
    uint8_t b[8];
    le64_put(b, val);
    virtio_bar_access(d, off, true, b, len);
}

void vdrv_queue(struct virtio_device *d, uint16_t qi, const struct fvq *q)
{
    vbar_write(d, VIRTIO_CC_QSELECT, 2, qi);
    vbar_write(d, VIRTIO_CC_QSIZE, 2, q->size);
    vbar_write(d, VIRTIO_CC_QDESC, 8, q->desc);
    vbar_write(d, VIRTIO_CC_QDRIVER, 8, q->avail);
    vbar_write(d, VIRTIO_CC_QDEVICE, 8, q->used);
    vbar_write(d, VIRTIO_CC_QENABLE, 2, 1);
}

uint8_t vdrv_negotiate(struct virtio_device *d, uint64_t features)
{
    vbar_write(d, VIRTIO_CC_STATUS, 1, 0);
    vbar_write(d, VIRTIO_CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    vbar_write(d, VIRTIO_CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vbar_write(d, VIRTIO_CC_GFSELECT, 4, 0);
    vbar_write(d, VIRTIO_CC_GF, 4, (uint32_t)features);
    vbar_write(d, VIRTIO_CC_GFSELECT, 4, 1);
    vbar_write(d, VIRTIO_CC_GF, 4, (uint32_t)(features >> 32));
    vbar_write(d, VIRTIO_CC_STATUS, 1,
               VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return (uint8_t)vbar_read(d, VIRTIO_CC_STATUS, 1);
}

uint8_t vdrv_driver_ok(struct virtio_device *d)
{
    uint8_t s = (uint8_t)vbar_read(d, VIRTIO_CC_STATUS, 1);
    vbar_write(d, VIRTIO_CC_STATUS, 1, s | VIRTIO_STATUS_DRIVER_OK);
    return (uint8_t)vbar_read(d, VIRTIO_CC_STATUS, 1);
}

static int saved_stderr = -1;
static FILE *capture;

void stderr_capture_begin(void)
{
    fflush(stderr);
    capture = tmpfile();
    if (capture == NULL) {
        abort();
    }
    saved_stderr = dup(2);
    dup2(fileno(capture), 2);
}

char *stderr_capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    /* The bytes went through descriptor 2, not through the FILE: read them by descriptor. */
    int fd = fileno(capture);
    off_t n = lseek(fd, 0, SEEK_END);
    char *s = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    if (s == NULL || (n > 0 && pread(fd, s, (size_t)n, 0) != (ssize_t)n)) {
        abort();
    }
    fclose(capture);
    capture = NULL;
    return s;
}

unsigned count_substr(const char *hay, const char *needle)
{
    unsigned n = 0;
    size_t l = strlen(needle);
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + l, needle)) {
        n++;
    }
    return n;
}
