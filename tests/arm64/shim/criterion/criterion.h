/*
 * criterion.h (arm64 driver only): the part of Criterion's API that tests/integration uses, so
 * that the arm64 driver compiles those test files unchanged into one static aarch64 program
 * (Criterion is not cross-built). driver.c registers and runs the tests; see its header.
 */
#ifndef CHYVE_MINI_CRITERION_H
#define CHYVE_MINI_CRITERION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A suite's options, named as in Criterion's TestSuite(name, .init = ..., ...). */
struct mc_suite {
    const char *name;
    void (*init)(void);
    void (*fini)(void);
    double timeout; /* seconds; 0: the driver's default */
    struct mc_suite *next;
};

/* One Test(suite, name). */
struct mc_test {
    const char *suite, *name;
    void (*fn)(void);
    struct mc_test *next;
};

void mc_register_suite(struct mc_suite *s);
void mc_register_test(struct mc_test *t);

/*
 * Ends the current test as failed (`what` is the failed condition, or NULL; fmt may be ""), or
 * skipped; both run the suite's fini.
 */
__attribute__((noreturn)) void mc_fail(const char *file, int line, const char *what,
                                       const char *fmt, ...);
__attribute__((noreturn)) void mc_skip(const char *fmt, ...);
void mc_log(const char *fmt, ...);
/* Fails with both strings shown unless a and b are equal strings. */
void mc_str_eq(const char *file, int line, const char *what, const char *a, const char *b,
               const char *fmt, ...);

#define TestSuite(sname, ...)                                                                      \
    static struct mc_suite mc_suite_##sname = {.name = #sname, __VA_ARGS__};                       \
    __attribute__((constructor)) static void mc_suite_reg_##sname(void)                            \
    {                                                                                              \
        mc_register_suite(&mc_suite_##sname);                                                      \
    }

/* Criterion's extra test options (after the name) are accepted and ignored. */
#define Test(sname, tname, ...)                                                                    \
    static void mc_fn_##sname##_##tname(void);                                                     \
    static struct mc_test mc_test_##sname##_##tname = {#sname, #tname, mc_fn_##sname##_##tname,    \
                                                       NULL};                                      \
    __attribute__((constructor)) static void mc_reg_##sname##_##tname(void)                        \
    {                                                                                              \
        mc_register_test(&mc_test_##sname##_##tname);                                              \
    }                                                                                              \
    static void mc_fn_##sname##_##tname(void)

/* The optional message is a format literal and its arguments, pasted after "". */
#define cr_assert(cond, ...) ((cond) ? (void)0 : mc_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__))
#define cr_assert_not(cond, ...) cr_assert(!(cond), __VA_ARGS__)
#define cr_assert_fail(...) mc_fail(__FILE__, __LINE__, NULL, "" __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                                \
    mc_str_eq(__FILE__, __LINE__, #a " == " #b, (a), (b), "" __VA_ARGS__)
#define cr_skip_test(...) mc_skip(__VA_ARGS__)
#define cr_log_info(...) mc_log(__VA_ARGS__)

#endif
