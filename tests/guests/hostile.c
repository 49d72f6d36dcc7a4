/*
 * hostile.c: hostile values for every hypercall chyve serves: parameter blocks outside RAM or
 * straddling its edges, buffers that overflow or leave RAM, huge lengths, bad fds, bad names,
 * bad Cmdval arrays. Checks every result field and that the last page of RAM changes only where
 * it should; prints "ok: ..." or "FAIL: ...", then "still alive". Built twice: v1 ports (legacy
 * guest; run it with one argument, "x", or "exit" to also send Exit with bad blocks, and with one
 * -e) and, with -DHOSTILE_V2, v2 addresses (UHYVEIF 3 guest). Buffers that must never reach the
 * console contain "LEAK".
 */
#include "rt.h"

#define LAST_VA 0x20000000000ull /* the last page of RAM is mapped here */
#define INT32_MIN_ (-2147483647 - 1)

enum kind { K_SERIAL, K_WRITE, K_OPEN, K_CLOSE, K_CMDSIZE, K_CMDVAL, K_EXIT, K_COUNT };
static const char *const kind_name[K_COUNT] = {
    "SerialWriteBuffer", "FileWrite", "FileOpen", "FileClose", "Cmdsize", "Cmdval", "Exit"};

static uint64_t ram_start, ram_end;
static uint8_t *last;             /* virtual view of [ram_end - 4096, ram_end) */
static uint8_t last_expect[4096]; /* what that page must contain */
static unsigned n_ok, n_fail;
static const char leak[] = "LEAK: this buffer must never reach the console\n";

#ifdef HOSTILE_V2
#define IFACE "v2"
static const uint16_t addr_of[K_COUNT] = {
    UHYVE_V2_SERIAL_BUFFER, UHYVE_V2_FILE_WRITE, UHYVE_V2_FILE_OPEN, UHYVE_V2_FILE_CLOSE, 0, 0, 0};
#else
#define IFACE "v1"
static const uint16_t addr_of[K_COUNT] = {
    UHYVE_V1_SERIAL_BUFFER, UHYVE_V1_FILE_WRITE, UHYVE_V1_FILE_OPEN, UHYVE_V1_FILE_CLOSE,
    UHYVE_V1_CMDSIZE,       UHYVE_V1_CMDVAL,     UHYVE_V1_EXIT};
#endif

/* Issues hypercall k with data (a block address); v1 can only carry 32 bits. */
static void call(enum kind k, uint64_t data)
{
#ifdef HOSTILE_V2
    hc2_raw(addr_of[k], data);
#else
    if (sizeof(hc1_data_t) < sizeof(data) && (data >> 32)) { /* x86_64 OUTs only 32 bits */
        rt_printf("FAIL: internal: v1 data 0x%lx does not fit 32 bits\n", (unsigned long)data);
        n_fail++;
        return;
    }
    hc1_raw(addr_of[k], (hc1_data_t)data);
#endif
}

static uint64_t phys(const volatile void *p)
{
    return (uintptr_t)p;
}

static uint64_t last_phys(unsigned off)
{
    return ram_end - RT_PAGE + off;
}

static __attribute__((unused)) void ok(const char *fmt, long a)
{
    rt_printf("ok: ");
    rt_printf(fmt, a);
    rt_printf("\n");
    n_ok++;
}

/* Prints ok or FAIL for a result that must be one of want1/want2. */
static void expect(const char *what, uint64_t arg, long got, long want1, long want2)
{
    if (got == want1 || got == want2) {
        rt_printf("ok: %s 0x%lx -> %ld\n", what, (unsigned long)arg, got);
        n_ok++;
    } else {
        rt_printf("FAIL: %s 0x%lx -> %ld, want %ld\n", what, (unsigned long)arg, got, want1);
        n_fail++;
    }
}

/* The last page of RAM must hold exactly last_expect. */
static void check_last(const char *after)
{
    for (unsigned i = 0; i < RT_PAGE; i++) {
        if (last[i] != last_expect[i]) {
            rt_printf("FAIL: after %s, byte at end of RAM - %u is 0x%x, want 0x%x\n", after,
                      (unsigned)(RT_PAGE - i), last[i], last_expect[i]);
            n_fail++;
            memcpy(last_expect, last, RT_PAGE);
            return;
        }
    }
    rt_printf("ok: last page of RAM intact after %s\n", after);
    n_ok++;
}

static void set_last(unsigned off, const void *src, size_t n)
{
    memcpy(last + off, src, n);
    memcpy(last_expect + off, src, n);
}

