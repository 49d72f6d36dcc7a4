/*
 * test_boot.c: boots chyve's own test guests (tests/guests) with the real chyve binary and
 * checks their output, exit status and chyve's diagnostics; also chyve's user errors.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

#define MIB (1ull << 20)

/* Asserts cond, showing what chyve did (shortened) when it does not hold. */
#define ASSERT_RUN(r, cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            char *m_;                                                                              \
            if (asprintf(&m_, __VA_ARGS__) < 0)                                                    \
                m_ = NULL;                                                                         \
            cr_assert_fail("%s\n--- status %d, signal %d\n--- stdout:\n%s--- stderr:\n%s",         \
                           m_ ? m_ : "", (r)->status, (r)->signal, shorten((r)->out),              \
                           shorten((r)->err));                                                     \
        }                                                                                          \
    } while (0)

/* s with non-printable bytes escaped and its middle cut if long (for failure messages). */
static char *shorten(const char *s)
{
    enum { HEAD = 6000, TAIL = 3000 };
    size_t n = strlen(s);
    char *o = malloc(4 * (HEAD + TAIL) + 64), *p = o;
    cr_assert(o);
    for (size_t i = 0; i < n; i++) {
        if (n > HEAD + TAIL && i == HEAD) {
            p += sprintf(p, "\n[... %zu bytes left out ...]\n", n - HEAD - TAIL);
            i = n - TAIL;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || (c >= 0x20 && c < 0x7F))
            *p++ = (char)c;
        else
            p += sprintf(p, "\\x%02x", c);
    }
    *p = '\0';
    return o;
}

static const char hello_l1[] = "Hello from a chyve test guest (SerialWriteBuffer)\n";
static const char hello_l2[] = "Hello byte by byte (SerialWriteByte)\n";

/* Boots with KVM (skipping without it) in the minimal test environment. */
static void boot(struct run *r, const char *const *args)
{
    require_kvm();
    run_chyve(r, args, NULL);
}

/* A clean run: the given status, exactly want on stdout, nothing on stderr. */
static void expect_clean(struct run *r, int status, const char *want)
{
    ASSERT_RUN(r, r->status == status, "exit status %d, want %d", r->status, status);
    ASSERT_RUN(r, strcmp(r->out, want) == 0, "stdout differs; want:\n%s", want);
    ASSERT_RUN(r, r->err_len == 0, "chyve printed diagnostics on stderr for a clean run");
}

/* Checks hello's "image ... ram ... cpus" line; returns the image address. */
static void parse_hello(struct run *r, uint64_t *image, uint64_t *ram_lo, uint64_t *ram_hi)
{
    ASSERT_RUN(r, r->status == 0, "hello exited with %d", r->status);
    size_t l12 = strlen(hello_l1) + strlen(hello_l2);
    ASSERT_RUN(r,
               strncmp(r->out, hello_l1, strlen(hello_l1)) == 0 &&
                   strncmp(r->out + strlen(hello_l1), hello_l2, strlen(hello_l2)) == 0,
               "the two hello lines are wrong");
    unsigned long img, lo, hi, cpus;
    int end = 0;
    int n = sscanf(r->out + l12, "image 0x%lx ram 0x%lx-0x%lx cpus %lu\n%n", &img, &lo, &hi, &cpus,
                   &end);
    ASSERT_RUN(r, n == 4 && end > 0 && r->out[l12 + (size_t)end] == '\0',
               "third line is not 'image 0x.. ram 0x..-0x.. cpus N' and the last");
    ASSERT_RUN(r, cpus == 1, "boot info says %lu cpus, want 1", cpus);
    *image = img;
    *ram_lo = lo;
    *ram_hi = hi;
}

Test(boot, hello_no_aslr)
{
    struct run r;
    char *g = guest_path("hello");
    boot(&r, (const char *[]){"--no-aslr", "-m", "32MiB", g, NULL});
    char want[256];
    snprintf(want, sizeof(want), "%s%simage 0x40000 ram 0x0-0x2000000 cpus 1\n", hello_l1,
             hello_l2);
    expect_clean(&r, 0, want);
    run_free(&r);
    free(g);
}

