/*
 * test_vm_stop.c: a stop is never missed by a hypercall waiting on a host fd (vm_ctl.c: the wake
 * pipe), and SIGINT/SIGTERM/SIGHUP reach vm_stop() through the signal thread (stop_signals.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_backend.h"
#include "fake_guest.h"
#include "hypercall/hypercall.h"
#include "stop_signals.h"
#include "vm.h"

#define SIZE (2ull << 20)

static struct fake_guest g;
static int stdin_w = -1; /* the write end of the test's stdin pipe: open, never written */

/* The wake pipe as vm_run() makes it; stdin a pipe that never gets data. */
static void setup(void)
{
    fake_guest_init(&g, 0, SIZE);
    cr_assert_eq(pipe(g.vm.wake), 0);
    fcntl(g.vm.wake[1], F_SETFL, O_NONBLOCK);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
    stdin_w = p[1];
}

static void teardown(void)
{
    close(g.vm.wake[0]);
    close(g.vm.wake[1]);
    close(stdin_w);
    fake_guest_fini(&g);
}

TestSuite(stop, .init = setup, .fini = teardown);

struct call {
    uint64_t addr, data;
    atomic_bool done;
};

static void *call_main(void *arg)
{
    struct call *c = arg;
    hypercall_handle(&g.vm, fake_vcpu, c->addr, c->data);
    atomic_store(&c->done, true);
    return NULL;
}

/* Whether flag becomes true within ms milliseconds. */
static bool within_ms(atomic_bool *flag, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (atomic_load(flag))
            return true;
        usleep(10000);
    }
    return atomic_load(flag);
}

/* Runs the hypercall on a thread; stops the VM before it starts, or 100 ms into it. */
static void stop_ends_call(uint64_t addr, bool stop_first)
{
    static struct call c; /* a hung thread may outlive the test: never on the stack */
    c.addr = addr;
    c.data = 0x2000;
    atomic_init(&c.done, false);
    if (stop_first)
        vm_stop(&g.vm, 3, NULL); /* the kick (none here: no vCPU published) came and went */
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_main, &c), 0);
    if (!stop_first) {
        usleep(100000);
        cr_assert(!atomic_load(&c.done), "returned before the stop, without input");
        vm_stop(&g.vm, 3, NULL);
    }
    cr_assert(within_ms(&c.done, 5000), "the hypercall still waits for stdin after vm_stop()");
    pthread_join(t, NULL);
}

/* SerialReadBuffer block at 0x2000: maxlen 16, len (out), buf 0x3000. */
static void serial_block(void)
{
    fg_w64(&g, 0x2000, 16);
    fg_w64(&g, 0x2008, 0x5555);
    fg_w64(&g, 0x2010, 0x3000);
}

/* FileRead v2 block at 0x2000: len 16, ret (out), buf 0x3000, fd 0. */
static void read_block(void)
{
    fg_w64(&g, 0x2000, 16);
    fg_w64(&g, 0x2008, 0x5555);
    fg_w64(&g, 0x2010, 0x3000);
    fg_w32(&g, 0x2018, 0);
}

Test(stop, serial_read_after_stop_returns)
{
    serial_block();
    stop_ends_call(UHYVE_V2_SERIAL_READ_BUFFER, true);
    cr_assert_eq(fg_r64(&g, 0x2008), 0);
}

Test(stop, serial_read_in_progress_ends_at_stop)
{
    serial_block();
    stop_ends_call(UHYVE_V2_SERIAL_READ_BUFFER, false);
    cr_assert_eq(fg_r64(&g, 0x2008), 0);
}

Test(stop, file_read_stdin_after_stop_returns)
{
    read_block();
    stop_ends_call(UHYVE_V2_FILE_READ, true);
    cr_assert_eq(fg_r64(&g, 0x2008), 0);
}

Test(stop, file_read_stdin_in_progress_ends_at_stop)
{
    read_block();
    stop_ends_call(UHYVE_V2_FILE_READ, false);
    cr_assert_eq(fg_r64(&g, 0x2008), 0);
}

Test(stop, stdin_input_is_still_read)
{
    serial_block();
    cr_assert_eq(write(stdin_w, "hey", 3), 3);
    cr_assert_eq(hypercall_handle(&g.vm, fake_vcpu, UHYVE_V2_SERIAL_READ_BUFFER, 0x2000),
                 HC_CONTINUE);
    cr_assert_eq(fg_r64(&g, 0x2008), 3);
    cr_assert_eq(fg_r8(&g, 0x3002), 'y');
}