/* Parameter block addresses that are not (entirely) inside RAM. */
static int bad_blocks(uint64_t *out)
{
    int n = 0;
    out[n++] = 0xFFFFFFFFull;
    out[n++] = 0xFFFFFFF0ull;
    out[n++] = ram_end - 4;
    out[n++] = ram_end;
    if (ram_start >= 8)
        out[n++] = ram_start - 8;
#ifdef HOSTILE_V2
    out[n++] = 0xFFFFFFFFFFFFFFF8ull;
    out[n++] = 0x8000000000000000ull;
#endif
    return n;
}

/* Every call kind with a block outside RAM: must be ignored (the guest must keep running). */
static void blocks_outside_ram(void)
{
    uint64_t bad[8];
    int n = bad_blocks(bad);
    for (int k = 0; k < K_COUNT; k++) {
        if (!addr_of[k] || k == K_EXIT)
            continue;
        for (int i = 0; i < n; i++) {
            call((enum kind)k, bad[i]);
            rt_printf("ok: %s with its block at 0x%lx ignored\n", kind_name[k],
                      (unsigned long)bad[i]);
            n_ok++;
        }
    }
    check_last("blocks outside RAM");
}

/* (buffer, length) pairs that overflow, leave RAM or are absurdly long. */
struct span {
    uint64_t buf, len;
};

/* Physical buffers (SerialWriteBuffer, v2 FileWrite): the host checks them whole. */
static int bad_phys_spans(struct span *s)
{
    int n = 0;
    uint64_t lk = (uintptr_t)leak;
    s[n++] = (struct span){0xFFFFFFFFFFFFFFF0ull, 0x20};
    s[n++] = (struct span){lk, 1ull << 62};
    s[n++] = (struct span){lk, ~0ull};
    s[n++] = (struct span){lk, 1ull << 63};
    s[n++] = (struct span){lk, ram_end - lk + 1}; /* one byte past the end of RAM */
    s[n++] = (struct span){ram_end - 4, 8};
    s[n++] = (struct span){ram_end, 1};
    s[n++] = (struct span){0xFFFFFFFFull, 1};
    if (ram_start >= 8)
        s[n++] = (struct span){ram_start - 4, 8};
    return n;
}

#ifndef HOSTILE_V2
/*
 * Virtual buffers (v1 FileWrite). Those whose first byte is bad must write nothing. Those that
 * start on a good page and run off mapped RAM may, like write(2), output the good prefix first:
 * they start in the last 8 bytes of RAM, which hold "partial\n", so at most that line appears.
 */
static int bad_virt_spans(struct span *s)
{
    int n = 0;
    uint64_t tail = LAST_VA + RT_PAGE - 8;               /* the next virtual page is unmapped */
    s[n++] = (struct span){0xFFFFFFFFFFFFFFF0ull, 0x20}; /* non-canonical, wraps */
    s[n++] = (struct span){0x0000800000000000ull, 8};    /* non-canonical */
    s[n++] = (struct span){0x30000000000ull, 8};         /* unmapped */
    s[n++] = (struct span){0xFFFFFFFFull, 1};            /* unmapped (v1 RAM is below 3 GiB) */
    s[n++] = (struct span){ram_end, 1};                  /* maps (legacy) beyond RAM, or not */
    if (ram_start >= 8)
        s[n++] = (struct span){ram_start - 4, 8};
    s[n++] = (struct span){tail, 1ull << 62};
    s[n++] = (struct span){tail, ~0ull};
    s[n++] = (struct span){tail, 1ull << 63};
    s[n++] = (struct span){tail, 16};
    s[n++] = (struct span){ram_end - 8, 16}; /* identity (legacy map), past the end of RAM */
    return n;
}
#endif

static void serial_buffer_hostile(void)
{
    struct span s[16];
    int n = bad_phys_spans(s);
    static volatile uint64_t blk[2];
    for (int i = 0; i < n; i++) {
#ifdef HOSTILE_V2
        blk[0] = s[i].len;
        blk[1] = s[i].buf;
#else
        blk[0] = s[i].buf;
        blk[1] = s[i].len;
#endif
        call(K_SERIAL, phys(blk));
        rt_printf("ok: SerialWriteBuffer 0x%lx+0x%lx survived\n", (unsigned long)s[i].buf,
                  (unsigned long)s[i].len);
        n_ok++;
    }
}

