/*
 * hc_file.c: the file hypercalls of uhyve interface v1 and v2 (ABI §6.2-6.6): parameter blocks
 * and guest buffers are decoded and checked here; the files themselves are files.c's. Guest
 * fds 0-2 are chyve's: 0 reads host stdin, 1 and 2 write to the console, closing them is a no-op.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "files/filemap.h"
#include "files/files.h"
#include "guest_virt.h"
#include "hypercall/calls.h"
#include "log.h"
#include "vm.h"

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
        /* Waits for input or the end of the run; a kick (EINTR) goes back to the guest. */
        ssize_t r = vm_read_stdin(vm, p, (size_t)n);
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
        uint64_t root;
        int rc = backend_vcpu_pt_root(v, &root);
        if (rc == 0)
            rc = guest_virt_for_each(&vm->mem, root, buf, len, xfer_chunk, &x);
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
enum hc_status hc_open(const struct hc_call *c)
{
    const struct uhyve_open *p = c->block;
    char path[FILEMAP_PATH_MAX];
    int32_t rc = guest_path(c->vm, p->name, path);
    HC_PUT(c, uhyve_open, ret, rc ? rc : files_open(c->vm->files, path, p->flags, p->mode));
    return HC_CONTINUE;
}

enum hc_status hc_close(const struct hc_call *c)
{
    const struct uhyve_close *p = c->block;
    /* stdio stays open */
    HC_PUT(c, uhyve_close, ret, p->fd >= 0 && p->fd <= 2 ? 0 : files_close(c->vm->files, p->fd));
    return HC_CONTINUE;
}

enum hc_status hc_unlink(const struct hc_call *c)
{
    const struct uhyve_unlink *p = c->block;
    char path[FILEMAP_PATH_MAX];
    int32_t rc = guest_path(c->vm, p->name, path);
    HC_PUT(c, uhyve_unlink, ret, rc ? rc : files_unlink(c->vm->files, path));
    return HC_CONTINUE;
}

static int64_t do_lseek(struct vm *vm, int32_t fd, int64_t off, uint32_t whence)
{
    return fd >= 0 && fd <= 2 ? -H_ESPIPE : files_lseek(vm->files, fd, off, whence);
}

/* v1 FileWrite has no result field: a failed write is dropped with a warning. */
enum hc_status hc_write_v1(const struct hc_call *c)
{
    const struct uhyve_write_v1 *p = c->block;
    int64_t r = transfer(c->vm, c->vcpu, p->fd, p->buf, p->len, true, true);
    if (r < 0)
        log_warn_limited("FileWrite hypercall (fd %d) failed with errno %lld; dropped", p->fd,
                         (long long)-r);
    return HC_CONTINUE;
}

enum hc_status hc_read_v1(const struct hc_call *c)
{
    const struct uhyve_read_v1 *p = c->block;
    HC_PUT(c, uhyve_read_v1, ret, transfer(c->vm, c->vcpu, p->fd, p->buf, p->len, true, false));
    return HC_CONTINUE;
}

/* v1 reports every lseek error as -1. */
enum hc_status hc_lseek_v1(const struct hc_call *c)
{
    const struct uhyve_lseek_v1 *p = c->block;
    int64_t r = do_lseek(c->vm, p->fd, p->offset, (uint32_t)p->whence);
    HC_PUT(c, uhyve_lseek_v1, offset, r < 0 ? -1 : r);
    return HC_CONTINUE;
}

/* v2 FileWrite and FileRead: one block layout, physical buffers, bytes or -errno in ret. */
static enum hc_status rw_v2(const struct hc_call *c, bool write)
{
    const struct uhyve_rw_v2 *p = c->block;
    HC_PUT(c, uhyve_rw_v2, ret, transfer(c->vm, c->vcpu, p->fd, p->buf, p->len, false, write));
    return HC_CONTINUE;
}

enum hc_status hc_write_v2(const struct hc_call *c)
{
    return rw_v2(c, true);
}