Test(boot, hello_aslr)
{
    struct run r;
    char *g = guest_path("hello");
    boot(&r, (const char *[]){g, NULL});
    uint64_t img, lo, hi;
    parse_hello(&r, &img, &lo, &hi);
    ASSERT_RUN(&r, img % (2 * MIB) == 0x40000, "image 0x%lx is not 2 MiB-aligned + 0x40000",
               (unsigned long)img);
    ASSERT_RUN(&r, lo == img - 0x40000, "RAM starts at 0x%lx, not 0x40000 below the image",
               (unsigned long)lo);
    ASSERT_RUN(&r, hi - lo == 64 * MIB, "RAM is 0x%lx bytes, want the default 64 MiB",
               (unsigned long)(hi - lo));
    ASSERT_RUN(&r, hi <= 0xC0000000ull, "v1 RAM must end below 3 GiB, ends at 0x%lx",
               (unsigned long)hi);
    ASSERT_RUN(&r, r.err_len == 0, "stderr not empty");
    run_free(&r);
    free(g);
}

Test(boot, hello_exec_at_fixed_address)
{
    struct run r;
    char *g = guest_path("hello_exec");
    boot(&r, (const char *[]){g, NULL});
    char want[256];
    snprintf(want, sizeof(want), "%s%simage 0x200000 ram 0x0-0x4000000 cpus 1\n", hello_l1,
             hello_l2);
    ASSERT_RUN(&r, r.status == 0 && strcmp(r.out, want) == 0, "want status 0 and:\n%s", want);
    run_free(&r);
    free(g);
}

/* exitcode with its first application argument `arg` must make chyve exit with `status`. */
static void check_exit_code(const char *arg, int status)
{
    struct run r;
    char *g = guest_path("exitcode");
    boot(&r, (const char *[]){g, "--", "--", arg, NULL});
    char want[64];
    snprintf(want, sizeof(want), "exiting with %s\n", arg);
    expect_clean(&r, status, want);
    run_free(&r);
    free(g);
}

Test(exit_code, zero)
{
    check_exit_code("0", 0);
}
Test(exit_code, one)
{
    check_exit_code("1", 1);
}
Test(exit_code, max)
{
    check_exit_code("255", 255);
}
Test(exit_code, minus_one)
{
    check_exit_code("-1", 255);
}
Test(exit_code, minus_two)
{
    check_exit_code("-2", 254);
}
Test(exit_code, wraps_at_256)
{
    check_exit_code("256", 0);
}
Test(exit_code, thousand)
{
    check_exit_code("1000", 232);
}

Test(args, fdt_args_and_env)
{
    struct run r;
    char *g = guest_path("args_fdt");
    boot(&r, (const char *[]){"-e", "FOO=bar", "-e", "X=y z", g, "a", "b c", "--", "--", "d", "e",
                              NULL});
    /* kernel arguments are not quoted in bootargs, so "b c" reaches the kernel as two words */
    expect_clean(&r, 0,
                 "bootargs=a b c env=FOO=bar env=X='y z' -- d e\n"
                 "karg[0]=a\nkarg[1]=b\nkarg[2]=c\n"
                 "argc=3\narg[0]=args_fdt\narg[1]=d\narg[2]=e\n"
                 "envc=2\nenv FOO=bar\nenv X=y z\n");
    run_free(&r);
    free(g);
}

Test(args, v1_args_and_env)
{
    struct run r;
    char *g = guest_path("args_v1");
    boot(&r, (const char *[]){"-e", "FOO=bar", "-e", "X=y z", g, "a", "b c", "--", "--", "d", "e",
                              NULL});
    char want[1024];
    snprintf(want, sizeof(want),
             "argc=6\narg[0]=%s\narg[1]=a\narg[2]=b c\narg[3]=--\narg[4]=d\narg[5]=e\n"
             "envc=2\nenv FOO=bar\nenv X=y z\n",
             g);
    expect_clean(&r, 0, want);
    run_free(&r);
    free(g);
}

