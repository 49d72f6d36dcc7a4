/* files_hc.c: guest-side file hypercalls (v1 ports, v2 addresses) and the FDT mount list. */
#include "files_hc.h"

#define HC1_FILE_READ 0x500
#define HC1_FILE_LSEEK 0x580
#define HC1_FILE_UNLINK 0x840
#define HC2_FILE_READ 0x1130
#define HC2_FILE_LSEEK 0x1140
#define HC2_FILE_UNLINK 0x1150
#define HC2_GETDENTS 0x1160
#define HC2_FILE_STAT 0x1170
#define HC2_FILE_FSTAT 0x1180
#define HC2_MKDIR 0x1190

struct __attribute__((packed)) hc1_read {
    int32_t fd;
    uint64_t buf, len;
    int64_t ret;
};
struct __attribute__((packed)) hc1_lseek {
    int32_t fd;
    int64_t offset;
    int32_t whence;
};
struct __attribute__((packed)) hc1_unlink {
    uint64_t name;
    int32_t ret;
};
struct hc2_lseek {
    int64_t offset;
    uint32_t whence;
    int32_t fd;
};
struct hc2_getdents {
    int32_t fd, pad;
    uint64_t buf, len;
    uint32_t tag, pad2;
    uint64_t payload; /* bytes written, or the errno in the low 32 bits */
};
struct hc2_mkdir {
    uint64_t path, len;
    uint32_t tag;
    int32_t err;
};
struct hc2_stat {
    uint64_t name;
    uint32_t kind, pad;
    uint64_t attr;
    uint32_t tag;
    int32_t err;
};
struct hc2_fstat {
    int32_t fd, pad;
    uint64_t attr;
    uint32_t tag;
    int32_t err;
};
_Static_assert(sizeof(struct hc1_read) == 28, "ReadParams");
_Static_assert(sizeof(struct hc2_getdents) == 40, "GetdentParams");
_Static_assert(sizeof(struct hc2_stat) == 32, "StatParams");

int32_t hf_open(const char *path, int32_t flags, int32_t mode)
{
    return rt_v2 ? hc2_file_open(path, flags, mode) : hc1_file_open(path, flags, mode);
}

int32_t hf_close(int32_t fd)
{
    return rt_v2 ? hc2_file_close(fd) : hc1_file_close(fd);
}

int64_t hf_read(int32_t fd, void *buf, uint64_t len)
{
    if (rt_v2) {
        volatile struct hc2_write b = {len, 0x5A5A5A5A, (uintptr_t)buf, fd, 0};
        hc2_raw(HC2_FILE_READ, (uintptr_t)&b);
        return b.ret;
    }
    volatile struct hc1_read b = {fd, (uintptr_t)buf, len, 0x5A5A5A5A};
    hc1_raw(HC1_FILE_READ, hc1_addr(&b));
    return b.ret;
}

int64_t hf_write(int32_t fd, const void *buf, uint64_t len)
{
    if (rt_v2)
        return hc2_file_write(fd, buf, len);
    hc1_file_write(fd, buf, len);
    return (int64_t)len;
}

int64_t hf_lseek(int32_t fd, int64_t off, uint32_t whence)
{
    if (rt_v2) {
        volatile struct hc2_lseek b = {off, whence, fd};
        hc2_raw(HC2_FILE_LSEEK, (uintptr_t)&b);
        return b.offset;
    }
    volatile struct hc1_lseek b = {fd, off, (int32_t)whence};
    hc1_raw(HC1_FILE_LSEEK, hc1_addr(&b));
    return b.offset;
}

int32_t hf_unlink(const char *path)
{
    volatile struct hc1_unlink b = {(uintptr_t)path, 0x5A5A5A5A};
    if (rt_v2)
        hc2_raw(HC2_FILE_UNLINK, (uintptr_t)&b);
    else
        hc1_raw(HC1_FILE_UNLINK, hc1_addr(&b));
    return b.ret;
}

/* A v2 {tag, errno} result: 0 on Success (1), -errno on Error (2), -999 if untouched. */
static int32_t result(uint32_t tag, int32_t err)
{
    return tag == 1 ? 0 : tag == 2 ? -err : -999;
}

int32_t hf_mkdir(const char *path)
{
    volatile struct hc2_mkdir b = {(uintptr_t)path, strlen(path), 0, 0};
    hc2_raw(HC2_MKDIR, (uintptr_t)&b);
    return result(b.tag, b.err);
}

int32_t hf_stat(const char *path, bool lstat, struct hf_attr *a)
{
    volatile struct hc2_stat b = {(uintptr_t)path, lstat ? 1 : 0, 0, (uintptr_t)a, 0, 0};
    hc2_raw(HC2_FILE_STAT, (uintptr_t)&b);
    return result(b.tag, b.err);
}

int32_t hf_fstat(int32_t fd, struct hf_attr *a)
{
    volatile struct hc2_fstat b = {fd, 0, (uintptr_t)a, 0, 0};
    hc2_raw(HC2_FILE_FSTAT, (uintptr_t)&b);
    return result(b.tag, b.err);
}

int64_t hf_getdents(int32_t fd, void *buf, uint64_t len)
{
    volatile struct hc2_getdents b = {fd, 0, (uintptr_t)buf, len, 0, 0, 0};
    hc2_raw(HC2_GETDENTS, (uintptr_t)&b);
    if (b.tag == 1)
        return (int64_t)b.payload;
    if (b.tag == 2)
        return 0;
    return b.tag == 3 ? -(int64_t)(int32_t)(uint32_t)b.payload : -999;
}

/* ---- /uhyve,mounts ------------------------------------------------------------------------- */

static uint32_t be32(const volatile uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The value of property `prop` of the top-level node `node` (no unit address), with its size. */
static const char *fdt_top_prop(const char *node, const char *prop, uint32_t *len)
{
    const uint8_t *b = (const uint8_t *)(uintptr_t)bi_u64(BI_FDT);
    if (!b || be32(b) != 0xD00DFEEDu)
        return NULL;
    const uint8_t *p = b + be32(b + 8), *end = p + be32(b + 36), *strs = b + be32(b + 12);
    int depth = 0;
    bool inside = false;
    while (p + 4 <= end) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == 1) { /* BEGIN_NODE name */
            size_t n = strlen((const char *)p);
            depth++;
            inside = depth == 2 && !strcmp((const char *)p, node);
            p += (n + 4) & ~(size_t)3;
        } else if (tok == 2) { /* END_NODE */
            depth--;
            inside = false;
        } else if (tok == 3) { /* PROP len nameoff value */
            uint32_t l = be32(p), name = be32(p + 4);
            if (inside && !strcmp((const char *)strs + name, prop)) {
                *len = l;
                return (const char *)p + 8;
            }
            p += 8 + ((l + 3) & ~3u);
        } else if (tok != 4) { /* not NOP: END */
            break;
        }
    }
    return NULL;
}

const char *hf_mount(unsigned i)
{
    uint32_t len;
    const char *v = fdt_top_prop("uhyve,mounts", "mounts", &len);
    for (uint32_t off = 0; v && off < len; i--) {
        if (i == 0)
            return v + off;
        off += (uint32_t)strlen(v + off) + 1;
    }
    return NULL;
}
