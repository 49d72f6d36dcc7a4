/*
 * hc_file.c: the file hypercalls of uhyve interface v1 and v2 (ABI §6.2-6.6). Until host file
 * mapping exists only the standard fds are served: 1 and 2 write to the console, 0 reads host
 * stdin, opening any path answers -ENOENT.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "backend.h"
#include "hc_file.h"
#include "log.h"
#include "vm.h"

#define PAGE_SIZE 4096ull
#define PATH_MAX_GUEST 4096

/* Hermit errno values (ABI §6.4; equal to Linux x86_64). */
#define H_ENOENT 2
#define H_EBADF 9
#define H_EFAULT 14
#define H_ESPIPE 29

/*
 * Host errno to Hermit errno. Hermit numbers equal Linux x86_64's, so on Linux this is the identity
 * for everything listed; other hosts number some of them differently, hence the table.
 */
static int32_t hermit_errno(int host)
{
    static const struct {
        int host;
        int32_t hermit;
    } map[] = {
        {EPERM, 1},   {ENOENT, 2},  {EINTR, 4},   {EIO, 5},     {EBADF, 9},  {EAGAIN, 11},
        {ENOMEM, 12}, {EACCES, 13}, {EFAULT, 14}, {EEXIST, 17}, {ENOTDIR, 20}, {EISDIR, 21},
        {EINVAL, 22}, {ENOSPC, 28}, {ESPIPE, 29}, {EROFS, 30},  {ENOSYS, 38}, {ENOTEMPTY, 39},
        {EOVERFLOW, 75},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].host == host)
            return map[i].hermit;
    return 5; /* EIO */
}

/* v2 result tags of Getdents/Stat/Mkdir */
#define RESULT_ERROR_GETDENTS 3
#define RESULT_ERROR 2

bool hc_file_is_file_call(uint64_t addr)
{
    switch (addr) {
    case HC_V1_FILE_WRITE:
    case HC_V1_FILE_OPEN:
    case HC_V1_FILE_CLOSE:
    case HC_V1_FILE_READ:
    case HC_V1_FILE_LSEEK:
    case HC_V1_FILE_UNLINK:
        return true;
    default:
        /* v2 file calls: every 0x10 step from FileWrite (0x1100) to Mkdir (0x1190) */
        return addr >= HC_V2_FILE_WRITE && addr <= HC_V2_MKDIR && addr % 0x10 == 0;
    }
}

int hc_for_each_virt_chunk(struct vm *vm, struct backend_vcpu *v, uint64_t va, uint64_t len,
                           int (*fn)(void *ctx, uint8_t *p, uint64_t n), void *ctx)
{
    if (len == 0)
        return 0;
    if (va + len < va)
        return -1;
    uint64_t root;
    if (backend_vcpu_pt_root(v, &root) != 0)
        return -1;
    /* Page by page: contiguous virtual pages need not be contiguous in guest-physical memory. */
    while (len > 0) {
        uint64_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        if (n > len)
            n = len;
        uint64_t pa;
        if (arch_virt_to_phys(&vm->mem, root, va, &pa) != 0)
            return -1;
        uint8_t *p = guest_mem_ptr(&vm->mem, pa, n);
        if (!p || fn(ctx, p, n) < 0)
            return -1;
        va += n;
        len -= n;
    }
    return 0;
}

/* Parameter-block field access (little-endian host, blocks copied before use). */
static int32_t blk_i32(const uint8_t *b, size_t off)
{
    int32_t v;
    memcpy(&v, b + off, sizeof(v));
    return v;
}

static uint64_t blk_u64(const uint8_t *b, size_t off)
{
    uint64_t v;
    memcpy(&v, b + off, sizeof(v));
    return v;
}

/* Writes one result field back into the guest's block (in range: the block was read). */
static void blk_out(struct vm *vm, uint64_t gpa, size_t off, const void *val, size_t size)
{
    guest_mem_write(&vm->mem, gpa + off, val, size);
}

static int console_chunk(void *ctx, uint8_t *p, uint64_t n)
{
    vm_console_write(ctx, p, (size_t)n);
    return 0;
}

/* Write to a guest fd from a physical buffer (v2) or virtual one (v1). Returns bytes or -errno. */
static int64_t file_write(struct vm *vm, struct backend_vcpu *v, int32_t fd, uint64_t buf,
                          uint64_t len, bool virt)
{
    if (fd != 1 && fd != 2)
        return -H_EBADF;
    if (len > vm->mem.size)
        return -H_EFAULT; /* larger than guest RAM: cannot be a real buffer */
    if (virt) {
        /* Output stops at the first unmapped page (like write(2) hitting EFAULT midway). */
        if (hc_for_each_virt_chunk(vm, v, buf, len, console_chunk, vm) != 0)
            return -H_EFAULT;
        return (int64_t)len;
    }
    const void *p = guest_mem_ptr(&vm->mem, buf, len);
    if (!p)
        return -H_EFAULT;
    vm_console_write(vm, p, (size_t)len);
    return (int64_t)len;
}

