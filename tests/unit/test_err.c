/* test_err.c: err_set() and err_prefix(): one message per thread, prefixes prepended in place. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "err.h"

Test(err, set_returns_minus_one_and_records)
{
    cr_assert_eq(err_set("bad %s %d", "header", 7), -1);
    cr_assert_str_eq(err_msg(), "bad header 7");
}

Test(err, prefix_prepends_and_returns_minus_one)
{
    err_set("bad header");
    cr_assert_eq(err_prefix("image '%s': ", "x"), -1);
    cr_assert_str_eq(err_msg(), "image 'x': bad header");
}

Test(err, prefixes_stack_outermost_first)
{
    err_set("bad header");
    err_prefix("image '%s': ", "x");
    err_prefix("line %u: ", 3u);
    cr_assert_str_eq(err_msg(), "line 3: image 'x': bad header");
}

Test(err, prefix_of_empty_message_is_the_prefix)
{
    err_set("%s", "");
    err_prefix("only %s", "this");
    cr_assert_str_eq(err_msg(), "only this");
}

Test(err, empty_prefix_keeps_the_message)
{
    err_set("unchanged");
    err_prefix("%s", "");
    cr_assert_str_eq(err_msg(), "unchanged");
}

Test(err, prefix_may_quote_the_message_itself)
{
    err_set("inner");
    err_prefix("%s / ", err_msg());
    cr_assert_str_eq(err_msg(), "inner / inner");
}

/* The buffer holds 511 characters; a longer result keeps its beginning, like err_set(). */
Test(err, long_results_are_truncated_at_the_end)
{
    char a[600], b[120];
    memset(a, 'a', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memset(b, 'b', sizeof(b) - 1);
    b[sizeof(b) - 1] = '\0';

    err_set("%s", a);
    cr_assert_eq(strlen(err_msg()), 511);
    err_prefix("%s", b);
    const char *m = err_msg();
    cr_assert_eq(strlen(m), 511);
    cr_assert_eq(strspn(m, "b"), 119);
    cr_assert_eq(strspn(m + 119, "a"), 511 - 119);

    err_set("tail");
    err_prefix("%s", a); /* a prefix longer than the buffer leaves no room for the message */
    m = err_msg();
    cr_assert_eq(strlen(m), 511);
    cr_assert_eq(strspn(m, "a"), 511);
}

static void *other_thread(void *arg)
{
    (void)arg;
    err_set("other");
    err_prefix("thread: ");
    return strcmp(err_msg(), "thread: other") == 0 ? (void *)1 : NULL;
}

Test(err, messages_are_per_thread)
{
    err_set("main");
    pthread_t t;
    void *ok = NULL;
    cr_assert_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    cr_assert_eq(pthread_join(t, &ok), 0);
    cr_assert_not_null(ok, "the other thread saw a mixed message");
    cr_assert_str_eq(err_msg(), "main");
    err_prefix("still ");
    cr_assert_str_eq(err_msg(), "still main");
}
