/* test_hypercall.c: hypercall decoding against a fake guest (ABI §6): exit, serial, cmdline. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake_backend.h"
#include "fake_guest.h"
#include "hypercall/hypercall.h"
#include "vm.h"

#define MIB (1ull << 20)
#define SIZE (2 * MIB)
#define NZ_BASE 0x40000000ull

static struct fake_guest g;

static void setup_base0(void)
{
    fake_guest_init(&g, 0, SIZE);
}

static void setup_nonzero_base(void)
{
    fake_guest_init(&g, NZ_BASE, SIZE);
}

static void teardown(void)
{
    fake_guest_fini(&g);
}

TestSuite(hc, .init = setup_base0, .fini = teardown);
TestSuite(hc_nzbase, .init = setup_nonzero_base, .fini = teardown);
TestSuite(hc_cmd, .init = setup_base0, .fini = teardown);

static enum hc_status hc(uint64_t addr, uint64_t data)
{
    return hypercall_handle(&g.vm, fake_vcpu, addr, data);
}

/* The console received exactly `len` bytes equal to `want`. */
static void expect_output(const void *want, size_t len)
{
    char buf[4096];
    size_t total = fake_guest_output(&g, buf, sizeof(buf));
    cr_assert_eq(total, len, "console has %zu bytes, expected %zu", total, len);
    cr_assert_eq(memcmp(buf, want, len), 0, "console bytes differ");
}

static void expect_no_output(void)
{
    expect_output("", 0);
}

/* The run goes on: no stop, no failure. */
static void expect_running(void)
{
    cr_assert_not(atomic_load(&g.vm.stopping), "VM stopped: %s", g.vm.fail_msg);
    cr_assert_not(g.vm.failed);
}

static void expect_failed_with(const char *msg)
{
    cr_assert(atomic_load(&g.vm.stopping));
    cr_assert(g.vm.failed);
    cr_assert_str_eq(g.vm.fail_msg, msg);
}

/* ---- hypercall_is_v2 ------------------------------------------------------------------------ */

/* The v2 window is 0x1010..0x1190; reserved addresses inside it are v2 but unknown (below). */
Test(hc, is_v2_the_v2_window)
{
    static const uint64_t v2[] = {0x1010, 0x1020, 0x1030, 0x1040, 0x1050, 0x1100, 0x1110, 0x1120,
                                  0x1130, 0x1140, 0x1150, 0x1160, 0x1170, 0x1180, 0x1190};
    static const uint64_t not_v2[] = {0x400,  0x440,  0x480,  0x500,  0x540,           0x580,
                                      0x740,  0x780,  0x800,  0x840,  0x880,           0x1000,
                                      0x100f, 0x1191, 0x1200, 0x1210, 0x10000 | 0x1010};
    for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++)
        cr_assert(hypercall_is_v2(v2[i]), "0x%llx", (unsigned long long)v2[i]);
    for (size_t i = 0; i < sizeof(not_v2) / sizeof(not_v2[0]); i++)
        cr_assert_not(hypercall_is_v2(not_v2[i]), "0x%llx", (unsigned long long)not_v2[i]);
}

/* Reserved v2 addresses (SerialReadByte 0x1040, unassigned 0x1060) end the run as unknown. */
Test(hc, v2_reserved_address_is_unknown)
{
    cr_assert_eq(hc(0x1040, 0x1000), HC_STOP);
    cr_assert(g.vm.failed);
    cr_assert(strstr(g.vm.fail_msg, "0x1040") != NULL, "%s", g.vm.fail_msg);
}

Test(hc, v2_unassigned_address_is_unknown)
{
    cr_assert_eq(hc(0x1060, 0x1000), HC_STOP);
    cr_assert(g.vm.failed);
    cr_assert(strstr(g.vm.fail_msg, "0x1060") != NULL, "%s", g.vm.fail_msg);
}

/* ---- Exit ----------------------------------------------------------------------------------- */

Test(hc, v1_exit_code)
{
    fg_w32(&g, 0x1000, 42);
    cr_assert_eq(hc(UHYVE_V1_EXIT, 0x1000), HC_STOP);
    cr_assert(atomic_load(&g.vm.stopping));
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, 42);
    expect_no_output();
}

Test(hc, v1_exit_negative_code)
{
    fg_w32(&g, 0x1000, (uint32_t)-3);
    cr_assert_eq(hc(UHYVE_V1_EXIT, 0x1000), HC_STOP);
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, -3);
}

Test(hc, v1_exit_block_at_last_4_bytes)
{
    fg_w32(&g, SIZE - 4, 0x80000000u);
    cr_assert_eq(hc(UHYVE_V1_EXIT, SIZE - 4), HC_STOP);
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, INT32_MIN);
}

Test(hc, v1_exit_block_out_of_range_fails_the_vm)
{
    cr_assert_eq(hc(UHYVE_V1_EXIT, SIZE - 2), HC_STOP);
    expect_failed_with("guest Exit hypercall has its parameter block at 0x1ffffe, outside guest "
                       "memory");
}

Test(hc, v2_exit_low_32_bits)
{
    cr_assert_eq(hc(UHYVE_V2_EXIT, 0xABCD000000000007ull), HC_STOP);
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, 7);
}

Test(hc, v2_exit_negative)
{
    cr_assert_eq(hc(UHYVE_V2_EXIT, 0x00000000FFFFFFFEull), HC_STOP);
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, -2);
}

Test(hc, v2_exit_data_is_not_an_address)
{
    /* A v2 Exit whose value is outside RAM is still just the code. */
    cr_assert_eq(hc(UHYVE_V2_EXIT, 0x12345678), HC_STOP);
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, 0x12345678);
}

Test(hc, exit_kicks_published_vcpus_and_first_stop_wins)
{
    atomic_store(&g.vm.vcpus[0], fake_vcpu);
    atomic_store(&g.vm.vcpus[5], fake_vcpu);
    fake_kicks = 0;
    cr_assert_eq(hc(UHYVE_V2_EXIT, 3), HC_STOP);
    cr_assert_eq(fake_kicks, 2);
    /* A later failure on another vCPU does not change the outcome. */
    cr_assert_eq(hc(0x640, 0), HC_STOP);
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, 3);
    cr_assert_eq(fake_kicks, 2);
}

