/*
 * fuzz_hypercall.c: hypercall_handle() with hostile parameter blocks, buffers and page tables.
 * Input: byte 0 = number of calls (1-4); per call 1 selector byte (which row of the hypercall
 * table, or an unknown address; bit 7 = use the 64-bit data word as is, as an aarch64 guest's
 * MMIO store passes it, else its low 16 bits) and an 8-byte data word; then an 8-byte page-table
 * root; everything after that is guest RAM from address 0 (64 KiB, base 0). All little endian.
 * The guest's files: a map of a per-process temp directory at /data holding the 16-byte file "f"
 * and the directory "d", rebuilt for every input (nothing the guest made survives it); stdin is
 * /dev/null. Seeds: make_hypercall_seeds.py.
 */
#define _GNU_SOURCE /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_backend.h"
#include "fake_guest.h"
#include "files/files.h"
#include "fuzz.h"
#include "hypercall/hypercall.h"
#include "log.h"

#define GUEST_SIZE (64u << 10)
#define CALL 9 /* selector + data word */
#define HEADER (1 + 4 * CALL + 8)

/* Besides every row of the hypercall table: addresses chyve must refuse. */
static const uint64_t unknown_addrs[] = {0x1000, 0x11a0, 0x3f8};

/* Selector n: the n-th row of the table, then the unknown addresses, round robin. */
static uint64_t addr_of(unsigned n)
{
    size_t rows = hypercall_builtin.count;
    n %= (unsigned)(rows + sizeof(unknown_addrs) / sizeof(unknown_addrs[0]));
    return n < rows ? hypercall_builtin.entries[n].addr : unknown_addrs[n - rows];
}

static struct fake_guest g;
static char dir[256], spec[288];
static const char *maps[1];
static const char *args[] = {"-v", "--", "app arg"};
static const char *env[] = {"HOME=/", "A=b c"};

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    return ftw->level == 0 || remove(path) == 0 ? 0 : -1;
}

/* Removes whatever is inside the mapped directory. */
static void empty_dir(void)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* At exit: the mapped directory and whatever the guest made in it. */
static void cleanup(void)
{
    empty_dir();
    rmdir(dir);
}

/* Once per process: the guest, and a mapped directory holding a file and a subdirectory. */
static void setup(void)
{
    log_threshold = LOG_ERROR;
    /* FileRead of fd 0 reads chyve's stdin: make that an immediate end of file. */
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0)
        abort();
    close(null);
    fake_guest_init(&g, 0, GUEST_SIZE);
    if ((size_t)snprintf(dir, sizeof(dir), "%s/chyve-fuzz-hc-XXXXXX", fuzz_tmp_base()) >=
            sizeof(dir) ||
        !mkdtemp(dir))
        abort();
    atexit(cleanup);
    snprintf(spec, sizeof(spec), "%s:/data", dir);
    maps[0] = spec;
    g.cfg.file_maps = maps;
    g.cfg.nfile_maps = 1;
    g.cfg.tempdir = dir;
    g.cfg.args = args;
    g.cfg.nargs = 3;
    g.cfg.env = env;
    g.cfg.nenv = 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < HEADER)
        return 0;
    /* A known state: only "f" (16 bytes) and "d" mapped, empty console, running VM, RAM. */
    empty_dir();
    char p[sizeof(dir) + 8];
    snprintf(p, sizeof(p), "%s/d", dir);
    if (mkdir(p, 0755) != 0)
        abort();
    snprintf(p, sizeof(p), "%s/f", dir);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs("0123456789abcdef", f);
        fclose(f);
    }
    if (ftruncate(fileno(g.out), 0) != 0 || lseek(fileno(g.out), 0, SEEK_SET) != 0)
        abort();
    atomic_store(&g.vm.stopping, false);
    g.vm.failed = false;
    g.vm.exit_code = 0;
    uint8_t *ram = guest_mem_ptr(&g.vm.mem, 0, GUEST_SIZE);
    memset(ram, 0, GUEST_SIZE);
    size_t rest = size - HEADER;
    memcpy(ram, data + HEADER, rest < GUEST_SIZE ? rest : GUEST_SIZE);
    fake_pt_root = le64(data + 1 + 4 * CALL);
    if (files_create(&g.cfg, &g.vm.files) != 0)
        return 0;

    unsigned ncalls = 1 + data[0] % 4;
    for (unsigned i = 0; i < ncalls; i++) {
        const uint8_t *c = data + 1 + CALL * i;
        uint64_t addr = addr_of(c[0] & 0x7f);
        uint64_t d = le64(c + 1);
        if (!(c[0] & 0x80))
            d &= 0xffff;
        if (hypercall_handle(&g.vm, fake_vcpu, addr, d) == HC_STOP)
            break;
    }
    files_destroy(g.vm.files);
    g.vm.files = NULL;
    return 0;
}