static long file_write(int32_t fd, uint64_t buf, uint64_t len)
{
#ifdef HOSTILE_V2
    static volatile struct uhyve_rw_v2 b;
    b.len = len;
    b.ret = 0x5A5A5A5A;
    b.buf = buf;
    b.fd = fd;
    call(K_WRITE, phys(&b));
    return (long)b.ret;
#else
    static volatile struct uhyve_write_v1 b;
    b.fd = fd;
    b.buf = buf;
    b.len = len;
    call(K_WRITE, phys(&b));
    return 0;
#endif
}

static void file_write_hostile(void)
{
    static const int32_t fds[] = {-1, 1000, INT32_MIN_, 0, 3};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        long r = file_write(fds[i], (uintptr_t)leak, sizeof(leak) - 1);
#ifdef HOSTILE_V2
        expect("v2 FileWrite to fd", (uint64_t)(uint32_t)fds[i], r, -H_EBADF, -H_EBADF);
#else
        (void)r;
        ok("v1 FileWrite to fd %ld survived", fds[i]);
#endif
    }
    struct span s[16];
#ifdef HOSTILE_V2
    int n = bad_phys_spans(s);
    s[n++] = (struct span){0, 1};
#else
    set_last(RT_PAGE - 8, "partial\n", 8);
    int n = bad_virt_spans(s);
#endif
    for (int i = 0; i < n; i++) {
        long r = file_write(1, s[i].buf, s[i].len);
#ifdef HOSTILE_V2
        /* a length beyond INT64_MAX may be refused as invalid rather than as a bad address */
        expect("v2 FileWrite fd 1 buffer", s[i].buf, r, -H_EFAULT,
               s[i].len > (1ull << 63) - 1 ? -H_EINVAL : -H_EFAULT);
#else
        (void)r;
        rt_printf("ok: v1 FileWrite 0x%lx+0x%lx survived\n", (unsigned long)s[i].buf,
                  (unsigned long)s[i].len);
        n_ok++;
#endif
    }
#ifdef HOSTILE_V2
    static const char line1[] = "ok: v2 FileWrite to fd 1 still works\n";
    static const char line2[] = "ok: v2 FileWrite to fd 2 still works\n";
    long r = file_write(1, (uintptr_t)line1, sizeof(line1) - 1);
    expect("v2 FileWrite ret for length", sizeof(line1) - 1, r, sizeof(line1) - 1, -999);
    r = file_write(2, (uintptr_t)line2, sizeof(line2) - 1);
    expect("v2 FileWrite ret for length", sizeof(line2) - 1, r, sizeof(line2) - 1, -999);
#endif
    check_last("FileWrite");
}

/* FileOpen / FileClose use the packed v1 blocks on both interfaces. */
static long file_open_at(uint64_t block_phys, volatile struct uhyve_open *b, uint64_t name)
{
    b->name = name;
    b->flags = 0;
    b->mode = 0;
    b->ret = 0x5A5A5A5A;
    call(K_OPEN, block_phys);
    return b->ret;
}

static long file_open(uint64_t name)
{
    static volatile struct uhyve_open b;
    return file_open_at(phys(&b), &b, name);
}

static void file_open_hostile(void)
{
    static const char path[] = "/etc/hostname";
    expect("FileOpen name", (uintptr_t)path, file_open((uintptr_t)path), -H_ENOENT, -H_ENOENT);
    expect("FileOpen name", 0xFFFFFFFFFFFFFFF0ull, file_open(0xFFFFFFFFFFFFFFF0ull), -H_EFAULT,
           -H_EFAULT);
    expect("FileOpen name", 0xFFFFFFFFull, file_open(0xFFFFFFFFull), -H_EFAULT, -H_EFAULT);
    expect("FileOpen name", ram_end, file_open(ram_end), -H_EFAULT, -H_EFAULT);
#ifdef HOSTILE_V2
    expect("FileOpen name", 0, file_open(0), -H_EFAULT, -H_EFAULT);
#endif
    /* unterminated: the last 16 bytes of RAM are 'A' */
    set_last(RT_PAGE - 16, "AAAAAAAAAAAAAAAA", 16);
    expect("FileOpen unterminated name at", ram_end - 16, file_open(ram_end - 16), -H_EFAULT,
           -H_EFAULT);
    /* terminated exactly at the end of RAM is fine */
    set_last(RT_PAGE - 4, "abc", 4);
    expect("FileOpen name ending at the end of RAM", ram_end - 4, file_open(ram_end - 4), -H_ENOENT,
           -H_ENOENT);
    /* a very long (but terminated) name */
    char *longname = rt_alloc(8193, 1);
    memset(longname, 'n', 8192);
    longname[8192] = '\0';
    expect("FileOpen 8 KiB name", (uintptr_t)longname, file_open((uintptr_t)longname), -H_EFAULT,
           -36 /* ENAMETOOLONG */);
    /* a block that ends exactly at the end of RAM is valid: ret lands in its last 4 bytes */
    volatile struct uhyve_open *b = (volatile struct uhyve_open *)(last + RT_PAGE - 40);
    long r = file_open_at(last_phys(RT_PAGE - 40), b, (uintptr_t)path);
    /* the block is only 20 bytes, so it ends at end - 20: check, then one flush at the end */
    memcpy(last_expect + RT_PAGE - 40, (const void *)b, sizeof(*b));
    expect("FileOpen block near the end of RAM", last_phys(RT_PAGE - 40), r, -H_ENOENT, -H_ENOENT);
    b = (volatile struct uhyve_open *)(last + RT_PAGE - 20);
    r = file_open_at(last_phys(RT_PAGE - 20), b, (uintptr_t)path);
    memcpy(last_expect + RT_PAGE - 20, (const void *)b, sizeof(*b));
    expect("FileOpen block ending at the end of RAM", last_phys(RT_PAGE - 20), r, -H_ENOENT,
           -H_ENOENT);
    check_last("FileOpen");
}