/* ---- unknown hypercalls --------------------------------------------------------------------- */

Test(hc, unknown_v1_port_fails_naming_it)
{
    cr_assert_eq(hc(0x640, 0x1000), HC_STOP); /* Netwrite: deprecated, not served */
    expect_failed_with("guest made an unknown hypercall: port/address 0x640");
}

Test(hc, unknown_reserved_v2_address_fails_naming_it)
{
    cr_assert_eq(hc(0x1040, 0x1000), HC_STOP); /* SerialReadByte: reserved */
    cr_assert(g.vm.failed);
    cr_assert(strstr(g.vm.fail_msg, "0x1040"), "%s", g.vm.fail_msg);
}

Test(hc, unknown_huge_address_fails_naming_it)
{
    cr_assert_eq(hc(0xdeadbeefcafeull, 0), HC_STOP);
    cr_assert(g.vm.failed);
    cr_assert(strstr(g.vm.fail_msg, "0xdeadbeefcafe"), "%s", g.vm.fail_msg);
}

/* ---- SerialWriteByte ------------------------------------------------------------------------ */

Test(hc, serial_byte_v1_and_v2)
{
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BYTE, 'A'), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BYTE, 0x12345642), HC_CONTINUE); /* 32-bit OUT: low byte */
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BYTE, 0xFFFFFFFFFFFF0043ull), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BYTE, '\n'), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BYTE, 0), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BYTE, 0xff), HC_CONTINUE);
    expect_output("ABC\n\0\xff", 6);
    expect_running();
}

Test(hc, serial_output_discarded_with_out_fd_minus_1)
{
    g.cfg.out_fd = -1;
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BYTE, 'A'), HC_CONTINUE);
    g.cfg.out_fd = fileno(g.out);
    expect_no_output();
}

Test(hc, console_on_closed_pipe_does_not_stop_the_guest)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN); /* as main.c does */
    g.cfg.out_fd = p[1];
    fg_wbytes(&g, 0x3000, "lost", 4);
    fg_w64(&g, 0x2000, 4);
    fg_w64(&g, 0x2008, 0x3000);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BYTE, 'x'), HC_CONTINUE);
    expect_running();
    close(p[1]);
}

/* ---- SerialWriteBuffer ---------------------------------------------------------------------- */

Test(hc, serial_buffer_v1_field_order)
{
    fg_wbytes(&g, 0x3000, "hello, world", 12);
    fg_w64(&g, 0x2000, 0x3000); /* buf */
    fg_w64(&g, 0x2008, 5);      /* len */
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    expect_output("hello", 5);
    expect_running();
}

Test(hc, serial_buffer_v2_field_order)
{
    fg_wbytes(&g, 0x3000, "hello, world", 12);
    fg_w64(&g, 0x2000, 12);     /* len */
    fg_w64(&g, 0x2008, 0x3000); /* buf */
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    expect_output("hello, world", 12);
    expect_running();
}

Test(hc, serial_buffer_bytes_unchanged)
{
    static const char raw[] = "a\r\nb\0c\x1b[0m";
    fg_wbytes(&g, 0x3000, raw, sizeof(raw) - 1);
    fg_w64(&g, 0x2000, sizeof(raw) - 1);
    fg_w64(&g, 0x2008, 0x3000);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    expect_output(raw, sizeof(raw) - 1);
}

Test(hc, serial_buffer_ending_at_end_of_ram)
{
    fg_wbytes(&g, SIZE - 4, "last", 4);
    fg_w64(&g, 0x2000, SIZE - 4);
    fg_w64(&g, 0x2008, 4);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    expect_output("last", 4);
}

Test(hc, serial_buffer_len_zero)
{
    fg_w64(&g, 0x2000, SIZE); /* buf at the very end, len 0: valid, nothing to print */
    fg_w64(&g, 0x2008, 0);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    expect_no_output();
    expect_running();
}

Test(hc, serial_buffer_out_of_range_writes_nothing_and_continues)
{
    fg_wbytes(&g, SIZE - 4, "last", 4);
    static const uint64_t bad[][2] = {
        {SIZE - 4, 5},                 /* one byte past the end */
        {SIZE, 1},                     /* starts at the end */
        {0x3000, UINT64_MAX},          /* huge length */
        {0x3000, UINT64_MAX - 0x2fff}, /* buf + len wraps to 0 */
        {UINT64_MAX, 1},
        {0x100000000ull, 4},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fg_w64(&g, 0x2000, bad[i][0]);
        fg_w64(&g, 0x2008, bad[i][1]);
        cr_assert_eq(hc(UHYVE_V1_SERIAL_BUFFER, 0x2000), HC_CONTINUE, "case %zu", i);
        fg_w64(&g, 0x2000, bad[i][1]);
        fg_w64(&g, 0x2008, bad[i][0]);
        cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, 0x2000), HC_CONTINUE, "v2 case %zu", i);
    }
    expect_no_output();
    expect_running();
}

Test(hc, serial_buffer_block_out_of_range_continues)
{
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BUFFER, SIZE - 8), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, SIZE - 15), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, UINT64_MAX - 7), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_SERIAL_BUFFER, 0xFFFFFFFF), HC_CONTINUE);
    expect_no_output();
    expect_running();
}

/* ---- SerialReadBuffer (v2) ------------------------------------------------------------------ */

/* Replaces this test process's stdin with a pipe holding `data` (then EOF). */
static void stdin_from(const void *data, size_t len)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(write(p[1], data, len), (ssize_t)len);
    close(p[1]);
    cr_assert_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
}

