/*
 * test_elf_file.c: the loader reading a kernel file (elf_source.c, elf_open() and elf_load_file()
 * on a file): segments read straight into guest RAM land where the buffer path puts them, the
 * bss is left untouched in fresh RAM, and bad, truncated or shrinking files fail as buffers do.
 */
#define _DEFAULT_SOURCE /* mincore, mkdtemp */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elf_builder.h"
#include "err.h"
#include "guest_mem.h"
#include "le.h"
#include "loader/elf.h"

#define EM_X86 EB_EM_X86_64
#define MIB (1ull << 20)

/*
 * Writes buf[0, len) to a file in a new temporary directory and returns it open read-write (and
 * open write-only in *wronly unless that is NULL); the file and the directory are removed at
 * once, so nothing is left behind whatever the test does.
 */
static int temp_kernel(const uint8_t *buf, size_t len, int *wronly)
{
    const char *t = getenv("TMPDIR");
    char dir[256], path[300];
    snprintf(dir, sizeof(dir), "%s/chyve-test-elf-XXXXXX", t && t[0] == '/' ? t : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/kernel", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    cr_assert(fd >= 0, "cannot create %s", path);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    if (wronly) {
        *wronly = open(path, O_WRONLY | O_CLOEXEC);
        cr_assert(*wronly >= 0);
    }
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rmdir(dir), 0);
    return fd;
}

/* Opens the kernel in file fd of `size` bytes: 0, or -1 with err_msg(). */
static int open_file(int fd, uint64_t size, struct kernel *k, struct elf_file **f)
{
    struct elf_source src;
    if (elf_source_file(&src, fd, size) != 0)
        return -1;
    return elf_open(&src, EM_X86, k, f);
}

/* Maps guest RAM [base, base + size) filled with 0xAA. */
static void filled_mem(struct guest_mem *m, uint64_t base, uint64_t size)
{
    cr_assert_eq(guest_mem_init(m, base, size), 0, "%s", err_msg());
    memset(guest_mem_ptr(m, base, size), 0xAA, size);
}

/* The file path and the buffer path load s into identical guest RAM (0xAA around it). */
static void file_loads_like_buffer(const struct eb_spec *s, uint64_t base, uint64_t at)
{
    struct eb_image img;
    eb_build(s, &img);
    struct kernel kb, kf;
    cr_assert_eq(elf_parse(img.buf, img.len, EM_X86, &kb), 0, "%s", err_msg());
    int fd = temp_kernel(img.buf, img.len, NULL);
    struct elf_file *f;
    cr_assert_eq(open_file(fd, img.len, &kf, &f), 0, "%s", err_msg());
    cr_assert(kb.relocatable == kf.relocatable && kb.first_vaddr == kf.first_vaddr &&
                  kb.mem_size == kf.mem_size && kb.entry == kf.entry &&
                  kb.tls.start == kf.tls.start && kb.tls.memsz == kf.tls.memsz &&
                  kb.uhyve_if == kf.uhyve_if && kb.has_version == kf.has_version &&
                  kb.legacy_mapping == kf.legacy_mapping,
              "the file and the buffer parse differently");

    struct guest_mem mb, mf;
    filled_mem(&mb, base, 4 * MIB);
    filled_mem(&mf, base, 4 * MIB);
    cr_assert_eq(elf_load(&kb, img.buf, img.len, &mb, at), 0, "%s", err_msg());
    cr_assert_eq(elf_load_file(f, &mf, at, false), 0, "%s", err_msg());
    cr_assert_eq(
        memcmp(guest_mem_ptr(&mb, base, 4 * MIB), guest_mem_ptr(&mf, base, 4 * MIB), 4 * MIB), 0,
        "guest RAM differs between the file and the buffer path");

    /* And what is there is right: each segment's bytes at its address, bss zero. */
    const uint8_t *g = guest_mem_ptr(&mf, at, kf.mem_size);
    for (unsigned i = 0; i < s->nloads; i++) {
        const struct eb_load *l = &s->loads[i];
        uint64_t rel = l->vaddr - kf.first_vaddr;
        for (uint64_t j = 0; j < l->filesz; j++) {
            bool slot = kf.relocatable && i == 1 && j >= 0x10 && j < 0x28; /* relocated */
            if (!slot)
                cr_assert_eq(g[rel + j], eb_pattern(i, j), "segment %u byte %#llx", i,
                             (unsigned long long)j);
        }
        for (uint64_t j = l->filesz; j < l->memsz; j++)
            cr_assert_eq(g[rel + j], 0, "segment %u bss byte %#llx", i, (unsigned long long)j);
    }
    if (kf.relocatable)
        cr_assert_eq(le64_get(g + 0x2010), at + 0x1234);
    elf_close(f);
    close(fd);
    guest_mem_fini(&mb);
    guest_mem_fini(&mf);
    eb_free(&img);
}