enum hc_status hc_read_v2(const struct hc_call *c)
{
    return rw_v2(c, false);
}

enum hc_status hc_lseek_v2(const struct hc_call *c)
{
    const struct uhyve_lseek_v2 *p = c->block;
    HC_PUT(c, uhyve_lseek_v2, offset, do_lseek(c->vm, p->fd, p->offset, p->whence));
    return HC_CONTINUE;
}

/* Getdents: the result union holds the bytes written, or the positive errno. */
enum hc_status hc_getdents(const struct hc_call *c)
{
    const struct uhyve_getdents *p = c->block;
    struct vm *vm = c->vm;
    uint64_t written = 0;
    uint8_t *buf = p->len <= vm->mem.size ? guest_mem_ptr(&vm->mem, p->buf, p->len) : NULL;
    int32_t rc = buf ? files_getdents(vm->files, p->fd, buf, p->len, &written) : -H_EFAULT;
    if (rc == 1) {
        HC_PUT(c, uhyve_getdents, tag, UHYVE_GETDENTS_SUCCESS);
        HC_PUT(c, uhyve_getdents, result.bytes, written);
    } else {
        HC_PUT(c, uhyve_getdents, tag, rc == 0 ? UHYVE_GETDENTS_END : UHYVE_GETDENTS_ERROR);
        if (rc != 0)
            HC_PUT(c, uhyve_getdents, result.err, -rc);
    }
    return HC_CONTINUE;
}

/* Stores a Stat/Fstat/Mkdir result at offset off of the block: the tag, and errno for errors. */
static void put_result(const struct hc_call *c, size_t off, int32_t rc)
{
    struct uhyve_result r = {rc == 0 ? UHYVE_RESULT_SUCCESS : UHYVE_RESULT_ERROR, -rc};
    hc_put(c, off + offsetof(struct uhyve_result, tag), &r.tag, sizeof(r.tag));
    if (rc != 0)
        hc_put(c, off + offsetof(struct uhyve_result, err), &r.err, sizeof(r.err));
}

/* Writes a FileAttr to the guest-physical address at: rc, or -H_EFAULT outside guest RAM. */
static int32_t put_attr(struct vm *vm, int32_t rc, uint64_t at, const uint8_t *attr)
{
    if (rc == 0 && guest_mem_write(&vm->mem, at, attr, FILE_ATTR_SIZE) != 0)
        return -H_EFAULT;
    return rc;
}

enum hc_status hc_stat(const struct hc_call *c)
{
    const struct uhyve_stat *p = c->block;
    uint8_t attr[FILE_ATTR_SIZE];
    char path[FILEMAP_PATH_MAX];
    int32_t rc = guest_path(c->vm, p->name, path);
    if (rc == 0)
        rc = files_stat(c->vm->files, path, p->kind == 0, attr);
    put_result(c, offsetof(struct uhyve_stat, result), put_attr(c->vm, rc, p->attr, attr));
    return HC_CONTINUE;
}

enum hc_status hc_fstat(const struct hc_call *c)
{
    const struct uhyve_fstat *p = c->block;
    uint8_t attr[FILE_ATTR_SIZE];
    /* stdio: no host metadata for the guest (as uhyve) */
    int32_t rc = p->fd >= 0 && p->fd <= 2 ? -H_EBADF : files_fstat(c->vm->files, p->fd, attr);
    put_result(c, offsetof(struct uhyve_fstat, result), put_attr(c->vm, rc, p->attr, attr));
    return HC_CONTINUE;
}

enum hc_status hc_mkdir(const struct hc_call *c)
{
    const struct uhyve_mkdir *p = c->block;
    char path[FILEMAP_PATH_MAX];
    int32_t rc = guest_path(c->vm, p->path, path);
    if (rc == 0)
        rc = files_mkdir(c->vm->files, path);
    put_result(c, offsetof(struct uhyve_mkdir, result), rc);
    return HC_CONTINUE;
}