Test(hc, serial_read_buffer_reads_stdin)
{
    stdin_from("hi", 2);
    fg_fill(&g, 0x3000, 0xAA, 16);
    fg_w64(&g, 0x2000, 8);      /* maxlen */
    fg_w64(&g, 0x2008, 0x5555); /* len (out) */
    fg_w64(&g, 0x2010, 0x3000); /* buf */
    cr_assert_eq(hc(UHYVE_V2_SERIAL_READ_BUFFER, 0x2000), HC_CONTINUE);
    cr_assert_eq(fg_r64(&g, 0x2008), 2);
    cr_assert_eq(fg_r8(&g, 0x3000), 'h');
    cr_assert_eq(fg_r8(&g, 0x3001), 'i');
    cr_assert_eq(fg_r8(&g, 0x3002), 0xAA);
    expect_running();
}

Test(hc, serial_read_buffer_bad_buffer_gives_len_0)
{
    stdin_from("hi", 2);
    fg_w64(&g, 0x2000, 8);
    fg_w64(&g, 0x2008, 0x5555);
    fg_w64(&g, 0x2010, SIZE - 4);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_READ_BUFFER, 0x2000), HC_CONTINUE);
    cr_assert_eq(fg_r64(&g, 0x2008), 0);
    expect_running();
}

/* ---- nonzero guest base --------------------------------------------------------------------- */

Test(hc_nzbase, serial_buffer_uses_physical_addresses)
{
    fg_wbytes(&g, NZ_BASE + 0x3000, "based", 5);
    fg_w64(&g, NZ_BASE + 0x2000, 5);
    fg_w64(&g, NZ_BASE + 0x2008, NZ_BASE + 0x3000);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, NZ_BASE + 0x2000), HC_CONTINUE);
    expect_output("based", 5);
}

Test(hc_nzbase, offsets_are_not_addresses)
{
    /* Block and buffer given as offsets from the base (below RAM): ignored. */
    fg_wbytes(&g, NZ_BASE + 0x3000, "based", 5);
    fg_w64(&g, NZ_BASE + 0x2000, 5);
    fg_w64(&g, NZ_BASE + 0x2008, 0x3000);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V2_SERIAL_BUFFER, NZ_BASE + 0x2000), HC_CONTINUE);
    expect_no_output();
    expect_running();
}

Test(hc_nzbase, v1_exit)
{
    fg_w32(&g, NZ_BASE + 0x10, 9);
    cr_assert_eq(hc(UHYVE_V1_EXIT, NZ_BASE + 0x10), HC_STOP);
    cr_assert_not(g.vm.failed);
    cr_assert_eq(g.vm.exit_code, 9);
}

Test(hc_nzbase, v1_exit_below_base_fails)
{
    cr_assert_eq(hc(UHYVE_V1_EXIT, 0x10), HC_STOP);
    expect_failed_with("guest Exit hypercall has its parameter block at 0x10, outside guest "
                       "memory");
}

Test(hc_nzbase, v1_exit_past_end_fails)
{
    cr_assert_eq(hc(UHYVE_V1_EXIT, NZ_BASE + SIZE), HC_STOP);
    expect_failed_with("guest Exit hypercall has its parameter block at 0x40200000, outside "
                       "guest memory");
}

/* ---- Cmdsize / Cmdval (v1) ------------------------------------------------------------------ */

static const char *small_args[] = {"first", "--", "-x"};
static const char *small_env[] = {"HOME=/root", "A=1"};

static void use_small_cmdline(void)
{
    g.cfg.args = small_args;
    g.cfg.nargs = 3;
    g.cfg.env = small_env;
    g.cfg.nenv = 2;
}

Test(hc_cmd, cmdsize_exact)
{
    use_small_cmdline();
    fg_fill(&g, 0x4000, 0xAA, 1032 + 16);
    cr_assert_eq(hc(UHYVE_V1_CMDSIZE, 0x4000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x4000), 4); /* kernel path + 3 args */
    cr_assert_eq(fg_r32(&g, 0x4004), sizeof("/boot/kernel"));
    cr_assert_eq(fg_r32(&g, 0x4008), sizeof("first"));
    cr_assert_eq(fg_r32(&g, 0x400c), sizeof("--"));
    cr_assert_eq(fg_r32(&g, 0x4010), sizeof("-x"));
    for (uint64_t i = 4; i < 128; i++)
        cr_assert_eq(fg_r32(&g, 0x4004 + 4 * i), 0, "argsz[%llu]", (unsigned long long)i);
    cr_assert_eq(fg_r32(&g, 0x4000 + 516), 2);
    cr_assert_eq(fg_r32(&g, 0x4000 + 520), sizeof("HOME=/root"));
    cr_assert_eq(fg_r32(&g, 0x4000 + 524), sizeof("A=1"));
    for (uint64_t i = 2; i < 128; i++)
        cr_assert_eq(fg_r32(&g, 0x4000 + 520 + 4 * i), 0, "envsz[%llu]", (unsigned long long)i);
    /* Nothing beyond the 1032-byte block. */
    for (uint64_t i = 0; i < 16; i++)
        cr_assert_eq(fg_r8(&g, 0x4000 + 1032 + i), 0xAA);
    expect_running();
}

Test(hc_cmd, cmdsize_no_args_no_env)
{
    fg_fill(&g, 0x4000, 0xAA, 1032);
    cr_assert_eq(hc(UHYVE_V1_CMDSIZE, 0x4000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x4000), 1);
    cr_assert_eq(fg_r32(&g, 0x4004), sizeof("/boot/kernel"));
    cr_assert_eq(fg_r32(&g, 0x4008), 0);
    cr_assert_eq(fg_r32(&g, 0x4000 + 516), 0);
    cr_assert_eq(fg_r32(&g, 0x4000 + 520), 0);
}

Test(hc_cmd, cmdsize_block_out_of_range_writes_nothing)
{
    use_small_cmdline();
    fg_fill(&g, SIZE - 1024, 0xAA, 1024);
    cr_assert_eq(hc(UHYVE_V1_CMDSIZE, SIZE - 1024), HC_CONTINUE);
    for (uint64_t i = 0; i < 1024; i++)
        cr_assert_eq(fg_r8(&g, SIZE - 1024 + i), 0xAA, "byte %llu", (unsigned long long)i);
    cr_assert_eq(hc(UHYVE_V1_CMDSIZE, UINT64_MAX - 100), HC_CONTINUE);
    expect_running();
}

