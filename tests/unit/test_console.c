/*
 * test_console.c: the line-buffered guest console of vm_ctl.c: what is held and what is written
 * when (a '\n', a full buffer, data that does not fit, vm_console_flush, a stdin read), hostile
 * buffer lengths, concurrent writers, and log.c's flush hook ordering chyve's lines after it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_backend.h"
#include "fake_guest.h"
#include "hypercall/hypercall.h"
#include "log.h"
#include "vm.h"

#define SIZE (2ull << 20)

static struct fake_guest g;

static void setup(void)
{
    fake_guest_init(&g, 0, SIZE);
}

static void teardown(void)
{
    fake_guest_fini(&g);
}

TestSuite(console, .init = setup, .fini = teardown);

/* What reached the console fd so far, without flushing (unlike fake_guest_output). */
static size_t written(char *buf, size_t cap)
{
    struct stat st;
    cr_assert_eq(fstat(g.cfg.out_fd, &st), 0);
    size_t n = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
    if (n > 0)
        cr_assert_eq(pread(g.cfg.out_fd, buf, n, 0), (ssize_t)n);
    return (size_t)st.st_size;
}

/* The fd holds exactly want (len bytes). */
static void expect_written(const void *want, size_t len)
{
    static char buf[1 << 17];
    size_t n = written(buf, sizeof(buf));
    cr_assert_eq(n, len, "%zu bytes written, want %zu", n, len);
    cr_assert_eq(memcmp(buf, want, len), 0, "the written bytes differ");
}

static void byte(char c)
{
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, UHYVE_V1_SERIAL_BYTE, (uint8_t)c), HC_CONTINUE);
}

/* SerialWriteBuffer (v2) of len bytes at guest-physical 0x10000 (block at 0x2000). */
static void buffer(const void *data, uint64_t len)
{
    fg_wbytes(&g, 0x10000, data, (size_t)len);
    fg_w64(&g, 0x2000, len);
    fg_w64(&g, 0x2008, 0x10000);
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, UHYVE_V2_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
}

Test(console, bytes_are_held_until_a_newline)
{
    byte('h');
    byte('i');
    expect_written("", 0);
    byte('\n');
    expect_written("hi\n", 3);
    byte('x');
    expect_written("hi\n", 3);
    vm_console_flush(&g.vm);
    expect_written("hi\nx", 4);
    vm_console_flush(&g.vm); /* nothing held: nothing written twice */
    expect_written("hi\nx", 4);
}

Test(console, a_full_buffer_is_written)
{
    for (int i = 0; i < VM_CONSOLE_BUF - 1; i++)
        byte((char)('a' + i % 26));
    expect_written("", 0);
    byte('!');
    static char want[VM_CONSOLE_BUF];
    for (int i = 0; i < VM_CONSOLE_BUF - 1; i++)
        want[i] = (char)('a' + i % 26);
    want[VM_CONSOLE_BUF - 1] = '!';
    expect_written(want, sizeof(want));
    byte('z'); /* the buffer starts again empty */
    expect_written(want, sizeof(want));
}

Test(console, a_buffer_write_ending_in_a_newline_goes_out_with_the_held_bytes)
{
    byte('>');
    buffer("line\n", 5);
    expect_written(">line\n", 6);
}

Test(console, a_buffer_write_without_a_newline_is_held)
{
    buffer("no end", 6);
    expect_written("", 0);
    byte('\n');
    expect_written("no end\n", 7);
}

Test(console, a_newline_inside_a_buffer_write_writes_it_all)
{
    buffer("a\nb", 3);
    expect_written("a\nb", 3);
}

Test(console, data_that_does_not_fit_goes_out_after_the_held_bytes)
{
    static char held[VM_CONSOLE_BUF - 10], more[20];
    memset(held, 'h', sizeof(held));
    memset(more, 'm', sizeof(more));
    buffer(held, sizeof(held));
    expect_written("", 0);
    buffer(more, sizeof(more)); /* 20 > 10 left: the held bytes go, these are held */
    expect_written(held, sizeof(held));
    vm_console_flush(&g.vm);
    static char want[sizeof(held) + sizeof(more)];
    memcpy(want, held, sizeof(held));
    memcpy(want + sizeof(held), more, sizeof(more));
    expect_written(want, sizeof(want));
}

/* A buffer write larger than the buffer (here 64 KiB) is written at once, in order. */
Test(console, a_large_buffer_write_follows_the_held_bytes_at_once)
{
    static char big[1 << 16], want[(1 << 16) + 3];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('A' + i % 23);
    byte('x');
    byte('y');
    byte('z');
    buffer(big, sizeof(big));
    memcpy(want, "xyz", 3);
    memcpy(want + 3, big, sizeof(big));
    expect_written(want, sizeof(want));
}

