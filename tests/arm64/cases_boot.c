/*
 * cases_boot.c: the arm64 driver's boot cases, one for each x86_64 case in
 * tests/integration/test_boot.c that applies (with aarch64 addresses), plus aarch64 faults.
 * A case is a function that runs chyve once (tests/integration/run.c) and returns whether the
 * run was right; CHECK says why not, and the failure report shows what chyve printed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

#define MIB (1ull << 20)
#define V1_RAM 0x10000000ull /* aarch64 interface-v1 RAM start (ABI §3.2) */

static char why[1024]; /* why the current case failed */

/* Records why the current case fails and makes it return false. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(why, sizeof(why), __VA_ARGS__);                                               \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

static void report(const struct run *r);

/* Test(suite, name) around a case `static bool case(struct run *r)` that follows it. */
#define CASE(sname, tname)                                                                         \
    static bool case_##sname##_##tname(struct run *r);                                             \
    Test(sname, tname)                                                                             \
    {                                                                                              \
        struct run r = {.status = -1};                                                             \
        if (!case_##sname##_##tname(&r))                                                           \
            report(&r);                                                                            \
        run_free(&r);                                                                              \
    }                                                                                              \
    static bool case_##sname##_##tname(struct run *r)

/* Writes s to f, non-printable bytes escaped, cut after `max` bytes. */
static void show(FILE *f, const char *label, const char *s, size_t max)
{
    fprintf(f, "--- %s:\n", label);
    if (s == NULL) {
        fprintf(f, "(chyve did not run)\n");
        return;
    }
    size_t n = strlen(s);
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || (c >= 0x20 && c < 0x7F))
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
    if (n > max)
        fprintf(f, "\n[... %zu more bytes]\n", n - max);
    else if (n == 0 || s[n - 1] != '\n')
        fprintf(f, "\n");
}

/* Fails the test with why, the exit status and what chyve printed. */
static void report(const struct run *r)
{
    char *m = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&m, &len);
    cr_assert_not_null(f);
    fprintf(f, "%s\n--- status %d\n", why, r->status);
    show(f, "stdout", r->out, 3000);
    show(f, "stderr", r->err, 3000);
    fclose(f);
    cr_assert_fail("%s", m);
}

/* The path of guest `name` in $GUEST_DIR (one of a few rotating static buffers). */
static const char *guest(const char *name)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", getenv("GUEST_DIR"), name);
    return p;
}

/* A clean run: the given status, exactly want on stdout, nothing on stderr. */
static bool clean(const struct run *r, int status, const char *want)
{
    CHECK(r->status == status, "exit status %d, want %d", r->status, status);
    CHECK(strcmp(r->out, want) == 0, "stdout differs; want:\n%s", want);
    CHECK(r->err_len == 0, "chyve printed diagnostics on stderr for a clean run");
    return true;
}

/* A VM failure: status 3, stdout as given, one stderr line containing needle. */
static bool vm_failure(const struct run *r, const char *want_out, const char *needle)
{
    CHECK(r->status == 3, "exit status %d, want 3 (VM failure)", r->status);
    CHECK(strcmp(r->out, want_out) == 0, "stdout differs; want:\n%s", want_out);
    CHECK(count_lines(r->err) == 1, "want exactly one line on stderr");
    CHECK(contains_ci(r->err, needle), "stderr does not mention '%s'", needle);
    return true;
}

static const char hello_l1[] = "Hello from a chyve test guest (SerialWriteBuffer)\n";
static const char hello_l2[] = "Hello byte by byte (SerialWriteByte)\n";

CASE(boot, hello_no_aslr)
{
    run_chyve(r, (const char *[]){"--no-aslr", "-m", "32MiB", guest("hello"), NULL}, NULL);
    char want[256];
    snprintf(want, sizeof(want), "%s%simage 0x10040000 ram 0x10000000-0x12000000 cpus 1\n",
             hello_l1, hello_l2);
    return clean(r, 0, want);
}