/* Guest-side Cmdval setup: arrays of `n` buffer addresses, buffers of 0x100 bytes each. */
static void cmdval_arrays(uint64_t array, uint64_t bufs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fg_w64(&g, array + 8 * i, bufs + 0x100 * i);
    fg_fill(&g, bufs, 0xAA, 0x100 * n);
}

/* Buffer at gpa holds exactly s and its NUL, followed by untouched 0xAA. */
static void expect_str_at(uint64_t gpa, const char *s)
{
    size_t n = strlen(s);
    char got[0x100];
    cr_assert_lt(n + 2, sizeof(got));
    cr_assert_eq(guest_mem_read(&g.vm.mem, gpa, got, n + 2), 0);
    cr_assert_eq(memcmp(got, s, n + 1), 0, "at 0x%llx: expected '%s', got '%.*s'",
                 (unsigned long long)gpa, s, (int)n, got);
    cr_assert_eq((uint8_t)got[n + 1], 0xAA, "write past the string at 0x%llx",
                 (unsigned long long)gpa);
}

static void expect_untouched(uint64_t gpa, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fg_r8(&g, gpa + i), 0xAA, "0x%llx was written", (unsigned long long)(gpa + i));
}

Test(hc_cmd, cmdval_writes_exact_strings_no_shift)
{
    use_small_cmdline();
    cmdval_arrays(0x6000, 0x8000, 5); /* one spare slot past argc */
    cmdval_arrays(0x7000, 0xA000, 3); /* one spare slot past envc */
    fg_w64(&g, 0x5000, 0x6000);
    fg_w64(&g, 0x5008, 0x7000);
    cr_assert_eq(hc(UHYVE_V1_CMDVAL, 0x5000), HC_CONTINUE);
    expect_str_at(0x8000, "/boot/kernel");
    expect_str_at(0x8100, "first");
    expect_str_at(0x8200, "--");
    expect_str_at(0x8300, "-x");
    expect_untouched(0x8400, 0x100);
    expect_str_at(0xA000, "HOME=/root");
    expect_str_at(0xA100, "A=1");
    expect_untouched(0xA200, 0x100);
    expect_no_output();
    expect_running();
}

Test(hc_cmd, cmdval_array_out_of_ram_is_skipped)
{
    use_small_cmdline();
    /* argv array: slot 0 is the last 8 bytes of RAM, slots 1..3 are past the end. */
    fg_fill(&g, 0x8000, 0xAA, 0x100);
    fg_w64(&g, SIZE - 8, 0x8000);
    fg_w64(&g, 0x5000, SIZE - 8);
    fg_w64(&g, 0x5008, UINT64_MAX - 7); /* env array wraps around */
    cr_assert_eq(hc(UHYVE_V1_CMDVAL, 0x5000), HC_CONTINUE);
    expect_str_at(0x8000, "/boot/kernel");
    expect_running();
}

Test(hc_cmd, cmdval_buffer_out_of_ram_is_skipped_others_written)
{
    use_small_cmdline();
    cmdval_arrays(0x6000, 0x8000, 4);
    fg_fill(&g, SIZE - 2, 0xAA, 2);
    fg_w64(&g, 0x6008, SIZE - 2);       /* "first\0" does not fit in the last 2 bytes */
    fg_w64(&g, 0x6010, UINT64_MAX - 1); /* wraps */
    fg_w64(&g, 0x5000, 0x6000);
    fg_w64(&g, 0x5008, 0x100000000ull); /* env array beyond RAM */
    cr_assert_eq(hc(UHYVE_V1_CMDVAL, 0x5000), HC_CONTINUE);
    expect_str_at(0x8000, "/boot/kernel");
    expect_untouched(SIZE - 2, 2);
    expect_str_at(0x8300, "-x");
    expect_running();
}

Test(hc_cmd, cmdval_block_out_of_range_continues)
{
    use_small_cmdline();
    cr_assert_eq(hc(UHYVE_V1_CMDVAL, SIZE - 8), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_CMDVAL, UINT64_MAX), HC_CONTINUE);
    expect_running();
}

/* 200 arguments and 150 environment entries: both lists are capped at 128 entries. */
#define MANY_ARGS 200
#define MANY_ENV 150
static char many_buf[MANY_ARGS + MANY_ENV][16];
static const char *many_args[MANY_ARGS];
static const char *many_env[MANY_ENV];

static void use_many(void)
{
    for (int i = 0; i < MANY_ARGS; i++) {
        many_args[i] = many_buf[i];
        snprintf(many_buf[i], 16, "arg%d", i); /* lengths vary: arg0 .. arg199 */
    }
    for (int i = 0; i < MANY_ENV; i++) {
        many_env[i] = many_buf[MANY_ARGS + i];
        snprintf(many_buf[MANY_ARGS + i], 16, "V%d=%d", i, i * 7);
    }
    g.cfg.args = many_args;
    g.cfg.nargs = MANY_ARGS;
    g.cfg.env = many_env;
    g.cfg.nenv = MANY_ENV;
}

Test(hc_cmd, cmdsize_caps_at_128)
{
    use_many();
    cr_assert_eq(hc(UHYVE_V1_CMDSIZE, 0x4000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x4000), 128);
    cr_assert_eq(fg_r32(&g, 0x4004), sizeof("/boot/kernel"));
    for (uint64_t i = 1; i < 128; i++)
        cr_assert_eq(fg_r32(&g, 0x4004 + 4 * i), strlen(many_args[i - 1]) + 1, "argsz[%llu]",
                     (unsigned long long)i);
    cr_assert_eq(fg_r32(&g, 0x4000 + 516), 128);
    for (uint64_t i = 0; i < 128; i++)
        cr_assert_eq(fg_r32(&g, 0x4000 + 520 + 4 * i), strlen(many_env[i]) + 1, "envsz[%llu]",
                     (unsigned long long)i);
}