Test(elf_file, dyn_loads_like_buffer)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_DYN); /* the RELA table lies past the head */
    file_loads_like_buffer(&s, 0x100000000ull, 0x100000000ull + 0x40000);
}

Test(elf_file, exec_loads_like_buffer)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    file_loads_like_buffer(&s, 0x600000, 0x800000);
}

Test(elf_file, small_file_read_from_the_head)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.loads[0].filesz = s.loads[0].memsz = 0x300; /* the whole file fits ELF_SOURCE_HEAD */
    s.entry = 0x100;
    file_loads_like_buffer(&s, 0, 0x200000);
}

/* Pages of [p, p + len) (page-aligned p) the host has resident. */
static size_t resident_pages(void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, count = 0;
    unsigned char *vec = malloc(n);
    cr_assert_eq(mincore(p, len, (void *)vec), 0);
    for (size_t i = 0; i < n; i++)
        count += vec[i] & 1;
    free(vec);
    return count;
}

/*
 * Into fresh RAM (ram_zero), an 8 MiB bss is not written: its pages stay unbacked (checked from
 * 4 MiB past the data bytes on, so a transparent huge page they faulted in does not count), and
 * it reads as zero. Zeroing it (ram_zero false) backs them: the check can see it.
 */
Test(elf_file, fresh_ram_bss_not_touched)
{
    struct eb_spec s;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    s.dynamic = false;
    s.nrelas = 0;
    s.tls = false;
    s.loads[1].memsz = 8 * MIB;
    struct eb_image img;
    eb_build(&s, &img);
    int fd = temp_kernel(img.buf, img.len, NULL);
    const uint64_t base = 0x40000000ull, at = base + 0x200000, size = 16 * MIB;
    for (int zero = 0; zero < 2; zero++) {
        struct kernel k;
        struct elf_file *f;
        struct guest_mem m;
        cr_assert_eq(open_file(fd, img.len, &k, &f), 0, "%s", err_msg());
        cr_assert_eq(guest_mem_init(&m, base, size), 0, "%s", err_msg());
        cr_assert_eq(elf_load_file(f, &m, at, zero == 0), 0, "%s", err_msg());
        const uint64_t quiet = base + 0x600000, quiet_len = at + k.mem_size - quiet;
        size_t resident = resident_pages(guest_mem_ptr(&m, quiet, quiet_len), quiet_len);
        if (zero == 0)
            cr_assert_eq(resident, 0, "%zu bss pages faulted in", resident);
        else
            cr_assert_gt(resident, 0, "zeroing faulted nothing in: mincore cannot tell");
        const uint8_t *g = guest_mem_ptr(&m, at, k.mem_size);
        for (uint64_t j = 0x2100; j < k.mem_size; j += 509)
            cr_assert_eq(g[j], 0, "bss byte %#llx", (unsigned long long)j);
        cr_assert_eq(g[0x2000], eb_pattern(1, 0));
        elf_close(f);
        guest_mem_fini(&m);
    }
    close(fd);
    eb_free(&img);
}

/*
 * Every proper prefix of a kernel, as a file of that size, fails with the very error the same
 * bytes in a buffer give (a truncated file, a segment or table past the end of the file).
 */
