/*
 * hc_file.c: the file hypercalls of uhyve interface v1 and v2 (ABI §6.2-6.6): parameter blocks
 * and guest buffers are decoded and checked here; the files themselves are files.c's. Guest
 * fds 0-2 are chyve's: 0 reads host stdin, 1 and 2 write to the console, closing them is a no-op.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "backend.h"
#include "files/filemap.h"
#include "files/files.h"
#include "hypercall/hc_file.h"
#include "log.h"
#include "vm.h"

#define PAGE_SIZE 4096ull

/* v2 result tags of Getdents (None, Success, EndOfDirectory, Error) and Stat/Mkdir. */
#define GETDENTS_SUCCESS 1
#define GETDENTS_END 2
#define GETDENTS_ERROR 3
#define RESULT_SUCCESS 1
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
    /*
     * Page by page: contiguous virtual pages need not be contiguous in guest-physical memory.
     * Pages that are physically adjacent are joined into one chunk (one host call for a large
     * buffer the guest allocated contiguously).
     */
    uint64_t run_pa = 0, run_len = 0;
    while (len > 0) {
        uint64_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        if (n > len)
            n = len;
        uint64_t pa;
        bool ok = arch_virt_to_phys(&vm->mem, root, va, &pa) == 0 &&
                  guest_mem_ptr(&vm->mem, pa, n) != NULL;
        if (ok && run_len > 0 && pa == run_pa + run_len) {
            run_len += n;
        } else {
            if (run_len > 0 && fn(ctx, guest_mem_ptr(&vm->mem, run_pa, run_len), run_len) < 0)
                return -1;
            if (!ok)
                return -1;
            run_pa = pa;
            run_len = n;
        }
        va += n;
        len -= n;
    }
    return fn(ctx, guest_mem_ptr(&vm->mem, run_pa, run_len), run_len) < 0 ? -1 : 0;
}

/* Writes one result field back into the guest's block (in range: the block was read). */
static void blk_out(struct vm *vm, uint64_t gpa, size_t off, const void *val, size_t size)
{
    guest_mem_write(&vm->mem, gpa + off, val, size);
}

/*
 * Copies the guest path at gpa into path[FILEMAP_PATH_MAX]: 0, -H_EFAULT if it leaves guest RAM,
 * -H_ENAMETOOLONG if RAM holds FILEMAP_PATH_MAX bytes there without a NUL.
 */
static int32_t guest_path(struct vm *vm, uint64_t gpa, char *path)
{
    if (guest_mem_read_str(&vm->mem, gpa, path, FILEMAP_PATH_MAX) >= 0)
        return 0;
    return guest_mem_ptr(&vm->mem, gpa, FILEMAP_PATH_MAX) ? -H_ENAMETOOLONG : -H_EFAULT;
}

/* One read from guest fd `fd` into a host-visible chunk of guest RAM: bytes or -errno. */
static int64_t fd_read(struct vm *vm, int32_t fd, uint8_t *p, uint64_t n)
{
    if (fd == 0) {
        /* No EINTR retry: the stop signal must be able to end a read of an idle stdin. */
        ssize_t r = read(STDIN_FILENO, p, (size_t)n);
        return r < 0 ? -file_abi_errno(errno) : r;
    }
    if (fd == 1 || fd == 2)
        return -H_EBADF;
    return files_read(vm->files, fd, p, n);
}

static int64_t fd_write(struct vm *vm, int32_t fd, const uint8_t *p, uint64_t n)
{
    if (fd == 1 || fd == 2) {
        vm_console_write(vm, p, (size_t)n);
        return (int64_t)n;
    }
    if (fd == 0)
        return -H_EBADF;
    return files_write(vm->files, fd, p, n);
}

/* One read or write spread over chunks: like read(2), it ends at the first short transfer. */
struct xfer {
    struct vm *vm;
    int32_t fd;
    bool write, done;
    int64_t total, err;
};

static int xfer_chunk(void *ctx, uint8_t *p, uint64_t n)
{
    struct xfer *x = ctx;
    if (x->done)
        return 0;
    int64_t r = x->write ? fd_write(x->vm, x->fd, p, n) : fd_read(x->vm, x->fd, p, n);
    if (r < 0) {
        x->done = true;
        x->err = r;
        return x->total > 0 ? 0 : -1; /* what was done so far is the result */
    }
    x->total += r;
    if ((uint64_t)r < n)
        x->done = true;
    return 0;
}