Test(hc_cmd, cmdval_caps_at_128)
{
    use_many();
    /* Arrays with 200 slots; buffers 0x100 apart from 0x20000 (argv) and 0x40000 (env). */
    cmdval_arrays(0x10000, 0x20000, MANY_ARGS);
    cmdval_arrays(0x12000, 0x40000 + 0xE000, MANY_ENV);
    fg_w64(&g, 0x5000, 0x10000);
    fg_w64(&g, 0x5008, 0x12000);
    cr_assert_eq(hc(UHYVE_V1_CMDVAL, 0x5000), HC_CONTINUE);
    expect_str_at(0x20000, "/boot/kernel");
    for (uint64_t i = 1; i < 128; i++)
        expect_str_at(0x20000 + 0x100 * i, many_args[i - 1]);
    for (uint64_t i = 128; i < MANY_ARGS; i++)
        expect_untouched(0x20000 + 0x100 * i, 0x100);
    for (uint64_t i = 0; i < 128; i++)
        expect_str_at(0x4E000 + 0x100 * i, many_env[i]);
    for (uint64_t i = 128; i < MANY_ENV; i++)
        expect_untouched(0x4E000 + 0x100 * i, 0x100);
    expect_running();
}

/* ---- file hypercalls: v1 FileWrite/FileRead through the guest's page tables ------------------ */

#define VA0 0x100000000ull /* two virtual pages, mapped in reverse physical order */
#define PA0 0x50000ull
#define PA1 0x30000ull
#define MSG40 "0123456789abcdef|second page holds this!"

/* Builds page tables at base+0x10000 mapping VA0 -> base+PA0 and VA0+4K -> base+PA1. */
static void map_two_pages(uint64_t base)
{
    struct fg_pt pt;
    fg_pt_init(&pt, &g, base + 0x10000, base + 0x20000);
    fg_pt_map4k(&pt, VA0, base + PA0);
    fg_pt_map4k(&pt, VA0 + 0x1000, base + PA1);
    fake_pt_root = pt.root;
    /* Decoys where a "physically contiguous" reading would look. */
    fg_fill(&g, base + PA0 + 0x1000, '#', 0x1000);
    fg_fill(&g, base + PA1 - 0x1000, '#', 0x1000);
}

/* Puts the 40-byte message at VA0 + 0xff0: 16 bytes in page 0, 24 bytes in page 1. */
static void put_msg40(uint64_t base)
{
    fg_wbytes(&g, base + PA0 + 0xff0, MSG40, 16);
    fg_wbytes(&g, base + PA1, &MSG40[16], 24);
}

static void v1_write_block(uint64_t gpa, int32_t fd, uint64_t buf, uint64_t len)
{
    fg_w32(&g, gpa, (uint32_t)fd);
    fg_w64(&g, gpa + 4, buf);
    fg_w64(&g, gpa + 12, len);
}

Test(hc, v1_file_write_virtual_buffer_across_pages)
{
    cr_assert_eq(sizeof(MSG40) - 1, 40);
    map_two_pages(0);
    put_msg40(0);
    v1_write_block(0x2000, 1, VA0 + 0xff0, 40);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, 0x2000), HC_CONTINUE);
    expect_output(MSG40, 40);
    expect_running();
}

Test(hc, v1_file_write_fd2_and_bad_fd)
{
    map_two_pages(0);
    put_msg40(0);
    v1_write_block(0x2000, 7, VA0 + 0xff0, 40);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, 0x2000), HC_CONTINUE);
    expect_no_output();
    v1_write_block(0x2000, 2, VA0 + 0xff0 + 16, 4);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, 0x2000), HC_CONTINUE);
    expect_output("|sec", 4);
    expect_running();
}

Test(hc_nzbase, v1_file_write_virtual_buffer_across_pages)
{
    map_two_pages(NZ_BASE);
    put_msg40(NZ_BASE);
    v1_write_block(NZ_BASE + 0x2000, 1, VA0 + 0xff0, 40);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, NZ_BASE + 0x2000), HC_CONTINUE);
    expect_output(MSG40, 40);
    expect_running();
}

/* Output must be a prefix of `want` no longer than `max` (nothing, or the mapped part). */
static void expect_output_prefix(const char *want, size_t max)
{
    char buf[4096];
    size_t total = fake_guest_output(&g, buf, sizeof(buf));
    cr_assert_leq(total, max, "console has %zu bytes, at most %zu allowed", total, max);
    cr_assert_eq(memcmp(buf, want, total), 0, "console bytes differ");
}

Test(hc, v1_file_write_into_unmapped_page)
{
    map_two_pages(0);
    put_msg40(0);
    /* Starts 8 bytes before the end of page 1; page 2 is not mapped. */
    v1_write_block(0x2000, 1, VA0 + 0x1ff8, 16);
    fg_wbytes(&g, PA1 + 0xff8, "ABCDEFGH", 8);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, 0x2000), HC_CONTINUE);
    expect_output_prefix("ABCDEFGH", 8);
    expect_running();
}

Test(hc, v1_file_write_unmapped_or_bad_translation_writes_nothing)
{
    map_two_pages(0);
    put_msg40(0);
    struct fg_pt pt = {&g, fake_pt_root, 0x18000, 0x20000};
    fg_pt_map4k(&pt, VA0 + 0x3000, SIZE + 0x1000);          /* frame past the end of RAM */
    fg_pt_map4k(&pt, 0x7f0000000000ull, 0xFFFFFFFFF000ull); /* frame far away */
    static const uint64_t vas[] = {
        VA0 + 0x2000,          VA0 + 0x3000,         0x7f0000000000ull, 0,
        0xffff800000000000ull, 0x0000800000000000ull /* non-canonical */};
    for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++) {
        v1_write_block(0x2000, 1, vas[i], 8);
        cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, 0x2000), HC_CONTINUE, "case %zu", i);
    }
    /* va + len wraps around */
    v1_write_block(0x2000, 1, VA0, UINT64_MAX - 0x10);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, 0x2000), HC_CONTINUE);
    /* page-table root outside guest RAM */
    fake_pt_root = 0x7fff0000;
    v1_write_block(0x2000, 1, VA0, 8);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, 0x2000), HC_CONTINUE);
    expect_no_output();
    expect_running();
}