Test(elf_file, truncated_files_fail_as_buffers)
{
    for (int t = 0; t < 2; t++) {
        struct eb_spec s;
        struct eb_image img;
        eb_spec_default(&s, EM_X86, t ? EB_ET_DYN : EB_ET_EXEC);
        eb_build(&s, &img);
        int fd = temp_kernel(img.buf, img.len, NULL);
        for (size_t n = img.len; n-- > 0;) {
            cr_assert_eq(ftruncate(fd, (off_t)n), 0);
            struct kernel k;
            struct elf_file *f = NULL;
            cr_assert_eq(elf_parse(img.buf, n, EM_X86, &k), -1, "prefix %zu accepted", n);
            char want[512];
            snprintf(want, sizeof(want), "%s", err_msg());
            cr_assert_eq(open_file(fd, n, &k, &f), -1, "file of %zu bytes accepted", n);
            cr_assert_str_eq(err_msg(), want, "file of %zu bytes", n);
            cr_assert_null(f);
        }
        close(fd);
        eb_free(&img);
    }
}

/* Segments past the end of the file, and a kernel too large for guest memory: as before. */
Test(elf_file, bad_segments_and_small_memory)
{
    struct eb_spec s;
    struct eb_image img;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    eb_build(&s, &img);
    uint8_t *ph1 = eb_phdr(&img, 1);
    uint64_t off1 = le64_get(ph1 + EB_P_OFFSET);
    le64_put(ph1 + EB_P_OFFSET, img.len - 0x80); /* 0x100 bytes from 0x80 before the end */
    int fd = temp_kernel(img.buf, img.len, NULL);
    struct kernel k;
    struct elf_file *f;
    cr_assert_eq(open_file(fd, img.len, &k, &f), -1);
    char want[256];
    snprintf(want, sizeof(want),
             "kernel PT_LOAD segment 1 (0x100 bytes at offset 0x%zx) lies outside the file "
             "(%zu bytes)",
             img.len - 0x80, img.len);
    cr_assert_str_eq(err_msg(), want);
    le64_put(ph1 + EB_P_OFFSET, UINT64_MAX - 0x10);
    cr_assert_eq(pwrite(fd, img.buf, img.len, 0), (ssize_t)img.len);
    cr_assert_eq(open_file(fd, img.len, &k, &f), -1);
    cr_assert(strstr(err_msg(), "at offset 0xffffffffffffffef) lies outside the file") != NULL,
              "%s", err_msg());
    le64_put(ph1 + EB_P_OFFSET, off1);
    cr_assert_eq(pwrite(fd, img.buf, img.len, 0), (ssize_t)img.len);

    cr_assert_eq(open_file(fd, img.len, &k, &f), 0, "%s", err_msg());
    struct guest_mem m;
    filled_mem(&m, 0, 0x5000); /* the image needs 0x5070 */
    cr_assert_eq(elf_load_file(f, &m, 0, true), -1);
    cr_assert_str_eq(err_msg(), "kernel image [0x0, +0x5070) does not fit in guest memory "
                                "[0x0, 0x5000)");
    cr_assert_eq(elf_load_file(f, &m, UINT64_MAX - 0x100, true), -1);
    cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, 0, 1), 0xAA, "wrote before failing");
    guest_mem_fini(&m);
    elf_close(f);
    close(fd);
    eb_free(&img);
}

/*
 * A file cut short after it was checked (between elf_open and elf_load_file) is an error naming
 * it, not a SIGBUS and not a half-loaded kernel reported as loaded; the relocations applied are
 * the ones checked, even if the file's table changed meanwhile.
 */