/* Read or write with a physical (v2) or virtual (v1) guest buffer: bytes or -errno. */
static int64_t transfer(struct vm *vm, struct backend_vcpu *v, int32_t fd, uint64_t buf,
                        uint64_t len, bool virt, bool write)
{
    if (len > vm->mem.size)
        return -H_EFAULT; /* larger than guest RAM: cannot be a real buffer */
    struct xfer x = {vm, fd, write, false, 0, 0};
    if (len == 0) {
        static uint8_t none;
        xfer_chunk(&x, &none, 0);
        return x.err < 0 ? x.err : 0;
    }
    if (virt) {
        int rc = hc_for_each_virt_chunk(vm, v, buf, len, xfer_chunk, &x);
        if (x.total > 0)
            return x.total;
        return x.err < 0 ? x.err : rc != 0 ? -H_EFAULT : 0;
    }
    uint8_t *p = guest_mem_ptr(&vm->mem, buf, len);
    if (!p)
        return -H_EFAULT;
    xfer_chunk(&x, p, len);
    return x.err < 0 ? x.err : x.total;
}

/* Open, close, unlink: the packed v1 blocks, used by both interfaces. */
static int32_t do_open(struct vm *vm, const uint8_t *b)
{
    char path[FILEMAP_PATH_MAX];
    int32_t rc = guest_path(vm, hypercall_get_u64(b, 0), path);
    return rc ? rc : files_open(vm->files, path, hypercall_get_i32(b, 8), hypercall_get_i32(b, 12));
}

static int32_t do_unlink(struct vm *vm, const uint8_t *b)
{
    char path[FILEMAP_PATH_MAX];
    int32_t rc = guest_path(vm, hypercall_get_u64(b, 0), path);
    return rc ? rc : files_unlink(vm->files, path);
}

static int32_t do_close(struct vm *vm, int32_t fd)
{
    return fd >= 0 && fd <= 2 ? 0 : files_close(vm->files, fd); /* stdio stays open */
}

static int64_t do_lseek(struct vm *vm, int32_t fd, int64_t off, uint32_t whence)
{
    return fd >= 0 && fd <= 2 ? -H_ESPIPE : files_lseek(vm->files, fd, off, whence);
}

/* v1 blocks (packed) ---------------------------------------------------------------------- */

static enum hc_status v1_call(struct vm *vm, struct backend_vcpu *v, uint64_t addr, uint64_t d)
{
    uint8_t b[28];
    switch (addr) {
    case HC_V1_FILE_WRITE: /* {i32 fd, u64 buf (virtual), u64 len}: no result field */
        if (hypercall_block_in(vm, "FileWrite", d, b, 20)) {
            int64_t r = transfer(vm, v, hypercall_get_i32(b, 0), hypercall_get_u64(b, 4), hypercall_get_u64(b, 12), true, true);
            if (r < 0)
                log_warn("FileWrite hypercall (fd %d) failed with errno %lld; dropped",
                         hypercall_get_i32(b, 0), (long long)-r);
        }
        break;
    case HC_V1_FILE_READ: /* {i32 fd, u64 buf (virtual), u64 len, i64 ret} */
        if (hypercall_block_in(vm, "FileRead", d, b, 28)) {
            int64_t r = transfer(vm, v, hypercall_get_i32(b, 0), hypercall_get_u64(b, 4), hypercall_get_u64(b, 12), true, false);
            blk_out(vm, d, 20, &r, 8);
        }
        break;
    case HC_V1_FILE_OPEN: /* {u64 name, i32 flags, i32 mode, i32 ret} */
    case HC_V2_FILE_OPEN:
        if (hypercall_block_in(vm, "FileOpen", d, b, 20)) {
            int32_t r = do_open(vm, b);
            blk_out(vm, d, 16, &r, 4);
        }
        break;
    case HC_V1_FILE_CLOSE: /* {i32 fd, i32 ret} */
    case HC_V2_FILE_CLOSE:
        if (hypercall_block_in(vm, "FileClose", d, b, 8)) {
            int32_t r = do_close(vm, hypercall_get_i32(b, 0));
            blk_out(vm, d, 4, &r, 4);
        }
        break;
    case HC_V1_FILE_LSEEK: /* {i32 fd, i64 offset (in/out), i32 whence}; v1 reports errors as -1 */
        if (hypercall_block_in(vm, "FileLseek", d, b, 16)) {
            int64_t off;
            memcpy(&off, b + 4, 8);
            int64_t r = do_lseek(vm, hypercall_get_i32(b, 0), off, (uint32_t)hypercall_get_i32(b, 12));
            if (r < 0)
                r = -1;
            blk_out(vm, d, 4, &r, 8);
        }
        break;
    case HC_V1_FILE_UNLINK: /* {u64 name, i32 ret} */
    case HC_V2_FILE_UNLINK:
        if (hypercall_block_in(vm, "FileUnlink", d, b, 12)) {
            int32_t r = do_unlink(vm, b);
            blk_out(vm, d, 8, &r, 4);
        }
        break;
    }
    return HC_CONTINUE;
}

/* v2 blocks (natural alignment) --------------------------------------------------------------- */