Test(hc, v1_file_write_block_out_of_range_continues)
{
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, SIZE - 19), HC_CONTINUE);
    cr_assert_eq(hc(UHYVE_V1_FILE_WRITE, UINT64_MAX - 3), HC_CONTINUE);
    expect_no_output();
    expect_running();
}

Test(hc, v1_file_read_virtual_buffer_across_pages)
{
    map_two_pages(0);
    stdin_from(MSG40, 40);
    fg_fill(&g, PA0 + 0xff0, 0xAA, 16);
    fg_fill(&g, PA1, 0xAA, 32);
    fg_w32(&g, 0x2000, 0);
    fg_w64(&g, 0x2004, VA0 + 0xff0);
    fg_w64(&g, 0x200c, 40);
    fg_w64(&g, 0x2014, 0x5555);
    cr_assert_eq(hc(UHYVE_V1_FILE_READ, 0x2000), HC_CONTINUE);
    cr_assert_eq((int64_t)fg_r64(&g, 0x2014), 40);
    char got[40];
    cr_assert_eq(guest_mem_read(&g.vm.mem, PA0 + 0xff0, got, 16), 0);
    cr_assert_eq(guest_mem_read(&g.vm.mem, PA1, got + 16, 24), 0);
    cr_assert_arr_eq(got, MSG40, 40);
    cr_assert_eq(fg_r8(&g, PA1 + 24), 0xAA);
    cr_assert_eq(fg_r8(&g, PA0 + 0x1000), '#'); /* decoy untouched */
}

Test(hc, v1_file_read_bad_fd_and_unmapped)
{
    map_two_pages(0);
    stdin_from("data", 4);
    fg_w32(&g, 0x2000, 5);
    fg_w64(&g, 0x2004, VA0);
    fg_w64(&g, 0x200c, 4);
    cr_assert_eq(hc(UHYVE_V1_FILE_READ, 0x2000), HC_CONTINUE);
    cr_assert_eq((int64_t)fg_r64(&g, 0x2014), -9);
    fg_w32(&g, 0x2000, 0);
    fg_w64(&g, 0x2004, VA0 + 0x2000); /* unmapped */
    cr_assert_eq(hc(UHYVE_V1_FILE_READ, 0x2000), HC_CONTINUE);
    cr_assert_eq((int64_t)fg_r64(&g, 0x2014), -14);
    expect_running();
}

/* ---- v2 FileWrite / FileRead --------------------------------------------------------------- */

/* v2 Write/ReadParams: {u64 len, i64 ret, u64 buf, i32 fd} */
static void v2_rw_block(uint64_t gpa, int32_t fd, uint64_t buf, uint64_t len)
{
    fg_w64(&g, gpa, len);
    fg_w64(&g, gpa + 8, 0x5555);
    fg_w64(&g, gpa + 16, buf);
    fg_w32(&g, gpa + 24, (uint32_t)fd);
    fg_w32(&g, gpa + 28, 0);
}

static int64_t v2_ret(uint64_t gpa)
{
    return (int64_t)fg_r64(&g, gpa + 8);
}

Test(hc, v2_file_write_fd1_fd2)
{
    fg_wbytes(&g, 0x3000, "out!err!", 8);
    v2_rw_block(0x2000, 1, 0x3000, 4);
    cr_assert_eq(hc(UHYVE_V2_FILE_WRITE, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), 4);
    v2_rw_block(0x2000, 2, 0x3004, 4);
    cr_assert_eq(hc(UHYVE_V2_FILE_WRITE, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), 4);
    expect_output("out!err!", 8);
    /* the other fields are left alone */
    cr_assert_eq(fg_r64(&g, 0x2000), 4);
    cr_assert_eq(fg_r64(&g, 0x2010), 0x3004);
    cr_assert_eq(fg_r32(&g, 0x2018), 2);
    expect_running();
}

Test(hc, v2_file_write_bad_fd_is_ebadf)
{
    fg_wbytes(&g, 0x3000, "nope", 4);
    v2_rw_block(0x2000, 7, 0x3000, 4);
    cr_assert_eq(hc(UHYVE_V2_FILE_WRITE, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), -9);
    v2_rw_block(0x2000, -1, 0x3000, 4);
    cr_assert_eq(hc(UHYVE_V2_FILE_WRITE, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), -9);
    expect_no_output();
    expect_running();
}

Test(hc, v2_file_write_bad_buffer_is_efault)
{
    static const uint64_t bad[][2] = {
        {SIZE - 4, 5}, {SIZE, 1}, {0x3000, 1ull << 40}, {UINT64_MAX, 2}, {UINT64_MAX - 0xf, 0x20},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v2_rw_block(0x2000, 1, bad[i][0], bad[i][1]);
        cr_assert_eq(hc(UHYVE_V2_FILE_WRITE, 0x2000), HC_CONTINUE);
        cr_assert_eq(v2_ret(0x2000), -14, "case %zu: ret %lld", i, (long long)v2_ret(0x2000));
    }
    /* A length larger than guest RAM (here one that does not even fit the i64 result) is EFAULT. */
    v2_rw_block(0x2000, 1, 0x3000, UINT64_MAX - 0x2fff);
    cr_assert_eq(hc(UHYVE_V2_FILE_WRITE, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), -14);
    expect_no_output();
    expect_running();
}

Test(hc, v2_file_write_block_out_of_range_continues)
{
    fg_fill(&g, SIZE - 16, 0xAA, 16);
    cr_assert_eq(hc(UHYVE_V2_FILE_WRITE, SIZE - 16), HC_CONTINUE);
    expect_untouched(SIZE - 16, 16);
    expect_no_output();
    expect_running();
}