/* Application arguments and env values with shell-special characters survive the round trip. */
Test(args, fdt_quoting_round_trip)
{
    struct run r;
    char *g = guest_path("args_fdt");
    boot(&r, (const char *[]){"-e", "Q=it's $HOME", "-e", "E=", g, "--", "--", "d x", "it's", "",
                              "$HOME", "a\"b\\c", "#x", NULL});
    ASSERT_RUN(&r, r.status == 0, "status");
    const char *nl = strchr(r.out, '\n');
    ASSERT_RUN(&r, strncmp(r.out, "bootargs=", 9) == 0 && nl, "no bootargs line");
    const char *want = "argc=7\narg[0]=args_fdt\narg[1]=d x\narg[2]=it's\narg[3]=\n"
                       "arg[4]=$HOME\narg[5]=a\"b\\c\narg[6]=#x\n"
                       "envc=2\nenv Q=it's $HOME\nenv E=\n";
    ASSERT_RUN(&r, strcmp(nl + 1, want) == 0, "lines after bootargs differ; want:\n%s", want);
    run_free(&r);
    free(g);
}

static const char *const marker_env[] = {"CHYVE_TEST_MARKER=marker value 42", "PATH=/usr/bin:/bin",
                                         NULL};

/* Without -e the guest's environment is empty, as with uhyve (FDT). */
Test(args, fdt_default_env_is_empty)
{
    struct run r;
    char *g = guest_path("args_fdt");
    require_kvm();
    run_chyve(&r, (const char *[]){g, NULL}, marker_env);
    expect_clean(&r, 0, "bootargs=\nargc=1\narg[0]=args_fdt\nenvc=0\n");
    run_free(&r);
    free(g);
}

/* -e host gives the guest chyve's whole environment (FDT). */
Test(args, fdt_env_host)
{
    struct run r;
    char *g = guest_path("args_fdt");
    require_kvm();
    run_chyve(&r, (const char *[]){"-e", "host", g, NULL}, marker_env);
    const char *nl = strchr(r.out, '\n');
    ASSERT_RUN(&r, r.status == 0 && nl, "status or output");
    const char *want = "argc=1\narg[0]=args_fdt\nenvc=2\n"
                       "env CHYVE_TEST_MARKER=marker value 42\nenv PATH=/usr/bin:/bin\n";
    ASSERT_RUN(&r, strcmp(nl + 1, want) == 0, "lines after bootargs differ; want:\n%s", want);
    run_free(&r);
    free(g);
}

/* Without -e the guest's environment is empty; -e host gives all of chyve's (Cmdsize/Cmdval). */
Test(args, v1_default_env_is_empty_and_env_host)
{
    struct run r;
    char *g = guest_path("args_v1");
    require_kvm();
    run_chyve(&r, (const char *[]){g, NULL}, marker_env);
    char want[1024];
    snprintf(want, sizeof(want), "argc=1\narg[0]=%s\nenvc=0\n", g);
    expect_clean(&r, 0, want);
    run_free(&r);
    run_chyve(&r, (const char *[]){"--env-vars", "host", g, NULL}, marker_env);
    snprintf(want, sizeof(want),
             "argc=1\narg[0]=%s\nenvc=2\nenv CHYVE_TEST_MARKER=marker value 42\n"
             "env PATH=/usr/bin:/bin\n",
             g);
    expect_clean(&r, 0, want);
    run_free(&r);
    free(g);
}

Test(boot, v2_interface)
{
    struct run r;
    char *g = guest_path("v2");
    boot(&r, (const char *[]){g, "--", "--", "7", NULL});
    expect_clean(&r, 7,
                 "v2: hello via SerialWriteBuffer\n"
                 "v2: hello via SerialWriteByte\n"
                 "v2: hello via FileWrite\n"
                 "v2: FileWrite ret=24\n"
                 "v2: FileWrite to fd 7 ret=-9\n"
                 "v2: serial port in boot info 0x1030\n"
                 "v2: RAM above 4 GiB: yes\n"
                 "v2: exiting with 7\n");
    run_free(&r);
    free(g);
}