struct read_ctx {
    int64_t total;
    bool eof;
    int err; /* host errno of a failed first read */
};

static int stdin_chunk(void *ctx, uint8_t *p, uint64_t n)
{
    struct read_ctx *r = ctx;
    if (r->eof)
        return 0;
    ssize_t got = read(STDIN_FILENO, p, (size_t)n);
    if (got < 0) {
        r->eof = true;
        if (r->total > 0)
            return 0; /* what was read so far is the result, like read(2) */
        r->err = errno;
        return -1;
    }
    r->total += got;
    if ((uint64_t)got < n)
        r->eof = true; /* a short read ends the call, like read(2) */
    return 0;
}

/* Read from a guest fd; only fd 0 (host stdin) exists for now. Returns bytes or -errno. */
static int64_t file_read(struct vm *vm, struct backend_vcpu *v, int32_t fd, uint64_t buf,
                         uint64_t len, bool virt)
{
    if (fd != 0)
        return -H_EBADF;
    if (len > vm->mem.size)
        return -H_EFAULT;
    struct read_ctx r = {0, false, 0};
    if (virt) {
        if (hc_for_each_virt_chunk(vm, v, buf, len, stdin_chunk, &r) != 0 && r.total == 0)
            return r.err ? -hermit_errno(r.err) : -H_EFAULT;
        return r.total;
    }
    uint8_t *p = guest_mem_ptr(&vm->mem, buf, len);
    if (!p)
        return -H_EFAULT;
    if (stdin_chunk(&r, p, len) != 0)
        return -hermit_errno(r.err);
    return r.total;
}

/* Open: the name must be a string inside guest RAM; no host path is reachable yet. */
static int32_t file_open(struct vm *vm, uint64_t name)
{
    char path[PATH_MAX_GUEST];
    if (guest_mem_read_str(&vm->mem, name, path, sizeof(path)) < 0)
        return -H_EFAULT;
    log_debug("guest opens '%s': no file mapping, ENOENT", path);
    return -H_ENOENT;
}

static int32_t file_close(int32_t fd)
{
    return fd >= 0 && fd <= 2 ? 0 : -H_EBADF;
}

static int64_t file_lseek(int32_t fd)
{
    return fd >= 0 && fd <= 2 ? -H_ESPIPE : -H_EBADF;
}

/* v1 blocks (packed) ---------------------------------------------------------------------- */

static enum hc_status v1_call(struct vm *vm, struct backend_vcpu *v, uint64_t addr, uint64_t d)
{
    uint8_t b[28];
    switch (addr) {
    case HC_V1_FILE_WRITE: /* {i32 fd, u64 buf (virtual), u64 len}: no result field */
        if (hypercall_block_in(vm, "FileWrite", d, b, 20)) {
            int64_t r = file_write(vm, v, blk_i32(b, 0), blk_u64(b, 4), blk_u64(b, 12), true);
            if (r < 0)
                log_warn("FileWrite hypercall (fd %d) failed with errno %lld; dropped",
                         blk_i32(b, 0), (long long)-r);
        }
        break;
    case HC_V1_FILE_READ: /* {i32 fd, u64 buf (virtual), u64 len, i64 ret} */
        if (hypercall_block_in(vm, "FileRead", d, b, 28)) {
            int64_t r = file_read(vm, v, blk_i32(b, 0), blk_u64(b, 4), blk_u64(b, 12), true);
            blk_out(vm, d, 20, &r, 8);
        }
        break;
    case HC_V1_FILE_OPEN: /* {u64 name, i32 flags, i32 mode, i32 ret} */
    case HC_V2_FILE_OPEN:
        if (hypercall_block_in(vm, "FileOpen", d, b, 20)) {
            int32_t r = file_open(vm, blk_u64(b, 0));
            blk_out(vm, d, 16, &r, 4);
        }
        break;
    case HC_V1_FILE_CLOSE: /* {i32 fd, i32 ret} */
    case HC_V2_FILE_CLOSE:
        if (hypercall_block_in(vm, "FileClose", d, b, 8)) {
            int32_t r = file_close(blk_i32(b, 0));
            blk_out(vm, d, 4, &r, 4);
        }
        break;
    case HC_V1_FILE_LSEEK: /* {i32 fd, i64 offset (in/out), i32 whence}; v1 reports errors as -1 */
        if (hypercall_block_in(vm, "FileLseek", d, b, 16)) {
            int64_t r = file_lseek(blk_i32(b, 0));
            if (r < 0)
                r = -1;
            blk_out(vm, d, 4, &r, 8);
        }
        break;
    case HC_V1_FILE_UNLINK: /* {u64 name, i32 ret} */
    case HC_V2_FILE_UNLINK:
        if (hypercall_block_in(vm, "FileUnlink", d, b, 12)) {
            char path[PATH_MAX_GUEST];
            int32_t r = guest_mem_read_str(&vm->mem, blk_u64(b, 0), path, sizeof(path)) < 0
                            ? -H_EFAULT
                            : -H_ENOENT;
            blk_out(vm, d, 8, &r, 4);
        }
        break;
    }
    return HC_CONTINUE;
}