Test(hc, v2_file_read_fd0_and_bad_fd)
{
    stdin_from("xyz", 3);
    fg_fill(&g, 0x3000, 0xAA, 16);
    v2_rw_block(0x2000, 5, 0x3000, 10);
    cr_assert_eq(hc(UHYVE_V2_FILE_READ, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), -9);
    expect_untouched(0x3000, 16);
    v2_rw_block(0x2000, 0, SIZE - 4, 10);
    cr_assert_eq(hc(UHYVE_V2_FILE_READ, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), -14);
    v2_rw_block(0x2000, 0, 0x3000, 10);
    cr_assert_eq(hc(UHYVE_V2_FILE_READ, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), 3);
    cr_assert_eq(memcmp(guest_mem_ptr(&g.vm.mem, 0x3000, 3), "xyz", 3), 0);
    expect_untouched(0x3003, 13);
    v2_rw_block(0x2000, 0, 0x3000, 10); /* at EOF */
    cr_assert_eq(hc(UHYVE_V2_FILE_READ, 0x2000), HC_CONTINUE);
    cr_assert_eq(v2_ret(0x2000), 0);
    expect_running();
}

/* One v1 and one v2 FileRead of fd 0 into valid buffers; returns both results. */
static void read_fd0_both(int64_t *r1, int64_t *r2)
{
    map_two_pages(0);
    fg_w32(&g, 0x2000, 0);
    fg_w64(&g, 0x2004, VA0);
    fg_w64(&g, 0x200c, 8);
    fg_w64(&g, 0x2014, 0x5555);
    cr_assert_eq(hc(UHYVE_V1_FILE_READ, 0x2000), HC_CONTINUE);
    *r1 = (int64_t)fg_r64(&g, 0x2014);
    v2_rw_block(0x3000, 0, 0x4000, 8);
    cr_assert_eq(hc(UHYVE_V2_FILE_READ, 0x3000), HC_CONTINUE);
    *r2 = v2_ret(0x3000);
    expect_running();
}

/* A failing host read(2) reaches the guest as its errno (ABI §6.4), in v1 as in v2, not as a
 * bad-buffer EFAULT or a blanket EBADF. */
Test(hc, file_read_host_error_stdin_closed_is_ebadf)
{
    close(STDIN_FILENO);
    int64_t r1, r2;
    read_fd0_both(&r1, &r2);
    cr_assert(r1 == -9 && r2 == -9, "want -9: v1 ret %lld, v2 ret %lld", (long long)r1,
              (long long)r2);
}

Test(hc, file_read_host_error_stdin_directory_is_eisdir)
{
    int d = open("/", O_RDONLY | O_DIRECTORY);
    cr_assert_geq(d, 0);
    cr_assert_eq(dup2(d, STDIN_FILENO), STDIN_FILENO);
    close(d);
    int64_t r1, r2;
    read_fd0_both(&r1, &r2);
    cr_assert(r1 == -21 && r2 == -21, "want -21: v1 ret %lld, v2 ret %lld", (long long)r1,
              (long long)r2);
}

/* ---- Open / Close / Lseek / Unlink ---------------------------------------------------------- */

Test(hc, file_open_enoent_and_bad_name)
{
    static const uint64_t ports[] = {UHYVE_V1_FILE_OPEN, UHYVE_V2_FILE_OPEN};
    fg_wbytes(&g, 0x3000, "/etc/passwd", 12);
    fg_wbytes(&g, SIZE - 3, "abc", 3); /* no NUL before the end of RAM */
    for (size_t i = 0; i < 2; i++) {
        /* OpenParams (packed): {u64 name, i32 flags, i32 mode, i32 ret} */
        fg_w64(&g, 0x2000, 0x3000);
        fg_w32(&g, 0x2008, 0x41);
        fg_w32(&g, 0x200c, 0644);
        fg_w32(&g, 0x2010, 0x7777);
        cr_assert_eq(hc(ports[i], 0x2000), HC_CONTINUE);
        cr_assert_eq((int32_t)fg_r32(&g, 0x2010), -2);
        cr_assert_eq(fg_r32(&g, 0x2008), 0x41);
        const uint64_t bad[] = {SIZE + 0x100, SIZE - 3, UINT64_MAX};
        for (size_t k = 0; k < 3; k++) {
            fg_w64(&g, 0x2000, bad[k]);
            fg_w32(&g, 0x2010, 0x7777);
            cr_assert_eq(hc(ports[i], 0x2000), HC_CONTINUE);
            cr_assert_eq((int32_t)fg_r32(&g, 0x2010), -14, "port 0x%llx case %zu",
                         (unsigned long long)ports[i], k);
        }
    }
    cr_assert_eq(hc(UHYVE_V1_FILE_OPEN, SIZE - 19), HC_CONTINUE); /* block out of range */
    expect_running();
}

Test(hc, file_close)
{
    static const uint64_t ports[] = {UHYVE_V1_FILE_CLOSE, UHYVE_V2_FILE_CLOSE};
    static const struct {
        int32_t fd, ret;
    } cases[] = {{0, 0}, {1, 0}, {2, 0}, {3, -9}, {5, -9}, {-1, -9}, {INT32_MAX, -9}};
    for (size_t p = 0; p < 2; p++)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            fg_w32(&g, 0x2000, (uint32_t)cases[i].fd);
            fg_w32(&g, 0x2004, 0x7777);
            cr_assert_eq(hc(ports[p], 0x2000), HC_CONTINUE);
            cr_assert_eq((int32_t)fg_r32(&g, 0x2004), cases[i].ret, "port 0x%llx fd %d",
                         (unsigned long long)ports[p], cases[i].fd);
        }
    expect_running();
}

Test(hc, v1_lseek_errors_are_minus_1)
{
    static const int32_t fds[] = {5, 1, 0};
    for (size_t i = 0; i < 3; i++) {
        /* LseekParams v1 (packed): {i32 fd, i64 offset, i32 whence} */
        fg_w32(&g, 0x2000, (uint32_t)fds[i]);
        fg_w64(&g, 0x2004, 100);
        fg_w32(&g, 0x200c, 1);
        cr_assert_eq(hc(UHYVE_V1_FILE_LSEEK, 0x2000), HC_CONTINUE);
        cr_assert_eq((int64_t)fg_r64(&g, 0x2004), -1, "fd %d", fds[i]);
        cr_assert_eq(fg_r32(&g, 0x200c), 1);
    }
    expect_running();
}

