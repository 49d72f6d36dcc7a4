/* test_bootargs.c: /chosen/bootargs shapes and shell-words quoting (ABI §7.3). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bootargs.h"
#include "err.h"

static void check_build(const char *const *args, size_t nargs, const char *const *env, size_t nenv,
                        const char *want)
{
    char *got = bootargs_build(args, nargs, env, nenv);
    cr_assert_not_null(got, "bootargs_build failed: %s", err_msg());
    cr_assert_str_eq(got, want);
    free(got);
}

static void check_quote(const char *in, const char *want)
{
    char *got = bootargs_quote(in);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, want, "quote(\"%s\")", in);
    free(got);
}

Test(bootargs, shape_empty)
{
    check_build(NULL, 0, NULL, 0, "");
    const char *a[] = {"--"};
    check_build(a, 1, NULL, 0, "");
}

Test(bootargs, shape_kernel_only)
{
    const char *a[] = {"-freq", "2000", "--"};
    check_build(a, 2, NULL, 0, "-freq 2000");
    check_build(a, 3, NULL, 0, "-freq 2000");
}

Test(bootargs, shape_app_only)
{
    const char *a[] = {"--", "a", "b"};
    check_build(a, 3, NULL, 0, "-- a b");
}

Test(bootargs, shape_kernel_and_app)
{
    const char *a[] = {"-ip", "10.0.5.3", "--", "x", "y"};
    check_build(a, 5, NULL, 0, "-ip 10.0.5.3 -- x y");
    const char *e[] = {"FOO=bar"};
    const char *b[] = {"--", "a", "b"};
    check_build(b, 3, e, 1, "env=FOO=bar -- a b");
}

Test(bootargs, env_words_follow_kernel_args)
{
    const char *a[] = {"-freq", "2000"};
    const char *e[] = {"A=1", "PATH=/bin:/usr/bin", "EMPTY=", "SP=a b", "EQ=x=y", "Q=it's"};
    check_build(a, 2, e, 6,
                "-freq 2000 env=A=1 env=PATH=/bin:/usr/bin env=EMPTY='' env=SP='a b' "
                "env=EQ='x=y' env=Q='it'\\''s'");
    check_build(NULL, 0, e, 1, "env=A=1");
}

Test(bootargs, env_key_quoted)
{
    const char *e[] = {"MY KEY=v", "=v"};
    check_build(NULL, 0, e, 2, "env='MY KEY'=v env=''=v");
}

Test(bootargs, first_double_dash_splits)
{
    const char *a[] = {"k", "--", "y", "--", "z"};
    check_build(a, 5, NULL, 0, "k -- y -- z");
}

Test(bootargs, kernel_args_unquoted_app_args_quoted)
{
    const char *a[] = {"-mount", "/a b", "--", "hello world", "", "it's", "plain"};
    check_build(a, 7, NULL, 0, "-mount /a b -- 'hello world' '' 'it'\\''s' plain");
}

Test(bootargs, entry_without_equals_fails)
{
    const char *e[] = {"GOOD=1", "NOEQUALS"};
    char *got = bootargs_build(NULL, 0, e, 2);
    cr_assert_null(got);
    cr_assert_str_eq(err_msg(), "environment entry 'NOEQUALS' has no '=' (expected KEY=VALUE)");
}

Test(bootargs, quote_table)
{
    check_quote("", "''");
    check_quote("abc", "abc");
    check_quote("/usr/bin:-_.,+@%!", "'/usr/bin:-_.,+@%!'"); /* % is special */
    check_quote("/usr/bin:-_.,+@!{}]^", "/usr/bin:-_.,+@!{}]^");
    check_quote("a b", "'a b'");
    check_quote("a\tb", "'a\tb'");
    check_quote("a\nb", "'a\nb'");
    check_quote("'", "''\\'''");
    check_quote("don't", "'don'\\''t'");
    check_quote("a=b", "'a=b'");
    check_quote("~", "~");
    check_quote("~/x", "~/x");
    check_quote("\xcb\x9c", "'\xcb\x9c'");                 /* U+02DC SMALL TILDE */
    check_quote("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"); /* other UTF-8 stays bare */
    check_quote("\"x\"", "'\"x\"'");
    check_quote("$HOME", "'$HOME'");
}

/* Every character of the shell-words special set forces quotes on its own. */
Test(bootargs, quote_each_special)
{
    const char *special = "\n'|&;<>()$`\\\" \t*?[#=%";
    for (const char *c = special; *c; c++) {
        char in[4] = {'x', *c, 'y', 0};
        char *got = bootargs_quote(in);
        cr_assert_not_null(got);
        cr_assert_eq(got[0], '\'', "char 0x%02x not quoted: %s", *c, got);
        free(got);
    }
}