CASE(boot, hello_aslr)
{
    run_chyve(r, (const char *[]){guest("hello"), NULL}, NULL);
    CHECK(r->status == 0 && r->err_len == 0, "status %d or stderr not empty", r->status);
    size_t l12 = strlen(hello_l1) + strlen(hello_l2);
    CHECK(r->out_len > l12 && strncmp(r->out, hello_l1, strlen(hello_l1)) == 0 &&
              strncmp(r->out + strlen(hello_l1), hello_l2, strlen(hello_l2)) == 0,
          "the two hello lines are wrong");
    unsigned long img, lo, hi, cpus;
    int end = 0;
    int n = sscanf(r->out + l12, "image 0x%lx ram 0x%lx-0x%lx cpus %lu\n%n", &img, &lo, &hi, &cpus,
                   &end);
    CHECK(n == 4 && end > 0 && r->out[l12 + (size_t)end] == '\0', "bad third line");
    CHECK(cpus == 1 && img % (2 * MIB) == 0x40000 && lo == img - 0x40000,
          "image 0x%lx / RAM 0x%lx not 2 MiB aligned + 0x40000", img, lo);
    CHECK(hi - lo == 64 * MIB, "RAM is 0x%lx bytes, want 64 MiB", hi - lo);
    CHECK(lo >= V1_RAM && hi <= 0x100000000ull, "v1 RAM 0x%lx-0x%lx not below 4 GiB", lo, hi);
    return true;
}

CASE(boot, hello_exec_at_fixed_address)
{
    run_chyve(r, (const char *[]){guest("hello_exec"), NULL}, NULL);
    char want[256];
    snprintf(want, sizeof(want), "%s%simage 0x10200000 ram 0x10000000-0x14000000 cpus 1\n",
             hello_l1, hello_l2);
    return clean(r, 0, want);
}

/* exitcode with `arg` must end with `status`. */
static bool check_exit(struct run *r, const char *arg, int status)
{
    run_chyve(r, (const char *[]){guest("exitcode"), "--", "--", arg, NULL}, NULL);
    char want[64];
    snprintf(want, sizeof(want), "exiting with %s\n", arg);
    return clean(r, status, want);
}

CASE(exit_code, zero)
{
    return check_exit(r, "0", 0);
}
CASE(exit_code, one)
{
    return check_exit(r, "1", 1);
}
CASE(exit_code, max)
{
    return check_exit(r, "255", 255);
}
CASE(exit_code, minus_one)
{
    return check_exit(r, "-1", 255);
}
CASE(exit_code, minus_two)
{
    return check_exit(r, "-2", 254);
}
CASE(exit_code, wraps_at_256)
{
    return check_exit(r, "256", 0);
}
CASE(exit_code, thousand)
{
    return check_exit(r, "1000", 232);
}

CASE(args, fdt_args_and_env)
{
    run_chyve(r,
              (const char *[]){"-e", "FOO=bar", "-e", "X=y z", guest("args_fdt"), "a", "b c", "--",
                               "--", "d", "e", NULL},
              NULL);
    return clean(r, 0,
                 "bootargs=a b c env=FOO=bar env=X='y z' -- d e\n"
                 "karg[0]=a\nkarg[1]=b\nkarg[2]=c\n"
                 "argc=3\narg[0]=args_fdt\narg[1]=d\narg[2]=e\n"
                 "envc=2\nenv FOO=bar\nenv X=y z\n");
}

CASE(args, fdt_quoting_round_trip)
{
    run_chyve(r,
              (const char *[]){"-e", "Q=it's $HOME", "-e", "E=", guest("args_fdt"), "--", "--",
                               "d x", "it's", "", "$HOME", "a\"b\\c", "#x", NULL},
              NULL);
    const char *nl = strchr(r->out, '\n');
    CHECK(r->status == 0 && nl && strncmp(r->out, "bootargs=", 9) == 0, "status or output");
    const char *want = "argc=7\narg[0]=args_fdt\narg[1]=d x\narg[2]=it's\narg[3]=\n"
                       "arg[4]=$HOME\narg[5]=a\"b\\c\narg[6]=#x\n"
                       "envc=2\nenv Q=it's $HOME\nenv E=\n";
    CHECK(strcmp(nl + 1, want) == 0, "lines after bootargs differ; want:\n%s", want);
    return true;
}

static const char *const marker_env[] = {"CHYVE_TEST_MARKER=marker value 42", "PATH=/usr/bin:/bin",
                                         NULL};

CASE(args, fdt_default_env_is_empty)
{
    run_chyve(r, (const char *[]){guest("args_fdt"), NULL}, marker_env);
    return clean(r, 0, "bootargs=\nargc=1\narg[0]=args_fdt\nenvc=0\n");
}