Test(hc, v2_lseek)
{
    /* LseekParams v2: {i64 offset, u32 whence, i32 fd} */
    fg_w64(&g, 0x2000, 100);
    fg_w32(&g, 0x2008, 0);
    fg_w32(&g, 0x200c, 5);
    cr_assert_eq(hc(UHYVE_V2_FILE_LSEEK, 0x2000), HC_CONTINUE);
    cr_assert_eq((int64_t)fg_r64(&g, 0x2000), -9);
    fg_w64(&g, 0x2000, 100);
    fg_w32(&g, 0x200c, 1);
    cr_assert_eq(hc(UHYVE_V2_FILE_LSEEK, 0x2000), HC_CONTINUE);
    cr_assert_eq((int64_t)fg_r64(&g, 0x2000), -29); /* ESPIPE: the console cannot seek */
    expect_running();
}

Test(hc, file_unlink)
{
    static const uint64_t ports[] = {UHYVE_V1_FILE_UNLINK, UHYVE_V2_FILE_UNLINK};
    fg_wbytes(&g, 0x3000, "/tmp/x", 7);
    for (size_t p = 0; p < 2; p++) {
        /* UnlinkParams (packed): {u64 name, i32 ret} */
        fg_w64(&g, 0x2000, 0x3000);
        fg_w32(&g, 0x2008, 0x7777);
        cr_assert_eq(hc(ports[p], 0x2000), HC_CONTINUE);
        cr_assert_eq((int32_t)fg_r32(&g, 0x2008), -2);
        fg_w64(&g, 0x2000, SIZE);
        cr_assert_eq(hc(ports[p], 0x2000), HC_CONTINUE);
        cr_assert_eq((int32_t)fg_r32(&g, 0x2008), -14);
    }
    expect_running();
}

/* ---- v2 Getdents / Stat / Fstat / Mkdir: {tag, errno} result unions -------------------------- */

Test(hc, v2_getdents_ebadf)
{
    fg_fill(&g, 0x3000, 0xAA, 64);
    fg_w32(&g, 0x2000, 3);      /* fd */
    fg_w64(&g, 0x2008, 0x3000); /* buf */
    fg_w64(&g, 0x2010, 64);     /* len */
    fg_fill(&g, 0x2018, 0, 16); /* result: None */
    cr_assert_eq(hc(UHYVE_V2_GETDENTS, 0x2000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x2018), 3); /* Error */
    cr_assert_eq(fg_r32(&g, 0x2020), 9); /* EBADF, positive */
    expect_untouched(0x3000, 64);
    expect_running();
}

Test(hc, v2_stat)
{
    fg_wbytes(&g, 0x3000, "/etc/hosts", 11);
    fg_fill(&g, 0x4000, 0xAA, 120);
    fg_w64(&g, 0x2000, 0x3000); /* name */
    fg_w32(&g, 0x2008, 0);      /* kind */
    fg_w64(&g, 0x2010, 0x4000); /* attr */
    fg_w64(&g, 0x2018, 0);      /* result: None */
    cr_assert_eq(hc(UHYVE_V2_FILE_STAT, 0x2000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x2018), 2);
    cr_assert_eq(fg_r32(&g, 0x201c), 2); /* ENOENT */
    expect_untouched(0x4000, 120);
    fg_w64(&g, 0x2000, SIZE + 8);
    fg_w64(&g, 0x2018, 0);
    cr_assert_eq(hc(UHYVE_V2_FILE_STAT, 0x2000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x2018), 2);
    cr_assert_eq(fg_r32(&g, 0x201c), 14); /* EFAULT */
    expect_running();
}

Test(hc, v2_fstat_stdio_is_ebadf)
{
    for (int32_t fd = 0; fd < 4; fd++) {
        fg_fill(&g, 0x4000, 0xAA, 120);
        fg_w32(&g, 0x2000, (uint32_t)fd);
        fg_w64(&g, 0x2008, 0x4000);
        fg_w64(&g, 0x2010, 0);
        cr_assert_eq(hc(UHYVE_V2_FILE_FSTAT, 0x2000), HC_CONTINUE);
        cr_assert_eq(fg_r32(&g, 0x2010), 2, "fd %d", fd);
        cr_assert_eq(fg_r32(&g, 0x2014), 9, "fd %d", fd);
        expect_untouched(0x4000, 120);
    }
    expect_running();
}

Test(hc, v2_mkdir)
{
    fg_wbytes(&g, 0x3000, "/tmp/newdir", 12);
    fg_w64(&g, 0x2000, 0x3000);
    fg_w64(&g, 0x2008, 11);
    fg_w64(&g, 0x2010, 0);
    cr_assert_eq(hc(UHYVE_V2_MKDIR, 0x2000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x2010), 2);
    cr_assert_eq(fg_r32(&g, 0x2014), 2);
    fg_w64(&g, 0x2000, UINT64_MAX - 4);
    fg_w64(&g, 0x2010, 0);
    cr_assert_eq(hc(UHYVE_V2_MKDIR, 0x2000), HC_CONTINUE);
    cr_assert_eq(fg_r32(&g, 0x2010), 2);
    cr_assert_eq(fg_r32(&g, 0x2014), 14);
    expect_running();
}

Test(hc, v2_result_blocks_partly_outside_ram_untouched)
{
    static const struct {
        uint64_t addr, size;
    } calls[] = {{UHYVE_V2_GETDENTS, 40}, {UHYVE_V2_FILE_STAT, 32},  {UHYVE_V2_FILE_FSTAT, 24},
                 {UHYVE_V2_MKDIR, 24},    {UHYVE_V2_FILE_LSEEK, 16}, {UHYVE_V2_FILE_READ, 32}};
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        uint64_t at = SIZE - calls[i].size + 4; /* last 4 bytes of the block are past RAM */
        fg_fill(&g, at, 0xAA, calls[i].size - 4);
        cr_assert_eq(hc(calls[i].addr, at), HC_CONTINUE);
        expect_untouched(at, calls[i].size - 4);
    }
    expect_running();
}