static long file_close_at(uint64_t block_phys, volatile struct uhyve_close *b, int32_t fd)
{
    b->fd = fd;
    b->ret = 0x5A5A5A5A;
    call(K_CLOSE, block_phys);
    return b->ret;
}

static void file_close_hostile(void)
{
    static volatile struct uhyve_close b;
    static const int32_t bad[] = {-1, 1000, INT32_MIN_, 3};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect("FileClose fd", (uint64_t)(uint32_t)bad[i], file_close_at(phys(&b), &b, bad[i]),
               -H_EBADF, -H_EBADF);
    volatile struct uhyve_close *e = (volatile struct uhyve_close *)(last + RT_PAGE - 8);
    long r = file_close_at(last_phys(RT_PAGE - 8), e, -1);
    memcpy(last_expect + RT_PAGE - 8, (const void *)e, sizeof(*e));
    expect("FileClose block ending at the end of RAM", last_phys(RT_PAGE - 8), r, -H_EBADF,
           -H_EBADF);
    for (int32_t fd = 0; fd <= 2; fd++)
        expect("FileClose fd", (uint64_t)fd, file_close_at(phys(&b), &b, fd), 0, 0);
    check_last("FileClose");
}

#ifndef HOSTILE_V2
static struct uhyve_cmdsize sizes;

/* Cmdsize at the very end of RAM, and Cmdval arrays and slots pointing out of RAM. */
static bool exit_mode; /* argv[1] == "exit": also send Exit with bad blocks */