/* Stores a v2 result union at `off`: the tag, then (for errors) the positive errno. */
static void v2_result(struct vm *vm, uint64_t d, size_t off, uint32_t tag, size_t errno_off,
                      int32_t err)
{
    blk_out(vm, d, off, &tag, 4);
    if (err)
        blk_out(vm, d, errno_off, &err, 4);
}

/* Getdents {i32 fd, u64 buf, u64 len, {u32 tag, pad, u64 bytes | i32 errno}}. */
static void v2_getdents(struct vm *vm, uint64_t d, const uint8_t *b)
{
    uint64_t buf = hypercall_get_u64(b, 8), len = hypercall_get_u64(b, 16), written = 0;
    uint8_t *p = len <= vm->mem.size ? guest_mem_ptr(&vm->mem, buf, len) : NULL;
    int32_t rc = p ? files_getdents(vm->files, hypercall_get_i32(b, 0), p, len, &written) : -H_EFAULT;
    if (rc == 1) {
        v2_result(vm, d, 24, GETDENTS_SUCCESS, 32, 0);
        blk_out(vm, d, 32, &written, 8);
    } else {
        v2_result(vm, d, 24, rc == 0 ? GETDENTS_END : GETDENTS_ERROR, 32, -rc);
    }
}

/* FileStat {u64 name, u32 kind, u64 attr, result} and FileFstat {i32 fd, u64 attr, result}. */
static void v2_stat(struct vm *vm, uint64_t d, const uint8_t *b, bool fstat_call)
{
    uint8_t attr[FILE_ATTR_SIZE];
    uint64_t at = hypercall_get_u64(b, fstat_call ? 8 : 16);
    size_t res = fstat_call ? 16 : 24;
    int32_t rc;
    if (fstat_call) {
        int32_t fd = hypercall_get_i32(b, 0);
        /* stdio: no host metadata for the guest (as uhyve) */
        rc = fd >= 0 && fd <= 2 ? -H_EBADF : files_fstat(vm->files, fd, attr);
    } else {
        char path[FILEMAP_PATH_MAX];
        rc = guest_path(vm, hypercall_get_u64(b, 0), path);
        if (rc == 0)
            rc = files_stat(vm->files, path, (uint32_t)hypercall_get_i32(b, 8) == 0, attr);
    }
    if (rc == 0 && guest_mem_write(&vm->mem, at, attr, sizeof(attr)) != 0)
        rc = -H_EFAULT;
    v2_result(vm, d, res, rc == 0 ? RESULT_SUCCESS : RESULT_ERROR, res + 4, -rc);
}

/* Mkdir {u64 path, u64 len (unused, as uhyve), {u32 tag, i32 errno}}. */
static void v2_mkdir(struct vm *vm, uint64_t d, const uint8_t *b)
{
    char path[FILEMAP_PATH_MAX];
    int32_t rc = guest_path(vm, hypercall_get_u64(b, 0), path);
    if (rc == 0)
        rc = files_mkdir(vm->files, path);
    v2_result(vm, d, 16, rc == 0 ? RESULT_SUCCESS : RESULT_ERROR, 20, -rc);
}

static enum hc_status v2_call(struct vm *vm, struct backend_vcpu *v, uint64_t addr, uint64_t d)
{
    uint8_t b[40];
    switch (addr) {
    case HC_V2_FILE_WRITE: /* {u64 len, i64 ret, u64 buf, i32 fd} */
    case HC_V2_FILE_READ:
        if (hypercall_block_in(vm, addr == HC_V2_FILE_WRITE ? "FileWrite" : "FileRead", d, b, 32)) {
            int64_t r = transfer(vm, v, hypercall_get_i32(b, 24), hypercall_get_u64(b, 16), hypercall_get_u64(b, 0), false,
                                 addr == HC_V2_FILE_WRITE);
            blk_out(vm, d, 8, &r, 8);
        }
        break;
    case HC_V2_FILE_LSEEK: /* {i64 offset (in/out), u32 whence, i32 fd} */
        if (hypercall_block_in(vm, "FileLseek", d, b, 16)) {
            int64_t r = do_lseek(vm, hypercall_get_i32(b, 12), (int64_t)hypercall_get_u64(b, 0),
                                 (uint32_t)hypercall_get_i32(b, 8));
            blk_out(vm, d, 0, &r, 8);
        }
        break;
    case HC_V2_GETDENTS:
        if (hypercall_block_in(vm, "Getdents", d, b, 40))
            v2_getdents(vm, d, b);
        break;
    case HC_V2_FILE_STAT:
        if (hypercall_block_in(vm, "FileStat", d, b, 32))
            v2_stat(vm, d, b, false);
        break;
    case HC_V2_FILE_FSTAT:
        if (hypercall_block_in(vm, "FileFstat", d, b, 24))
            v2_stat(vm, d, b, true);
        break;
    case HC_V2_MKDIR:
        if (hypercall_block_in(vm, "Mkdir", d, b, 24))
            v2_mkdir(vm, d, b);
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
