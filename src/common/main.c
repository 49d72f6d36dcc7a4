/* main.c: chyve's entry point: parse the command line, run the VM, turn the outcome into status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "chyve_config.h"
#include "backend.h"
#include "config/cli.h"
#include "err.h"
#include "host.h"
#include "log.h"
#include "stop_signals.h"
#include "vm.h"

extern char **environ;

int main(int argc, char **argv)
{
    /* A guest writing to a closed pipe must not kill chyve; the write error is handled instead. */
    signal(SIGPIPE, SIG_IGN);

    struct cli *c;
    if (cli_parse(&c, argc, (const char *const *)argv, (const char *const *)environ) != 0) {
        fprintf(stderr, "chyve: error: %s\n", err_msg());
        cli_free(c);
        return EXIT_USAGE;
    }
    if (cli_action(c) == CLI_HELP) {
        fputs(cli_usage, stdout);
        cli_free(c);
        return 0;
    }
    if (cli_action(c) == CLI_VERSION) {
        printf("chyve %s (%s, %s)\n", CHYVE_VERSION, CHYVE_ARCH, CHYVE_BACKEND);
        cli_free(c);
        return 0;
    }

    /* -o and --stats-file are created before the VM starts, so that a bad path costs nothing. */
    if (cli_open_output(c) != 0) {
        fprintf(stderr, "chyve: error: %s\n", err_msg());
        cli_free(c);
        return EXIT_USAGE;
    }
    /* Before the first thread: each thread confines itself once its set-up is over (host.h). */
    enum vm_seccomp sc = cli_config(c)->seccomp;
    int rc = host_confine_init(sc == VM_SECCOMP_STRICT ? HOST_CONFINE_STRICT
                               : sc == VM_SECCOMP_LOG  ? HOST_CONFINE_LOG
                                                       : HOST_CONFINE_NONE);
    if (rc == HOST_UNAVAILABLE) {
        log_info("seccomp: this host cannot filter system calls; threads are not confined");
    } else if (rc != 0) {
        fprintf(stderr, "chyve: error: %s\n", err_msg());
        cli_free(c);
        return EXIT_VM_FAILURE;
    }
    /* From here on, SIGINT/SIGTERM/SIGHUP stop the run cleanly (before vm_run makes threads). */
    if (stop_signals_start() != 0) {
        fprintf(stderr, "chyve: error: %s\n", err_msg());
        cli_free(c);
        return EXIT_VM_FAILURE;
    }
    /* The backend's slow queries (KVM x86_64: CPUID) overlap the loading of the kernel. */
    backend_warm_up();
    int code = 0, status;
    enum vm_result result = vm_run(cli_config(c), &code);
    log_limit_flush(); /* the warnings the guest made too many of, before the final error */
    switch (result) {
    case VM_EXITED:
        status = code & 0xFF; /* as uhyve: exit(-1) becomes 255 */
        break;
    case VM_START_FAILED:
        fprintf(stderr, "chyve: error: %s\n", err_msg());
        status = EXIT_USAGE;
        break;
    default:
        fprintf(stderr, "chyve: error: %s\n", err_msg());
        status = EXIT_VM_FAILURE;
        break;
    }
    stop_signals_stop();
    backend_warm_up_end(); /* a run that failed before its VM leaves the thread to join here */
    /* Stopped by a signal: 128 + its number, as a shell reports a process it killed. */
    int sig = stop_signals_received();
    if (sig)
        status = 128 + sig;
    cli_free(c);
    return status;
}