CASE(args, fdt_env_host)
{
    run_chyve(r, (const char *[]){"-e", "host", guest("args_fdt"), NULL}, marker_env);
    const char *nl = strchr(r->out, '\n');
    CHECK(r->status == 0 && nl, "status or output");
    const char *want = "argc=1\narg[0]=args_fdt\nenvc=2\n"
                       "env CHYVE_TEST_MARKER=marker value 42\nenv PATH=/usr/bin:/bin\n";
    CHECK(strcmp(nl + 1, want) == 0, "lines after bootargs differ; want:\n%s", want);
    return true;
}

CASE(args, v1_args_and_env)
{
    const char *g = guest("args_v1");
    run_chyve(
        r,
        (const char *[]){"-e", "FOO=bar", "-e", "X=y z", g, "a", "b c", "--", "--", "d", "e", NULL},
        NULL);
    char want[1024];
    snprintf(want, sizeof(want),
             "argc=6\narg[0]=%s\narg[1]=a\narg[2]=b c\narg[3]=--\narg[4]=d\narg[5]=e\n"
             "envc=2\nenv FOO=bar\nenv X=y z\n",
             g);
    return clean(r, 0, want);
}

CASE(args, v1_default_env_is_empty_and_env_host)
{
    const char *g = guest("args_v1");
    run_chyve(r, (const char *[]){g, NULL}, marker_env);
    char want[1024];
    snprintf(want, sizeof(want), "argc=1\narg[0]=%s\nenvc=0\n", g);
    if (!clean(r, 0, want))
        return false;
    run_free(r);
    *r = (struct run){.status = -1};
    run_chyve(r, (const char *[]){"--env-vars", "host", g, NULL}, marker_env);
    snprintf(want, sizeof(want),
             "argc=1\narg[0]=%s\nenvc=2\nenv CHYVE_TEST_MARKER=marker value 42\n"
             "env PATH=/usr/bin:/bin\n",
             g);
    return clean(r, 0, want);
}

CASE(boot, v2_interface)
{
    run_chyve(r, (const char *[]){guest("v2"), "--", "--", "7", NULL}, NULL);
    return clean(r, 7,
                 "v2: hello via SerialWriteBuffer\n"
                 "v2: hello via SerialWriteByte\n"
                 "v2: hello via FileWrite\n"
                 "v2: FileWrite ret=24\n"
                 "v2: FileWrite to fd 7 ret=-9\n"
                 "v2: serial port in boot info 0x1030\n"
                 "v2: RAM above 4 GiB: yes\n"
                 "v2: exiting with 7\n");
}

CASE(boot, smp_four_cpus)
{
    run_chyve(r, (const char *[]){"-c", "4", guest("smp"), NULL}, NULL);
    CHECK(r->status == 0 && r->err_len == 0, "status %d or stderr not empty", r->status);
    for (int i = 0; i < 4; i++) {
        char line[32];
        snprintf(line, sizeof(line), "cpu %d online\n", i);
        const char *p = strstr(r->out, line);
        CHECK(p && (p == r->out || p[-1] == '\n') && !strstr(p + 1, line),
              "want exactly one line 'cpu %d online'", i);
    }
    const char *last = "all 4 cpus online\n";
    size_t n = strlen(last);
    CHECK(r->out_len >= n && strcmp(r->out + r->out_len - n, last) == 0 && count_lines(r->out) == 5,
          "want 5 lines, the last 'all 4 cpus online'");
    return true;
}

CASE(boot, filewrite_virtual_buffer_across_pages)
{
    run_chyve(r, (const char *[]){guest("filewrite_virt"), NULL}, NULL);
    const char *msg = "filewrite_virt: this line straddles two virtual pages whose physical "
                      "pages are not adjacent\n";
    char want[512];
    snprintf(want, sizeof(want),
             "writing %zu bytes from virtual 0x20000000fec\n%s"
             "filewrite_virt: fd 2 goes to the console too\n",
             strlen(msg), msg);
    return clean(r, 0, want);
}

