/*
 * peakrss.c: the peak resident set of a program's own image, in KiB: runs COMMAND under ptrace and
 * reads VmHWM from /proc/PID/status at its exit stop (PTRACE_EVENT_EXIT), before the memory is
 * gone. getrusage() cannot tell this: ru_maxrss also counts the pages of the process that forked
 * it, as they stood before exec. Prints "KiB" on stdout; the exit status is COMMAND's (its
 * output goes where ours goes).
 *   peakrss COMMAND [ARG...]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* VmHWM of pid in KiB, or -1. */
static long vm_hwm(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: peakrss COMMAND [ARG...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("peakrss: fork");
        return 2;
    }
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(127);
        raise(SIGSTOP); /* let the parent set its options before exec */
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
        fprintf(stderr, "peakrss: the child did not stop\n");
        return 2;
    }
    ptrace(PTRACE_SETOPTIONS, pid, NULL,
           (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
    long kib = -1;
    int sig = 0;
    for (;;) {
        if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig) != 0 && errno != ESRCH)
            break;
        sig = 0;
        if (waitpid(pid, &st, 0) != pid)
            break;
        if (WIFEXITED(st) || WIFSIGNALED(st))
            break;
        if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
            kib = vm_hwm(pid);
        } else if (st >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
            sig = WSTOPSIG(st); /* a signal for the program: deliver it */
            if (sig == SIGSTOP && kib < 0)
                sig = 0; /* our own initial stop, seen again after the options */
        }
    }
    printf("%ld\n", kib);
    fflush(stdout);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