static void cmdline_hostile(void)
{
    call(K_CMDSIZE, phys(&sizes));
    if (sizes.argc < 2 || sizes.argc > 128 || sizes.envc < 1 || sizes.envc > 128) {
        rt_printf("FAIL: Cmdsize gave argc %d envc %d (run with one argument and -e)\n", sizes.argc,
                  sizes.envc);
        n_fail++;
        return;
    }
    /* a block ending exactly at the end of RAM is written in full */
    call(K_CMDSIZE, ram_end - sizeof(sizes));
    memcpy(last_expect + RT_PAGE - sizeof(sizes), &sizes, sizeof(sizes));
    check_last("Cmdsize ending at the end of RAM");

    static volatile struct uhyve_cmdval val;
    uint64_t *argv = rt_alloc(8 * 128, 8), *envp = rt_alloc(8 * 128, 8);
    /* arrays outside RAM */
    static const uint64_t bad_arrays[] = {0xFFFFFFFFFFFFFFF8ull, 0xFFFFFFFFull};
    for (unsigned i = 0; i < 2; i++) {
        val.argv = val.envp = bad_arrays[i];
        call(K_CMDVAL, phys(&val));
        ok("Cmdval with arrays at 0x%lx survived", (long)bad_arrays[i]);
    }
    val.argv = val.envp = ram_end;
    call(K_CMDVAL, phys(&val));
    ok("Cmdval with arrays at the end of RAM (0x%lx) survived", (long)ram_end);
    /* slots pointing out of RAM, or at a spot too small before the end of RAM */
    for (int i = 0; i < 128; i++) {
        argv[i] = i == 0 ? ram_end - 1 : i == 1 ? 0xFFFFFFFFFFFFFFFFull : ram_end;
        envp[i] = i == 0 ? ram_end - 2 : 0xFFFFFFFFFFFFF000ull;
    }
    val.argv = (uintptr_t)argv;
    val.envp = (uintptr_t)envp;
    call(K_CMDVAL, phys(&val));
    check_last("Cmdval with slots outside RAM");
    /* the argv array itself straddling the end of RAM: slot 0 inside, the rest outside */
    char *arg0 = rt_alloc((size_t)sizes.argsz[0], 1);
    uint64_t a0 = (uintptr_t)arg0;
    set_last(RT_PAGE - 8, &a0, 8);
    val.argv = ram_end - 8;
    val.envp = (uintptr_t)envp;
    call(K_CMDVAL, phys(&val));
    check_last("Cmdval with the argv array straddling the end of RAM");

    /* the good path still works, with argv[0]'s buffer ending exactly at the end of RAM */
    for (int i = 0; i < sizes.argc; i++)
        argv[i] = (uintptr_t)rt_alloc((size_t)sizes.argsz[i], 1);
    for (int i = 0; i < sizes.envc; i++)
        envp[i] = (uintptr_t)rt_alloc((size_t)sizes.envsz[i], 1);
    argv[0] = ram_end - (uint64_t)sizes.argsz[0];
    val.argv = (uintptr_t)argv;
    val.envp = (uintptr_t)envp;
    call(K_CMDVAL, phys(&val));
    const char *s0 = (const char *)(last + RT_PAGE - sizes.argsz[0]);
    if ((long)strlen(s0) + 1 == sizes.argsz[0]) {
        memcpy(last_expect + RT_PAGE - sizes.argsz[0], s0, (size_t)sizes.argsz[0]);
        ok("Cmdval wrote argv[0] (%ld bytes) ending at the end of RAM", sizes.argsz[0]);
    } else {
        rt_printf("FAIL: Cmdval argv[0] at the end of RAM is not a %d-byte string\n",
                  sizes.argsz[0]);
        n_fail++;
    }
    const char *a1 = (const char *)(uintptr_t)argv[1];
    if (strcmp(a1, "x") == 0 || strcmp(a1, "exit") == 0) {
        rt_printf("ok: Cmdval argv[1] is \"%s\"\n", a1);
        n_ok++;
        exit_mode = strcmp(a1, "exit") == 0;
    } else {
        rt_printf("FAIL: Cmdval argv[1] is '%s', want 'x' or 'exit'\n", a1);
        n_fail++;
    }
    check_last("Cmdval into the end of RAM");
}

/* Exit whose block is outside RAM: chyve must end the run cleanly (status 3) at the first one. */
static void exit_hostile(void)
{
    static const uint64_t bad[] = {0xFFFFFFFFull, 0xFFFFFFFDull};
    for (unsigned i = 0; i < 2; i++) {
        call(K_EXIT, bad[i]);
        ok("Exit with its block at 0x%lx ignored", (long)bad[i]);
    }
    call(K_EXIT, ram_end);
    ok("Exit with its block at the end of RAM (0x%lx) ignored", (long)ram_end);
    call(K_EXIT, ram_end - 2);
    ok("Exit with its block straddling the end of RAM (0x%lx) ignored", (long)(ram_end - 2));
}
#endif

int guest_main(void)
{
#ifdef HOSTILE_V2
    rt_v2 = true;
#endif
    ram_start = bi_u64(BI_PHYS_START);
    ram_end = bi_u64(BI_PHYS_END);
    rt_printf("hostile " IFACE ": RAM 0x%lx-0x%lx\n", (unsigned long)ram_start,
              (unsigned long)ram_end);
    if (rt_map_page(LAST_VA, ram_end - RT_PAGE) != 0) {
        rt_puts("FAIL: cannot map the last page of RAM\n");
        return 1;
    }
    last = (uint8_t *)(uintptr_t)LAST_VA;
    memset(last, 0xA5, RT_PAGE);
    memset(last_expect, 0xA5, RT_PAGE);

    blocks_outside_ram();
    serial_buffer_hostile();
    file_write_hostile();
    file_open_hostile();
    file_close_hostile();
#ifndef HOSTILE_V2
    cmdline_hostile();
    if (exit_mode)
        exit_hostile();
#endif
    check_last("everything");
    rt_printf("summary: %u ok, %u failed\n", n_ok, n_fail);
    rt_puts("still alive\n");
    return 0;
}
