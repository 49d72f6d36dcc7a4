/* file_abi.c: encodings of the file hypercalls: errno, open flags, whence, FileAttr, Dirent64. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "files/file_abi.h"
#include "host.h"
#include "le.h"

int32_t file_abi_errno(int host)
{
    /*
     * Hermit numbers equal Linux x86_64's, so on Linux this is the identity for everything listed;
     * other hosts number some of them differently, hence the table. uhyve maps every errno it
     * does not know to EPERM (or EIO): chyve knows all the ones a file call can produce.
     */
    static const struct {
        int host;
        int32_t hermit;
    } map[] = {
        {EPERM, 1},    {ENOENT, 2},     {EINTR, 4},         {EIO, 5},      {ENXIO, 6},
        {EBADF, 9},    {EAGAIN, 11},    {ENOMEM, 12},       {EACCES, 13},  {EFAULT, 14},
        {EBUSY, 16},   {EEXIST, 17},    {EXDEV, 18},        {ENODEV, 19},  {ENOTDIR, 20},
        {EISDIR, 21},  {EINVAL, 22},    {ENFILE, 23},       {EMFILE, 24},  {ENOTTY, 25},
        {ETXTBSY, 26}, {EFBIG, 27},     {ENOSPC, 28},       {ESPIPE, 29},  {EROFS, 30},
        {EMLINK, 31},  {EPIPE, 32},     {ENAMETOOLONG, 36}, {ENOSYS, 38},  {ENOTEMPTY, 39},
        {ELOOP, 40},   {EOVERFLOW, 75}, {EOPNOTSUPP, 95},   {ESTALE, 116}, {EDQUOT, 122},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].host == host)
            return map[i].hermit;
    return H_EIO;
}

int file_abi_open_flags(int32_t hermit, int *host)
{
    int32_t f = hermit & H_O_ALLOWED; /* O_NONBLOCK and everything unknown is dropped, as uhyve */
    if ((f & H_O_CREAT) && (f & H_O_DIRECTORY))
        return -H_EINVAL;
    int h;
    switch (f & H_O_ACCMODE) {
    case 0:
        h = O_RDONLY;
        break;
    case H_O_WRONLY:
        h = O_WRONLY;
        break;
    case H_O_RDWR:
        h = O_RDWR;
        break;
    default:
        return -H_EINVAL;
    }
    if (f & H_O_CREAT)
        h |= O_CREAT;
    if (f & H_O_EXCL)
        h |= O_EXCL;
    if (f & H_O_TRUNC)
        h |= O_TRUNC;
    if (f & H_O_APPEND)
        h |= O_APPEND;
    if (f & H_O_DIRECTORY)
        h |= O_DIRECTORY;
    *host = h;
    return 0;
}

int file_abi_whence(uint32_t hermit, int *host)
{
    switch (hermit) {
    case 0:
        *host = SEEK_SET;
        return 0;
    case 1:
        *host = SEEK_CUR;
        return 0;
    case 2:
        *host = SEEK_END;
        return 0;
    default:
        return -H_EINVAL;
    }
}

uint8_t file_abi_dtype(mode_t mode)
{
    if (S_ISDIR(mode))
        return H_DT_DIR;
    if (S_ISREG(mode))
        return H_DT_REG;
    if (S_ISLNK(mode))
        return H_DT_LNK;
    return H_DT_UNKNOWN;
}

/* Hermit st_mode: the host's type translated to Hermit's S_IF* bits, permission bits kept. */
static uint32_t hermit_mode(mode_t m)
{
    uint32_t type = 0;
    if (S_ISREG(m))
        type = 0100000;
    else if (S_ISDIR(m))
        type = 0040000;
    else if (S_ISLNK(m))
        type = 0120000;
    else if (S_ISCHR(m))
        type = 0020000;
    else if (S_ISBLK(m))
        type = 0060000;
    else if (S_ISFIFO(m))
        type = 0010000;
    else if (S_ISSOCK(m))
        type = 0140000;
    return type | ((uint32_t)m & 07777);
}

/* Timespec {i64 tv_sec, i32 tv_nsec, pad} at off. */
static void put_time(uint8_t *b, size_t off, int64_t sec, long nsec)
{
    le64_put(b + off, (uint64_t)sec);
    le32_put(b + off + 8, (uint32_t)nsec);
}

void file_abi_attr(const struct stat *st, uint8_t out[FILE_ATTR_SIZE])
{
    memset(out, 0, FILE_ATTR_SIZE);
    le64_put(out, (uint64_t)st->st_dev);
    le64_put(out + 8, (uint64_t)st->st_ino);
    le64_put(out + 16, (uint64_t)st->st_nlink);
    le32_put(out + 24, hermit_mode(st->st_mode));
    le32_put(out + 28, (uint32_t)st->st_uid);
    le32_put(out + 32, (uint32_t)st->st_gid);
    le64_put(out + 40, (uint64_t)st->st_rdev);
    le64_put(out + 48, (uint64_t)st->st_size);
    le64_put(out + 56, (uint64_t)st->st_blksize);
    le64_put(out + 64, (uint64_t)st->st_blocks);
    struct timespec t[3]; /* atime, mtime, ctime */
    host_stat_times(st, t);
    put_time(out, 72, (int64_t)t[0].tv_sec, t[0].tv_nsec);
    put_time(out, 88, (int64_t)t[1].tv_sec, t[1].tv_nsec);
    put_time(out, 104, (int64_t)t[2].tv_sec, t[2].tv_nsec);
}

void file_abi_attr_virtual(bool dir, uint64_t size, uint8_t out[FILE_ATTR_SIZE])
{
    memset(out, 0, FILE_ATTR_SIZE);
    le64_put(out + 16, dir ? 2 : 1);
    le32_put(out + 24, dir ? 0040755 : 0100444);
    if (!dir) {
        le64_put(out + 48, size);
        le64_put(out + 64, size / 512 + (size % 512 != 0));
    }
    le64_put(out + 56, 4096);
}

size_t file_abi_dirent_len(size_t name_len)
{
    return (DIRENT_HEADER + name_len + 1 + 7) & ~(size_t)7;
}

size_t file_abi_dirent(uint8_t *buf, uint64_t ino, int64_t off, uint8_t type, const char *name)
{
    size_t n = strlen(name), len = file_abi_dirent_len(n);
    memset(buf, 0, len);
    le64_put(buf, ino);
    le64_put(buf + 8, (uint64_t)off);
    le16_put(buf + 16, (uint16_t)len);
    buf[18] = type;
    memcpy(buf + DIRENT_HEADER, name, n);
    return len;
}
