/* kernel.c: the container's kernel found in its rootfs and checked (kernel.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "kernel.h"
#include "loader/elf.h"
#include "loader/elf_source.h"
#include "readfile.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Opens path inside the directory rootfd, never leaving it (symlinks and ".." stay inside). */
static int open_in_root(int rootfd, const char *path)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* The value of KEY in a spec's env, or NULL. */
static const char *spec_env(const struct oci_spec *s, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < s->nenv; i++)
        if (strncmp(s->env[i], key, n) == 0 && s->env[i][n] == '=')
            return s->env[i] + n + 1;
    return NULL;
}

/* Whether the first bytes of a file are a Hermit kernel (ELF64, OSABI 0xFF) or a gzip image. */
static bool is_hermit(int fd)
{
    unsigned char b[16];
    if (pread(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return false;
    if (b[0] == 0x1f && b[1] == 0x8b)
        return true; /* a Hermit image (tar.gz); chyve checks the rest */
    return memcmp(b, "\177ELF", 4) == 0 && b[4] == 2 && b[7] == 0xFF;
}

int oci_kernel_resolve(const struct oci_spec *s, char **host)
{
    const char *name = s->args[0];
    int rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_set("cannot open the rootfs %s: %s", s->root, strerror(errno));
    int fd = -1;
    char cand[8192];
    if (strchr(name, '/')) {
        snprintf(cand, sizeof(cand), "%s%s%s", name[0] == '/' ? "" : s->cwd,
                 name[0] == '/' ? "" : "/", name);
        fd = open_in_root(rootfd, cand);
    } else {
        const char *path = spec_env(s, "PATH");
        char *dirs = strdup(path ? path : DEFAULT_PATH), *save = NULL;
        for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && fd < 0;
             d = strtok_r(NULL, ":", &save)) {
            snprintf(cand, sizeof(cand), "%s/%s", d, name);
            fd = open_in_root(rootfd, cand);
        }
        free(dirs);
    }
    int e = errno;
    close(rootfd);
    if (fd < 0)
        return err_set("process.args[0] '%s' is not in the rootfs %s: %s", name, s->root,
                       strerror(e));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !is_hermit(fd)) {
        close(fd);
        return err_set("process.args[0] '%s' is not a Hermit kernel (ELF with OSABI 0xFF) or "
                       "Hermit image: chyve-oci runs only Hermit containers",
                       name);
    }
    char link[64], buf[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0 || n >= (ssize_t)sizeof(buf) - 1)
        return err_set("cannot name the kernel file %s", cand);
    buf[n] = '\0';
    if (!(*host = strdup(buf)))
        return err_set("out of memory");
    return 0;
}

/* The ELF machine of this host's guests (chyve boots kernels of its own architecture). */
#if defined(__x86_64__)
#define GUEST_ELF_MACHINE 62 /* EM_X86_64 */
#elif defined(__aarch64__)
#define GUEST_ELF_MACHINE 183 /* EM_AARCH64 */
#endif

bool oci_kernel_takes_net(const char *path)
{
    /* Only the headers and notes are read (elf_open through a file source), not the kernel. */
    int fd;
    uint64_t size;
    if (readfile_open(path, 1ull << 30, &fd, &size) != READFILE_OK)
        return true;
    struct elf_source *src = malloc(sizeof(*src)); /* 4 KiB of head: not on the stack */
    struct elf_file *f = NULL;
    struct kernel k;
    bool yes = true;
    if (src && elf_source_file(src, fd, size) == 0 &&
        !(src->head_len >= 2 && src->head[0] == 0x1f && src->head[1] == 0x8b) &&
        elf_open(src, GUEST_ELF_MACHINE, &k, &f) == 0 && k.has_version && k.version[0] == 0 &&
        (k.version[1] < 13 || (k.version[1] == 13 && k.version[2] < 2)))
        yes = false;
    elf_close(f);
    free(src);
    close(fd);
    return yes;
}