/* v2 blocks (natural alignment) --------------------------------------------------------------- */

/* Stores Error(errno) into a v2 result union at `off` with the given error tag. */
static void v2_error(struct vm *vm, uint64_t d, size_t off, uint32_t tag, size_t errno_off,
                     int32_t err)
{
    blk_out(vm, d, off, &tag, 4);
    blk_out(vm, d, errno_off, &err, 4);
}

static enum hc_status v2_call(struct vm *vm, struct backend_vcpu *v, uint64_t addr, uint64_t d)
{
    uint8_t b[40];
    switch (addr) {
    case HC_V2_FILE_WRITE: /* {u64 len, i64 ret, u64 buf, i32 fd} */
    case HC_V2_FILE_READ:
        if (hypercall_block_in(vm, addr == HC_V2_FILE_WRITE ? "FileWrite" : "FileRead", d, b, 32)) {
            int32_t fd = blk_i32(b, 24);
            uint64_t len = blk_u64(b, 0), buf = blk_u64(b, 16);
            int64_t r = addr == HC_V2_FILE_WRITE ? file_write(vm, v, fd, buf, len, false)
                                                 : file_read(vm, v, fd, buf, len, false);
            blk_out(vm, d, 8, &r, 8);
        }
        break;
    case HC_V2_FILE_LSEEK: /* {i64 offset (in/out), u32 whence, i32 fd} */
        if (hypercall_block_in(vm, "FileLseek", d, b, 16)) {
            int64_t r = file_lseek(blk_i32(b, 12));
            blk_out(vm, d, 0, &r, 8);
        }
        break;
    case HC_V2_GETDENTS: /* {i32 fd, u64 buf, u64 len, {u32 tag, pad, payload}} */
        if (hypercall_block_in(vm, "Getdents", d, b, 40))
            v2_error(vm, d, 24, RESULT_ERROR_GETDENTS, 32, H_EBADF);
        break;
    case HC_V2_FILE_STAT: /* {u64 name, u32 kind, u64 attr, {u32 tag, i32 errno}} */
        if (hypercall_block_in(vm, "FileStat", d, b, 32)) {
            char path[PATH_MAX_GUEST];
            bool ok = guest_mem_read_str(&vm->mem, blk_u64(b, 0), path, sizeof(path)) >= 0;
            v2_error(vm, d, 24, RESULT_ERROR, 28, ok ? H_ENOENT : H_EFAULT);
        }
        break;
    case HC_V2_FILE_FSTAT: /* {i32 fd, u64 attr, {u32 tag, i32 errno}} */
        if (hypercall_block_in(vm, "FileFstat", d, b, 24))
            v2_error(vm, d, 16, RESULT_ERROR, 20, H_EBADF);
        break;
    case HC_V2_MKDIR: /* {u64 path, u64 len, {u32 tag, i32 errno}} */
        if (hypercall_block_in(vm, "Mkdir", d, b, 24)) {
            char path[PATH_MAX_GUEST];
            bool ok = guest_mem_read_str(&vm->mem, blk_u64(b, 0), path, sizeof(path)) >= 0;
            v2_error(vm, d, 16, RESULT_ERROR, 20, ok ? H_ENOENT : H_EFAULT);
        }
        break;
    default: /* Open, Close, Unlink reuse the packed v1 blocks */
        return v1_call(vm, v, addr, d);
    }
    return HC_CONTINUE;
}

enum hc_status hc_file_handle(struct vm *vm, struct backend_vcpu *v, uint64_t addr, uint64_t data)
{
    return hypercall_is_v2(addr) ? v2_call(vm, v, addr, data) : v1_call(vm, v, addr, data);
}