Test(boot, smp_four_cpus)
{
    struct run r;
    char *g = guest_path("smp");
    boot(&r, (const char *[]){"-c", "4", g, NULL});
    ASSERT_RUN(&r, r.status == 0, "status");
    for (int i = 0; i < 4; i++) {
        char line[32];
        snprintf(line, sizeof(line), "cpu %d online\n", i);
        const char *p = strstr(r.out, line);
        ASSERT_RUN(&r, p && (p == r.out || p[-1] == '\n') && !strstr(p + 1, line),
                   "want exactly one line '%.*s'", (int)strlen(line) - 1, line);
    }
    const char *last = "all 4 cpus online\n";
    size_t n = strlen(last);
    ASSERT_RUN(&r, r.out_len >= n && strcmp(r.out + r.out_len - n, last) == 0,
               "last line is not 'all 4 cpus online'");
    ASSERT_RUN(&r, count_lines(r.out) == 5, "want 5 lines");
    ASSERT_RUN(&r, r.err_len == 0, "stderr not empty");
    run_free(&r);
    free(g);
}

Test(boot, filewrite_virtual_buffer_across_pages)
{
    struct run r;
    char *g = guest_path("filewrite_virt");
    boot(&r, (const char *[]){g, NULL});
    const char *msg = "filewrite_virt: this line straddles two virtual pages whose physical "
                      "pages are not adjacent\n";
    char want[512];
    snprintf(want, sizeof(want),
             "writing %zu bytes from virtual 0x20000000fec\n%s"
             "filewrite_virt: fd 2 goes to the console too\n",
             strlen(msg), msg);
    expect_clean(&r, 0, want);
    run_free(&r);
    free(g);
}

/*
 * A hostile guest must survive, find every error code it expects, and never leak buffers; its
 * only other output is "ok: ..." lines, its header and summary, and "partial" lines (v1 writes
 * that run off mapped memory may print the good prefix, which is that line).
 */
static void check_hostile(const char *const *args)
{
    struct run r;
    boot(&r, args);
    ASSERT_RUN(&r, !memmem(r.out, r.out_len, "FAIL", 4), "the guest reported FAIL lines");
    ASSERT_RUN(&r, !memmem(r.out, r.out_len, "LEAK", 4), "a rejected buffer reached the console");
    ASSERT_RUN(&r, strlen(r.out) == r.out_len, "NUL bytes reached the console");
    for (const char *l = r.out; *l; l = strchr(l, '\n') + 1) {
        const char *nl = strchr(l, '\n');
        ASSERT_RUN(&r, nl, "output does not end with a newline");
        ASSERT_RUN(&r,
                   !strncmp(l, "ok: ", 4) || !strncmp(l, "hostile v", 9) ||
                       !strncmp(l, "summary: ", 9) || !strncmp(l, "partial\n", 8) ||
                       !strncmp(l, "still alive\n", 12),
                   "unexpected output line '%.*s'", (int)(nl - l), l);
    }
    ASSERT_RUN(&r, r.status == 0, "exit status %d, want 0", r.status);
    size_t n = strlen("still alive\n");
    ASSERT_RUN(&r, r.out_len >= n && strcmp(r.out + r.out_len - n, "still alive\n") == 0,
               "the guest did not finish with 'still alive'");
    run_free(&r);
}

Test(hostile, v1_aslr)
{
    char *g = guest_path("hostile");
    check_hostile((const char *[]){"-e", "A=B", g, "x", NULL});
    free(g);
}

Test(hostile, v1_no_aslr)
{
    char *g = guest_path("hostile");
    check_hostile((const char *[]){"--no-aslr", "-e", "A=B", g, "x", NULL});
    free(g);
}

