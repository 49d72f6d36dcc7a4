/*
 * fuzz_elf.c: elf_parse() on any bytes, then elf_load() of what it accepts into small guest RAM;
 * and the same bytes as a file, read as chyve reads a kernel file (elf_source_file(), elf_open(),
 * elf_load_file() with pread() into guest RAM), which must accept and refuse alike, with the same
 * message, and leave the same bytes in guest RAM (a difference aborts).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "guest_mem.h"
#include "loader/elf.h"
#include "log.h"

#define GUEST_SIZE (4ull << 20)

/* The file the input is written to: created once in fuzz_tmp_base() and unlinked at once. */
static int input_file(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/chyve-fuzz-elf-XXXXXX", fuzz_tmp_base());
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

/* Both paths load at `at`; their results and error messages must agree, then the bytes. */
static void load_both(const struct kernel *k, const uint8_t *data, size_t size,
                      const struct elf_file *f, struct guest_mem *mb, struct guest_mem *mf,
                      uint64_t at)
{
    char msg[512];
    int rb = elf_load(k, data, size, mb, at);
    snprintf(msg, sizeof(msg), "%s", err_msg());
    int rf = elf_load_file(f, mf, at, false);
    if (rb != rf || (rb != 0 && strcmp(msg, err_msg()) != 0))
        abort();
    /* Only the image's window is ever written; a refused load writes nothing. */
    if (rb == 0 && memcmp(guest_mem_ptr(mb, at, k->mem_size), guest_mem_ptr(mf, at, k->mem_size),
                          (size_t)k->mem_size) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct guest_mem mem, mem_file;
    static int fd = -1;
    static bool ready;
    if (!ready) {
        log_threshold = LOG_ERROR;
        fd = input_file();
        if (fd < 0 || guest_mem_init(&mem, 0, GUEST_SIZE) != 0 ||
            guest_mem_init(&mem_file, 0, GUEST_SIZE) != 0)
            return 0;
        ready = true;
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    static const uint16_t machines[] = {62, 183};
    for (size_t i = 0; i < 2; i++) {
        struct kernel k, kf;
        memset(&k, 0, sizeof(k));
        int rb = elf_parse(data, size, machines[i], &k);
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", err_msg());
        struct elf_source src;
        struct elf_file *f = NULL;
        if (elf_source_file(&src, fd, size) != 0)
            abort();
        int rf = elf_open(&src, machines[i], &kf, &f);
        if (rb != rf || (rb != 0 && strcmp(msg, err_msg()) != 0))
            abort();
        if (rb != 0)
            continue;
        if (kf.mem_size != k.mem_size || kf.first_vaddr != k.first_vaddr || kf.entry != k.entry ||
            kf.relocatable != k.relocatable)
            abort();
        /* Where vm.c would put it: the fixed address, or a 2 MiB-aligned spot for ET_DYN. */
        uint64_t at = k.relocatable ? 0x200000 : k.first_vaddr;
        load_both(&k, data, size, f, &mem, &mem_file, at);
        if (k.relocatable) /* mostly outside RAM */
            load_both(&k, data, size, f, &mem, &mem_file, GUEST_SIZE - 0x1000);
        elf_close(f);
    }
    return 0;
}