struct writer {
    const char *buf;
    size_t len;
    atomic_bool done;
};

static void *write_main(void *arg)
{
    struct writer *w = arg;
    vm_console_write(&g.vm, w->buf, w->len);
    atomic_store(&w->done, true);
    return NULL;
}

/* Console output to a pipe nobody drains: written while there is room, dropped at the stop. */
Test(stop, console_write_to_a_full_pipe_ends_at_stop)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    g.cfg.out_fd = p[1];
    g.vm.out_may_block = true;
    static char big[1 << 20];
    memset(big, 'x', sizeof(big));
    static struct writer w = {big, sizeof(big), false};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, write_main, &w), 0);
    usleep(100000);
    cr_assert(!atomic_load(&w.done), "1 MiB fitted into a pipe");
    vm_stop(&g.vm, 0, NULL);
    cr_assert(within_ms(&w.done, 5000), "the console write still waits after vm_stop()");
    pthread_join(t, NULL);
    char buf[16];
    cr_assert_eq(read(p[0], buf, sizeof(buf)), (ssize_t)sizeof(buf)); /* the part that fitted */
    cr_assert_eq(buf[0], 'x');
    close(p[0]);
    close(p[1]);
}

static void *flush_main(void *arg)
{
    struct writer *w = arg;
    vm_console_flush(&g.vm);
    atomic_store(&w->done, true);
    return NULL;
}

/* Held console bytes flushed into a full pipe wait like any console write, and end at the stop. */
Test(stop, console_flush_to_a_full_pipe_ends_at_stop)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int fl = fcntl(p[1], F_GETFL);
    cr_assert_eq(fcntl(p[1], F_SETFL, fl | O_NONBLOCK), 0);
    while (write(p[1], "f", 1) == 1) /* fill it up */
        ;
    cr_assert_eq(fcntl(p[1], F_SETFL, fl), 0);
    g.cfg.out_fd = p[1];
    g.vm.out_may_block = true;
    vm_console_write(&g.vm, "held", 4);
    cr_assert_eq(g.vm.out_len, 4);
    static struct writer w = {NULL, 0, false};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, flush_main, &w), 0);
    usleep(100000);
    cr_assert(!atomic_load(&w.done), "the flush did not wait for room in the pipe");
    vm_stop(&g.vm, 0, NULL);
    cr_assert(within_ms(&w.done, 5000), "the flush still waits after vm_stop()");
    pthread_join(t, NULL);
    cr_assert_eq(g.vm.out_len, 0, "dropped at the stop, not kept");
    close(p[0]);
    close(p[1]);
}

/* Waits up to 5 s for the signal thread to have taken a signal. */
static int received_within_5s(void)
{
    for (int i = 0; i < 500 && !stop_signals_received(); i++)
        usleep(10000);
    return stop_signals_received();
}

Test(stop, sigterm_stops_the_attached_vm)
{
    cr_assert_eq(stop_signals_start(), 0);
    stop_signals_attach(&g.vm);
    kill(getpid(), SIGTERM); /* to the process: the signal thread takes it */
    cr_assert_eq(received_within_5s(), SIGTERM);
    stop_signals_attach(NULL); /* under the lock the thread stops the VM with: done by now */
    cr_assert(atomic_load(&g.vm.stopping));
    cr_assert(g.vm.failed);
    cr_assert_str_eq(g.vm.fail_msg, "stopped by SIGTERM");
}

Test(stop, signal_before_attach_stops_at_attach)
{
    cr_assert_eq(stop_signals_start(), 0);
    kill(getpid(), SIGHUP);
    cr_assert_eq(received_within_5s(), SIGHUP);
    cr_assert(!atomic_load(&g.vm.stopping));
    stop_signals_attach(&g.vm);
    cr_assert(atomic_load(&g.vm.stopping));
    cr_assert_str_eq(g.vm.fail_msg, "stopped by SIGHUP");
    stop_signals_attach(NULL);
}

Test(stop, second_signal_exits_at_once)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (stop_signals_start() != 0)
            _exit(1);
        kill(getpid(), SIGINT);
        while (!stop_signals_received())
            usleep(1000);
        kill(getpid(), SIGINT);
        sleep(10);
        _exit(2); /* not reached when the second signal works */
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 128 + SIGINT);
}