/*
 * Exit with its block outside RAM: the guest asked to stop but its code cannot be read, so chyve
 * ends the run as a VM failure (status 3) naming the block, after everything before it went fine.
 */
Test(hostile, v1_exit_with_block_outside_ram)
{
    struct run r;
    char *g = guest_path("hostile");
    boot(&r, (const char *[]){"-e", "A=B", g, "exit", NULL});
    ASSERT_RUN(&r, r.status == 3, "exit status %d, want 3 (VM failure)", r.status);
    ASSERT_RUN(&r, strstr(r.out, "FAIL") == NULL, "a hostile check failed");
    ASSERT_RUN(&r,
               strstr(r.err, "chyve: error: guest Exit hypercall has its parameter block at "
                             "0xffffffff, outside guest memory\n") != NULL,
               "stderr does not name the unreadable Exit block");
    run_free(&r);
    free(g);
}

Test(hostile, v2)
{
    char *g = guest_path("hostile_v2");
    check_hostile((const char *[]){g, NULL});
    free(g);
}

/* Lines of s that start with prefix. */
static size_t lines_starting(const char *s, const char *prefix)
{
    size_t n = 0;
    for (const char *l = s; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        n += strncmp(l, prefix, strlen(prefix)) == 0;
    return n;
}

/* The N of "chyve: warning: N similar warnings suppressed (first: <kind>..." in s, or 0. */
static unsigned long suppressed_count(const char *s, const char *kind)
{
    static const char head[] = "chyve: warning: ";
    for (const char *l = strstr(s, head); l; l = strstr(l + 1, head)) {
        unsigned long n;
        int at = 0;
        if (sscanf(l + strlen(head), "%lu similar warnings suppressed (first: %n", &n, &at) == 1 &&
            at > 0 && !strncmp(l + strlen(head) + at, kind, strlen(kind)))
            return n;
    }
    return 0;
}

/*
 * 20 000 + 3 000 bad SerialWriteBuffer calls (issue 12: one warning line each flooded stderr):
 * a few warnings of each kind, then one summary per kind whose count makes up the rest.
 */
Test(hostile, warning_flood_is_rate_limited)
{
    static const char blk[] = "SerialWriteBuffer hypercall: parameter block at 0xfffff000";
    static const char buf[] = "SerialWriteBuffer hypercall: buffer 0xfff";
    struct run r;
    char *g = guest_path("warnflood");
    boot(&r, (const char *[]){g, NULL});
    ASSERT_RUN(&r, r.status == 0, "exit status %d, want 0", r.status);
    ASSERT_RUN(&r,
               !strcmp(r.out, "warnflood: 20000 bad blocks, 3000 bad buffers\nwarnflood: done\n"),
               "stdout differs");
    ASSERT_RUN(&r, count_lines(r.err) < 30, "%zu lines on stderr, want fewer than 30",
               count_lines(r.err));
    char want[128];
    snprintf(want, sizeof(want), "chyve: warning: %s", blk);
    size_t printed_blk = lines_starting(r.err, want);
    snprintf(want, sizeof(want), "chyve: warning: %s", buf);
    size_t printed_buf = lines_starting(r.err, want);
    ASSERT_RUN(&r, printed_blk >= 10 && printed_buf >= 10, "want the first 10 of each kind");
    unsigned long sup_blk = suppressed_count(r.err, blk), sup_buf = suppressed_count(r.err, buf);
    ASSERT_RUN(&r, printed_blk + sup_blk == 20000, "%zu printed + %lu suppressed bad blocks",
               printed_blk, sup_blk);
    ASSERT_RUN(&r, printed_buf + sup_buf == 3000, "%zu printed + %lu suppressed bad buffers",
               printed_buf, sup_buf);
    ASSERT_RUN(&r, count_lines(r.err) == printed_blk + printed_buf + 2,
               "stderr has lines besides the warnings and the two summaries");
    run_free(&r);
    free(g);
}

/* A VM failure: status 3, stdout as given, one line on stderr containing `needle`. */
static void check_vm_failure(const char *guest, const char *want_out, const char *needle)
{
    struct run r;
    char *g = guest_path(guest);
    boot(&r, (const char *[]){g, NULL});
    ASSERT_RUN(&r, r.status == 3, "exit status %d, want 3 (VM failure)", r.status);
    ASSERT_RUN(&r, strcmp(r.out, want_out) == 0, "stdout differs; want:\n%s", want_out);
    ASSERT_RUN(&r, count_lines(r.err) == 1, "want exactly one line on stderr");
    ASSERT_RUN(&r, contains_ci(r.err, needle), "stderr does not mention '%s'", needle);
    run_free(&r);
    free(g);
}

Test(failure, unknown_port)
{
    check_vm_failure("badport", "writing to port 0x9990\n", "9990");
}

Test(failure, triple_fault)
{
    check_vm_failure("triplefault", "loading an empty IDT and executing ud2\n", "triple fault");
}

Test(boot, xsave_xrstor)
{
    struct run r;
    char *g = guest_path("xsave");
    boot(&r, (const char *[]){g, NULL});
    expect_clean(&r, 0, "xsave ok\nxsave read-only #PF ok\nxsave read-only WP=0 ok\n");
    run_free(&r);
    free(g);
}

/* An XSAVE on one vCPU loses none of the increments another makes to bytes XSAVE never writes. */
Test(boot, xsave_keeps_untouched_bytes, .timeout = 120)
{
    struct run r;
    char *g = guest_path("xsave_race");
    boot(&r, (const char *[]){"-c", "2", g, NULL});
    expect_clean(&r, 0, "xsave race ok (30000 saves)\n");
    run_free(&r);
    free(g);
}

Test(boot, bench_hypercalls)
{
    struct run r;
    char *g = guest_path("bench_hypercalls");
    boot(&r, (const char *[]){g, NULL});
    char *want = malloc(20002);
    cr_assert(want);
    memset(want, '.', 20000);
    want[20000] = '\n';
    want[20001] = '\0';
    ASSERT_RUN(&r, r.status == 0 && strcmp(r.out, want) == 0 && r.err_len == 0,
               "want 20000 dots and a newline, status 0 (got %zu bytes)", r.out_len);
    free(want);
    run_free(&r);
    free(g);
}

/*
 * The PIC and IOAPIC programming of Hermit kernels from 0.13.2 on (hermit-abi.md §12) finds the
 * same 24-pin, version 0x11 IOAPIC in chyve (split irqchip, the default) as in KVM (--pit keeps
 * KVM's full irqchip), and the PIC ports are accepted in both.
 */
static void ioapic_boot(const char *opt)
{
    struct run r;
    char *g = guest_path("ioapic");
    boot(&r, opt ? (const char *[]){opt, g, NULL} : (const char *[]){g, NULL});
    expect_clean(&r, 0, "ioapic: version 0x170011 pins 24\nioapic: 24 entries programmed\n");
    run_free(&r);
    free(g);
}

Test(boot, ioapic_split_irqchip)
{
    ioapic_boot(NULL);
}

Test(boot, ioapic_full_irqchip_with_pit)
{
    ioapic_boot("--pit");
}

/* The bundled example guest boots, shows its arguments and exits 0. */
Test(boot, example_hello)
{
    const char *ex = getenv("EXAMPLE_HELLO");
    if (!ex || access(ex, R_OK) != 0)
        cr_skip_test("the example guest is not built (EXAMPLE_HELLO unset or missing)");
    struct run r;
    boot(&r, (const char *[]){"--no-aslr", "-e", "A=1", "-e", "B=22", ex, "--", "--", "one",
                              "two words", NULL});
    expect_clean(&r, 0,
                 "Hello from chyve! I am a tiny guest speaking the Hermit boot ABI.\n"
                 "I run on 1 CPU(s) with 64 MiB of RAM at 0x0.\n"
                 "argument 1: one\nargument 2: two words\n"
                 "My environment has 2 variable(s), 9 bytes.\nGoodbye.\n");
    run_free(&r);
}
