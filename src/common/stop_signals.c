/* stop_signals.c: SIGINT, SIGTERM and SIGHUP stop the run from a sigwait() thread. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "host.h"
#include "log.h"
#include "stop_signals.h"
#include "vm.h"

static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm *attached; /* under attach_lock */
static atomic_int received; /* the first signal, or 0 */
static sigset_t stop_set;
static pthread_t waiter;
static atomic_bool started, quitting; /* quitting: stop_signals_stop() woke the thread to end */

/* The failure message of a run a signal stopped. */
static const char *stop_message(int sig)
{
    switch (sig) {
    case SIGINT:
        return "stopped by SIGINT";
    case SIGTERM:
        return "stopped by SIGTERM";
    default:
        return "stopped by SIGHUP";
    }
}

/* Under attach_lock: stops the attached VM if a signal has come. */
static void stop_attached(void)
{
    int sig = atomic_load(&received);
    if (sig && attached)
        vm_stop(attached, 0, stop_message(sig));
}

static void *stop_signals_main(void *arg)
{
    (void)arg;
    /* Nothing to set up: confined before it can meet a VM. */
    if (host_confine_thread(HOST_THREAD_SIGNALS) != 0)
        log_warn("%s; the signal thread runs unconfined", err_msg());
    for (;;) {
        int sig;
        if (sigwait(&stop_set, &sig) != 0)
            continue;
        if (atomic_load(&quitting))
            return NULL;
        int first = 0;
        if (!atomic_compare_exchange_strong(&received, &first, sig)) {
            /* The second one: the user does not want to wait for the clean stop. */
            static const char msg[] = "chyve: second stop signal: exiting at once\n";
            ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
            (void)n;
            _exit(128 + sig);
        }
        pthread_mutex_lock(&attach_lock);
        stop_attached();
        pthread_mutex_unlock(&attach_lock);
    }
    return NULL;
}

int stop_signals_start(void)
{
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    int e = pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    if (e != 0)
        return err_set("cannot block the stop signals: %s", strerror(e));
    e = pthread_create(&waiter, NULL, stop_signals_main, NULL);
    if (e != 0) {
        pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
        return err_set("cannot start the signal thread: %s", strerror(e));
    }
    atomic_store(&started, true);
    return 0;
}

void stop_signals_stop(void)
{
    if (!atomic_exchange(&started, false))
        return;
    atomic_store(&quitting, true);
    /* One of its own signals, sent to it alone: sigwait() returns and sees quitting. */
    if (pthread_kill(waiter, SIGHUP) == 0)
        pthread_join(waiter, NULL);
}

void stop_signals_attach(struct vm *vm)
{
    pthread_mutex_lock(&attach_lock);
    attached = vm;
    stop_attached();
    pthread_mutex_unlock(&attach_lock);
}

int stop_signals_received(void)
{
    return atomic_load(&received);
}
