/* driver.h: what the arm64 test driver's case files share: running chyve and checking a run. */
#ifndef CHYVE_ARM64_DRIVER_H
#define CHYVE_ARM64_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define MIB (1ull << 20)

/* The outcome of one chyve run. */
struct run {
    int status; /* exit status, or -1 after a signal / timeout */
    char *out, *err;
    size_t out_len, err_len;
};

/* One test case: fills *r through run_chyve() and returns whether it passed (else see why). */
struct driver_case {
    const char *name;
    bool (*fn)(struct run *r);
};

extern const struct driver_case boot_cases[], file_cases[];
extern const size_t n_boot_cases, n_file_cases;

/* Why the current case failed, set by CHECK. */
extern char why[1024];

/* Records why the current case fails and makes it return false. */
#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            snprintf(why, sizeof(why), __VA_ARGS__);                                             \
            return false;                                                                        \
        }                                                                                        \
    } while (0)

/* The path of guest `name` (one of a few rotating static buffers). */
const char *guest(const char *name);

/* Runs chyve with args (NULL-terminated) and env (NULL: only PATH), stdin /dev/null. */
void run_chyve(struct run *r, const char *const *args, const char *const *env);

size_t count_lines(const char *s);

/* A clean run: the given status, exactly want on stdout, nothing on stderr. */
bool clean(const struct run *r, int status, const char *want);

/* A VM failure: status 3, stdout as given, one stderr line containing needle. */
bool vm_failure(const struct run *r, const char *want_out, const char *needle);

#endif