Test(elf_file, file_changed_after_open)
{
    struct eb_spec s;
    struct eb_image img;
    eb_spec_default(&s, EM_X86, EB_ET_DYN);
    eb_build(&s, &img);
    int fd = temp_kernel(img.buf, img.len, NULL);
    struct kernel k;
    struct elf_file *f;
    struct guest_mem m;
    cr_assert_eq(open_file(fd, img.len, &k, &f), 0, "%s", err_msg());
    cr_assert_eq(guest_mem_init(&m, 0, 4 * MIB), 0, "%s", err_msg());
    cr_assert_eq(ftruncate(fd, (off_t)img.rela_off + 8), 0); /* into the last segment */
    cr_assert_eq(elf_load_file(f, &m, 0x200000, true), -1);
    cr_assert(strstr(err_msg(), "cannot copy kernel segment 2 to guest address 0x205000: the "
                                "kernel file ends at ") != NULL,
              "%s", err_msg());
    cr_assert(strstr(err_msg(), "changed while loading?") != NULL, "%s", err_msg());

    /* Back to full length, but relocation 0 now says R_X86_64_64 with another offset. */
    uint8_t bad[24];
    memset(bad, 0x77, sizeof(bad));
    cr_assert_eq(ftruncate(fd, 0), 0);
    cr_assert_eq(pwrite(fd, img.buf, img.len, 0), (ssize_t)img.len);
    cr_assert_eq(pwrite(fd, bad, sizeof(bad), (off_t)img.rela_off), (ssize_t)sizeof(bad));
    cr_assert_eq(elf_load_file(f, &m, 0x200000, true), 0, "%s", err_msg());
    uint64_t v;
    cr_assert_eq(guest_mem_read_le64(&m, 0x200000 + 0x2010, &v), 0);
    cr_assert_eq(v, 0x200000 + 0x1234, "the checked relocation was not the one applied");
    guest_mem_fini(&m);
    elf_close(f);
    close(fd);
    eb_free(&img);
}

/* Reads that fail: a descriptor that cannot read, a source asked for bytes outside it. */
Test(elf_file, read_errors)
{
    struct eb_spec s;
    struct eb_image img;
    eb_spec_default(&s, EM_X86, EB_ET_EXEC);
    eb_build(&s, &img);
    int wo;
    int fd = temp_kernel(img.buf, img.len, &wo);
    struct elf_source src;
    cr_assert_eq(elf_source_file(&src, wo, img.len), -1);
    cr_assert_str_eq(err_msg(), "cannot read the kernel file at offset 0x0: Bad file descriptor");
    close(wo);
    /* A file that shrank between fstat and the read of its head. */
    cr_assert_eq(ftruncate(fd, 100), 0);
    cr_assert_eq(elf_source_file(&src, fd, 200), -1);
    cr_assert_str_eq(err_msg(), "the kernel file ends at 0x64, short of the 0xc8 bytes it had "
                                "when it was checked (changed while loading?)");
    cr_assert_eq(pwrite(fd, img.buf, img.len, 0), (ssize_t)img.len);

    cr_assert_eq(elf_source_file(&src, fd, img.len), 0, "%s", err_msg());
    uint8_t b[16];
    cr_assert_eq(elf_source_read(&src, img.len - 8, b, 16), -1);
    cr_assert(strstr(err_msg(), "lies outside the file") != NULL, "%s", err_msg());
    cr_assert_eq(elf_source_read(&src, UINT64_MAX, b, 2), -1);
    cr_assert_null(elf_source_copy(&src, 8, UINT64_MAX, "table"));
    struct guest_mem m;
    cr_assert_eq(guest_mem_init(&m, 0, 2 * MIB), 0, "%s", err_msg());
    cr_assert_eq(elf_source_to_guest(&src, 0, &m, 2 * MIB - 8, 16), -1);
    cr_assert(strstr(err_msg(), "outside guest memory") != NULL, "%s", err_msg());
    cr_assert_eq(elf_source_to_guest(&src, img.len, &m, 0, 1), -1);

    /*
     * The head is read once; guest copies come from the file itself, never from that copy:
     * change the file's first bytes after the source was made.
     */
    uint8_t was = img.buf[0];
    cr_assert_eq(pwrite(fd, "Z", 1, 0), 1);
    cr_assert_eq(elf_source_read(&src, 0, b, 1), 0);
    cr_assert_eq(b[0], was);
    cr_assert_eq(elf_source_to_guest(&src, 0, &m, 0x1000, 4), 0, "%s", err_msg());
    cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, 0x1000, 1), 'Z');
    guest_mem_fini(&m);
    close(fd);
    eb_free(&img);
}