/* The hostile guest survives, finds every error it expects and leaks nothing (test_boot.c). */
static bool hostile_ok(struct run *r)
{
    CHECK(!memmem(r->out, r->out_len, "FAIL", 4), "the guest reported FAIL lines");
    CHECK(!memmem(r->out, r->out_len, "LEAK", 4), "a rejected buffer reached the console");
    CHECK(strlen(r->out) == r->out_len, "NUL bytes reached the console");
    for (const char *l = r->out; *l; l = strchr(l, '\n') + 1) {
        const char *nl = strchr(l, '\n');
        CHECK(nl, "output does not end with a newline");
        CHECK(!strncmp(l, "ok: ", 4) || !strncmp(l, "hostile v", 9) ||
                  !strncmp(l, "summary: ", 9) || !strncmp(l, "partial\n", 8) ||
                  !strncmp(l, "still alive\n", 12),
              "unexpected output line '%.*s'", (int)(nl - l), l);
    }
    CHECK(r->status == 0, "exit status %d, want 0", r->status);
    size_t n = strlen("still alive\n");
    CHECK(r->out_len >= n && strcmp(r->out + r->out_len - n, "still alive\n") == 0,
          "the guest did not finish with 'still alive'");
    return true;
}

/*
 * v1 only without ASLR: with ASLR, aarch64 v1 RAM may lie anywhere below 64 GiB, and the guest's
 * "outside RAM" probes at 0xFFFFFFFF would then sometimes be inside it.
 */
CASE(hostile, v1_no_aslr)
{
    run_chyve(r, (const char *[]){"--no-aslr", "-e", "A=B", guest("hostile"), "x", NULL}, NULL);
    return hostile_ok(r);
}

CASE(hostile, v1_exit_with_block_outside_ram)
{
    run_chyve(r, (const char *[]){"--no-aslr", "-e", "A=B", guest("hostile"), "exit", NULL}, NULL);
    CHECK(r->status == 3, "exit status %d, want 3 (VM failure)", r->status);
    CHECK(strstr(r->out, "FAIL") == NULL, "a hostile check failed");
    CHECK(strstr(r->err, "chyve: error: guest Exit hypercall has its parameter block at "
                         "0xffffffff, outside guest memory\n") != NULL,
          "stderr does not name the unreadable Exit block");
    return true;
}

CASE(hostile, v2)
{
    run_chyve(r, (const char *[]){guest("hostile_v2"), NULL}, NULL);
    return hostile_ok(r);
}

CASE(failure, unknown_port)
{
    run_chyve(r, (const char *[]){guest("badport"), NULL}, NULL);
    return vm_failure(r, "writing to port 0x3990\n", "3990");
}

/* The console guest (tests/integration/test_console.c): bytes one hypercall each, line-buffered. */
CASE(console, byte_at_a_time_output_arrives_whole_with_its_tail)
{
    run_chyve(r, (const char *[]){guest("console"), "--", "--", "lines", "50", NULL}, NULL);
    static char want[50 * 60 + 32];
    size_t len = 0;
    for (int i = 0; i < 50; i++) { /* console.c's put_line(i) */
        len += (size_t)snprintf(want + len, sizeof(want) - len, "%04d:", i);
        for (int j = 5; j < 59; j++)
            want[len++] = (char)('a' + (i + j) % 26);
        want[len++] = '\n';
    }
    snprintf(want + len, sizeof(want) - len, "tail without newline");
    return clean(r, 0, want);
}

CASE(console, partial_line_of_a_failed_vm_is_written)
{
    run_chyve(r, (const char *[]){guest("console"), "--", "--", "fail", NULL}, NULL);
    return vm_failure(r, "dying", "3990");
}

/* One mode of the faults guest: a VM failure whose message contains needle. */
static bool fault(struct run *r, const char *mode, const char *needle)
{
    run_chyve(r, (const char *[]){"--no-aslr", guest("faults"), "--", "--", mode, NULL}, NULL);
    char want[64];
    snprintf(want, sizeof(want), "faults: %s\n", mode);
    return vm_failure(r, want, needle);
}

CASE(failure, store_pair_to_window)
{
    return fault(r, "pair", "guest-physical address 0x10000540");
}

CASE(failure, narrow_store_to_window)
{
    return fault(r, "narrow", "4-byte store to hypercall address 0x540");
}

CASE(failure, store_to_unmapped_ipa)
{
    return fault(r, "unmapped", "wrote to unmapped guest-physical address 0xa000000");
}

CASE(failure, psci_system_off)
{
    return fault(r, "psci-off", "PSCI SYSTEM_OFF");
}
