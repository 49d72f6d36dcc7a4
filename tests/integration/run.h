/* run.h: spawning the real chyve binary for integration tests and capturing what it did. */
#ifndef CHYVE_TEST_RUN_H
#define CHYVE_TEST_RUN_H

#include <stdbool.h>
#include <stddef.h>

#define RUN_TIMEOUT_S 120

/* The outcome of one chyve run. */
struct run {
    int status;     /* exit status 0-255, or -1 if it died by a signal */
    int signal;     /* the signal, if it died by one */
    bool timed_out; /* killed after RUN_TIMEOUT_S */
    char *out;      /* everything on stdout, NUL-terminated */
    size_t out_len;
    char *err; /* everything on stderr, NUL-terminated */
    size_t err_len;
};

/* The chyve binary ($CHYVE) and a guest in $GUEST_DIR (malloc'd path); fail the test if unset. */
const char *chyve_path(void);
char *guest_path(const char *name);

/* Skips the current test, with the reason, unless /dev/kvm opens read-write. */
void require_kvm(void);

/*
 * Runs chyve with the NULL-terminated arguments args (argv[1..]) and environment envp (NULL:
 * the fixed minimal test environment), stdin from /dev/null. Fails the test on a timeout.
 */
void run_chyve(struct run *r, const char *const *args, const char *const *envp);
void run_free(struct run *r);

/* Removes the directory tree at dir (rm -rf); a failure is reported on stderr. */
void remove_tree(const char *dir);

/* Seconds on the monotonic clock, for deadlines. */
double run_now_s(void);

/* Number of lines in s (a final line without '\n' counts). */
size_t count_lines(const char *s);
/* Case-insensitive substring search. */
bool contains_ci(const char *haystack, const char *needle);

#endif
