/* files_hc.c: guest-side file hypercalls (v1 ports, v2 addresses) and the FDT mount list. */
#include "files_hc.h"

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
        volatile struct uhyve_rw_v2 b = {len, 0x5A5A5A5A, (uintptr_t)buf, fd, 0};
        hc2_raw(UHYVE_V2_FILE_READ, (uintptr_t)&b);
        return b.ret;
    }
    volatile struct uhyve_read_v1 b = {fd, (uintptr_t)buf, len, 0x5A5A5A5A};
    hc1_raw(UHYVE_V1_FILE_READ, hc1_addr(&b));
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
        volatile struct uhyve_lseek_v2 b = {off, whence, fd};
        hc2_raw(UHYVE_V2_FILE_LSEEK, (uintptr_t)&b);
        return b.offset;
    }
    volatile struct uhyve_lseek_v1 b = {fd, off, (int32_t)whence};
    hc1_raw(UHYVE_V1_FILE_LSEEK, hc1_addr(&b));
    return b.offset;
}

int32_t hf_unlink(const char *path)
{
    volatile struct uhyve_unlink b = {(uintptr_t)path, 0x5A5A5A5A};
    if (rt_v2)
        hc2_raw(UHYVE_V2_FILE_UNLINK, (uintptr_t)&b);
    else
        hc1_raw(UHYVE_V1_FILE_UNLINK, hc1_addr(&b));
    return b.ret;
}

/* A v2 {tag, errno} result: 0 on Success (1), -errno on Error (2), -999 if untouched. */
static int32_t result(uint32_t tag, int32_t err)
{
    return tag == UHYVE_RESULT_SUCCESS ? 0 : tag == UHYVE_RESULT_ERROR ? -err : -999;
}

int32_t hf_mkdir(const char *path)
{
    volatile struct uhyve_mkdir b = {(uintptr_t)path, strlen(path), {0, 0}};
    hc2_raw(UHYVE_V2_MKDIR, (uintptr_t)&b);
    return result(b.result.tag, b.result.err);
}

int32_t hf_stat(const char *path, bool lstat, struct uhyve_file_attr *a)
{
    volatile struct uhyve_stat b = {(uintptr_t)path, lstat ? 1 : 0, 0, (uintptr_t)a, {0, 0}};
    hc2_raw(UHYVE_V2_FILE_STAT, (uintptr_t)&b);
    return result(b.result.tag, b.result.err);
}

int32_t hf_fstat(int32_t fd, struct uhyve_file_attr *a)
{
    volatile struct uhyve_fstat b = {fd, 0, (uintptr_t)a, {0, 0}};
    hc2_raw(UHYVE_V2_FILE_FSTAT, (uintptr_t)&b);
    return result(b.result.tag, b.result.err);
}

int64_t hf_getdents(int32_t fd, void *buf, uint64_t len)
{
    volatile struct uhyve_getdents b = {fd, 0, (uintptr_t)buf, len, 0, 0, {0}};
    hc2_raw(UHYVE_V2_GETDENTS, (uintptr_t)&b);
    if (b.tag == UHYVE_GETDENTS_SUCCESS)
        return (int64_t)b.result.bytes;
    if (b.tag == UHYVE_GETDENTS_END)
        return 0;
    return b.tag == UHYVE_GETDENTS_ERROR ? -(int64_t)b.result.err : -999;
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