/* Lengths a hostile guest picks: past RAM, wrapping, the whole of RAM. Nothing held breaks. */
Test(console, hostile_lengths_leave_the_buffer_intact)
{
    byte('k');
    static const uint64_t lens[] = {SIZE, SIZE - 0x10000 + 1, UINT64_MAX, UINT64_MAX - 0xFFFF,
                                    1ull << 63};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        fg_w64(&g, 0x2000, lens[i]);
        fg_w64(&g, 0x2008, 0x10000);
        cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, UHYVE_V2_SERIAL_BUFFER, 0x2000),
                     HC_CONTINUE);
    }
    expect_written("", 0); /* all refused: outside guest memory */
    cr_assert_leq(g.vm.out_len, sizeof(g.vm.out_buf));
    /* The whole rest of RAM from 0x10000 is a valid (large) buffer: written after 'k'. */
    fg_fill(&g, 0x10000, 'r', (size_t)(SIZE - 0x10000));
    fg_w64(&g, 0x2000, SIZE - 0x10000);
    fg_w64(&g, 0x2008, 0x10000);
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, UHYVE_V2_SERIAL_BUFFER, 0x2000), HC_CONTINUE);
    static char buf[8];
    cr_assert_eq(written(buf, 2), 1 + SIZE - 0x10000);
    cr_assert_eq(memcmp(buf, "kr", 2), 0);
    cr_assert_eq(g.vm.out_len, 0);
}

Test(console, discarded_output_is_not_held)
{
    g.cfg.out_fd = -1;
    byte('a');
    cr_assert_eq(g.vm.out_len, 0);
    g.cfg.out_fd = fileno(g.out);
    vm_console_flush(&g.vm);
    expect_written("", 0);
}

/* A closed pipe: the guest goes on, the held bytes are dropped, not kept for ever. */
Test(console, a_broken_output_drops_the_held_bytes)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN); /* as main.c does */
    g.cfg.out_fd = p[1];
    g.vm.out_may_block = true;
    byte('a');
    byte('\n');
    byte('b');
    vm_console_flush(&g.vm);
    cr_assert_eq(g.vm.out_len, 0);
    cr_assert(!atomic_load(&g.vm.stopping));
    close(p[1]);
    g.cfg.out_fd = fileno(g.out);
}

/* A read of stdin writes the held prompt before it waits: seen while the reader still waits. */
struct reader {
    char buf[8];
    ssize_t n;
    atomic_bool done;
};

static void *read_main(void *arg)
{
    struct reader *r = arg;
    r->n = vm_read_stdin(&g.vm, r->buf, sizeof(r->buf));
    atomic_store(&r->done, true);
    return NULL;
}

Test(console, a_stdin_read_writes_the_prompt_before_it_waits)
{
    int in[2];
    cr_assert_eq(pipe(in), 0);
    int saved = dup(STDIN_FILENO);
    cr_assert_eq(dup2(in[0], STDIN_FILENO), STDIN_FILENO);
    buffer("name? ", 6);
    static struct reader r;
    atomic_init(&r.done, false);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, read_main, &r), 0);
    usleep(100000);
    bool early = atomic_load(&r.done);
    expect_written("name? ", 6);
    cr_assert_eq(write(in[1], "yo", 2), 2);
    pthread_join(t, NULL);
    dup2(saved, STDIN_FILENO);
    close(saved);
    close(in[0]);
    close(in[1]);
    cr_assert(!early, "the read did not wait for input");
    cr_assert_eq(r.n, 2);
}

/* Four vCPU threads, each 500 whole lines by SerialWriteBuffer: every line intact, in order. */
#define WRITERS 4
#define LINES 500

static void *lines_main(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < LINES; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "w%u line %05u ........\n", id, i);
        vm_console_write(&g.vm, line, (size_t)n);
    }
    return NULL;
}

Test(console, concurrent_writers_keep_lines_whole_and_in_order)
{
    pthread_t t[WRITERS];
    for (uintptr_t i = 0; i < WRITERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, lines_main, (void *)i), 0);
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    vm_console_flush(&g.vm);
    static char buf[WRITERS * LINES * 32];
    size_t n = written(buf, sizeof(buf) - 1);
    cr_assert_lt(n, sizeof(buf));
    buf[n] = '\0';
    unsigned next[WRITERS] = {0};
    unsigned lines = 0;
    for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        unsigned id, i;
        char tail[16];
        cr_assert_eq(sscanf(l, "w%u line %05u %15s", &id, &i, tail), 3, "torn line '%s'", l);
        cr_assert_lt(id, WRITERS);
        cr_assert_str_eq(tail, "........", "torn line '%s'", l);
        cr_assert_eq(i, next[id], "writer %u: line %u after %u", id, i, next[id]);
        next[id]++;
        lines++;
    }
    cr_assert_eq(lines, WRITERS * LINES);
}

/* log.c's hook: the held bytes reach the shared file before chyve's line. */
static void flush_hook(void *vm)
{
    vm_console_flush(vm);
}

Test(console, a_log_line_comes_after_the_held_output)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    cr_assert_eq(dup2(g.cfg.out_fd, STDERR_FILENO), STDERR_FILENO); /* one file, one offset */
    log_set_flush_hook(flush_hook, &g.vm);
    buffer("before ", 7);
    log_warn("in between");
    byte('\n');
    log_set_flush_hook(NULL, NULL);
    buffer("held", 4);
    log_warn("without a hook"); /* nothing flushes "held": the line comes first */
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    vm_console_flush(&g.vm);
    static const char want[] = "before chyve: warning: in between\n\n"
                               "chyve: warning: without a hook\nheld";
    expect_written(want, sizeof(want) - 1);
}
