/* test_toml.c: the strict TOML subset reader: values, tables, and every refusal with its line. */
#include <criterion/criterion.h>
#include <string.h>

#include "err.h"
#include "loader/toml.h"

static struct toml_doc doc;

static void parse_ok(const char *text)
{
    int rc = toml_parse(text, strlen(text), &doc);
    cr_assert_eq(rc, 0, "parse failed: %s\n--- text:\n%s", err_msg(), text);
}

/* Parsing must fail with exactly this message. */
static void parse_err(const char *text, const char *msg)
{
    struct toml_doc d;
    int rc = toml_parse(text, strlen(text), &d);
    cr_assert_eq(rc, -1, "parse of:\n%s\nsucceeded, want '%s'", text, msg);
    cr_assert_str_eq(err_msg(), msg, "for text:\n%s", text);
    cr_assert_eq(d.n, 0);
    cr_assert_null(d.e);
}

static const struct toml_value *get(const char *table, const char *key)
{
    const struct toml_entry *e = toml_get(&doc, table, key);
    cr_assert_not_null(e, "no %s.%s", table, key);
    return &e->v;
}

static void fini(void)
{
    toml_free(&doc);
}

TestSuite(toml, .fini = fini);

Test(toml, hermit_config)
{
    parse_ok("# Hermit image\n"
             "version = \"1\"\n"
             "kernel = 'bin/app'   # the ELF\n"
             "\n"
             "[input]\n"
             "kernel_args = []\n"
             "app_args = [\"a b\", 'c\\d', ]\n"
             "env_vars = [\n"
             "  \"X=1\", # first\n"
             "  \"Y=\\u00e9\\t\"\n"
             "]\n"
             "[requirements]\n"
             "memory = \"64MiB\"\r\n"
             "cpus = 2\n");
    cr_assert_eq(doc.n, 7);
    cr_assert_str_eq(get("", "version")->s, "1");
    cr_assert_str_eq(get("", "kernel")->s, "bin/app");
    const struct toml_value *a = get("input", "app_args");
    cr_assert_eq(a->type, TOML_ARRAY);
    cr_assert_eq(a->n, 2);
    cr_assert_str_eq(a->items[0].s, "a b");
    cr_assert_str_eq(a->items[1].s, "c\\d"); /* literal strings keep backslashes */
    cr_assert_eq(get("input", "kernel_args")->n, 0);
    const struct toml_value *e = get("input", "env_vars");
    cr_assert_eq(e->n, 2);
    cr_assert_str_eq(e->items[1].s, "Y=\xc3\xa9\t");
    cr_assert_eq(get("requirements", "cpus")->type, TOML_INT);
    cr_assert_eq(get("requirements", "cpus")->i, 2);
    cr_assert_str_eq(get("requirements", "memory")->s, "64MiB");
    cr_assert_null(toml_get(&doc, "", "cpus"));
    cr_assert_eq(toml_get(&doc, "input", "env_vars")->line, 8);
}

Test(toml, scalars)
{
    parse_ok("a = 0\nb = -17\nc = +1_000\n"
             "e = 0xDEAD_beef\nf = 0o777\ng = 0b101\nh = true\ni = false\n"
             "j = 9223372036854775807\nk = -9223372036854775808\n"
             "\"quoted key\" = \"\\\"\\\\\\b\\f\\n\\r\\U0001F600\"\n"
             "bare-key_2 = ''\n");
    cr_assert_eq(get("", "a")->i, 0);
    cr_assert_eq(get("", "b")->i, -17);
    cr_assert_eq(get("", "c")->i, 1000);
    cr_assert_eq(get("", "e")->i, 0xDEADBEEF);
    cr_assert_eq(get("", "f")->i, 0777);
    cr_assert_eq(get("", "g")->i, 5);
    cr_assert_eq(get("", "h")->b, true);
    cr_assert_eq(get("", "h")->type, TOML_BOOL);
    cr_assert_eq(get("", "i")->b, false);
    cr_assert_eq(get("", "j")->i, INT64_MAX);
    cr_assert_eq(get("", "k")->i, INT64_MIN);
    cr_assert_str_eq(get("", "quoted key")->s, "\"\\\b\f\n\r\xf0\x9f\x98\x80");
    cr_assert_str_eq(get("", "bare-key_2")->s, "");
}

Test(toml, d_with_underscore_after_prefix_is_refused)
{
    /* "0x_ff": '_' must sit between digits */
    parse_err("d = 0x_ff\n", "line 1: key 'd': invalid value");
}

Test(toml, empty_and_comment_only)
{
    parse_ok("");
    cr_assert_eq(doc.n, 0);
    parse_ok("\xEF\xBB\xBF# only a comment\n\n   \t\n");
    cr_assert_eq(doc.n, 0);
}

Test(toml, refusals_name_the_line_and_key)
{
    parse_err("a = 1\na = 2\n", "line 2: key 'a' defined twice");
    parse_err("[t]\nx = 1\n[t]\n", "line 3: table [t] defined twice");
    parse_err("t.x = 1\n[t]\nx = 2\n", "line 3: key 't.x' defined twice");
    parse_err("a = 1.5\n", "line 1: key 'a': floats, dates and times are not supported");
    parse_err("a = 1979-05-27\n", "line 1: key 'a': floats, dates and times are not supported");
    parse_err("a = 1e3\n", "line 1: key 'a': floats, dates and times are not supported");
    parse_err("a = inf\n", "line 1: key 'a': invalid value (strings need quotes; floats and "
                           "dates are not supported)");
    parse_err("[[t]]\n", "line 1: arrays of tables ([[...]]) are not supported");
    parse_err("a = [{x = 1}]\n", "line 1: key 'a': inline tables inside arrays are not supported");
    parse_err("a = [[1]]\n", "line 1: key 'a': nested arrays are not supported");
    parse_err("\n\na = \"open\n", "line 3: key 'a': unterminated string");
    parse_err("a = \"\"\"open\n\n", "line 3: key 'a': unterminated multi-line string");
    parse_err("a = [1, 2\n", "line 2: key 'a': unterminated array");
    parse_err("a = [1 2]\n", "line 1: key 'a': expected ',' or ']' in an array");
    parse_err("a = {x = 1\n}\n",
              "line 1: key 'a': expected ',' or '}' in an inline table (it must be on one line)");
    parse_err("a = {x = 1,}\n",
              "line 1: key 'a': a trailing ',' is not allowed in an inline table");
    parse_err("t = {x = 1, x = 2}\n", "line 1: key 't.x' defined twice");
    parse_err("\"a.b\" = 1\n", "line 1: a quoted key containing '.' is not supported");
    parse_err("'''k''' = 1\n", "line 1: a key cannot be a multi-line string");
    parse_err("a = \"\\q\"\n", "line 1: key 'a': unknown escape '\\q' in a string");
    parse_err("a = \"\\u12\"\n", "line 1: key 'a': bad \\u escape: expected 4 hex digits");
    parse_err("a = \"\\uD800\"\n", "line 1: key 'a': escape \\uD800 is not an allowed character");
    parse_err("a = \"\\u0000\"\n", "line 1: key 'a': escape \\u0000 is not an allowed character");
    parse_err("a = \"x\ty\x01\"\n", "line 1: key 'a': control character in a string");
    parse_err("a = 1 b = 2\n", "line 1: unexpected 'b' after the value");
    parse_err("a =\n", "line 1: key 'a': missing value");
    parse_err("= 1\n", "line 1: expected a key");
    parse_err("a 1\n", "line 1: expected '=' after key 'a'");
    parse_err("a.b 1\n", "line 1: expected '=' after key 'a.b'");
    parse_err("a = 9223372036854775808\n", "line 1: key 'a': integer out of range");
    parse_err("a = -9223372036854775809\n", "line 1: key 'a': integer out of range");
    parse_err("a = 007\n", "line 1: key 'a': leading zeros are not allowed in integers");
    parse_err("a = -0x1\n", "line 1: key 'a': a prefixed integer cannot have a sign");
    parse_err("a = 1__0\n", "line 1: unexpected '_' after the value");
    parse_err("a = tru\n", "line 1: key 'a': invalid value (strings need quotes; floats and "
                           "dates are not supported)");
    parse_err("[]\n", "line 1: expected a key");
    parse_err("[\"\"]\n", "line 1: empty table name");
    parse_err("[t\n", "line 1: expected ']' after the table name");
    parse_err("# bad \x7f comment\n", "line 1: control character in a comment");
    parse_err("a = \"\xff\"\n", "the text is not valid UTF-8");
}

/* What TOML 1.0 has and uhyve's files may use: dotted keys, inline tables, multi-line strings. */
Test(toml, dotted_keys_inline_tables_multiline_strings)
{
    parse_ok("memory.memory_size = '100MiB'\n"
             "cpu = { cpu_count = 4, affinity = [1, 2, 3, 4] }\n"
             "[uhyve . inner]\n"
             "x . \"y\" = 1_000\n"
             "[guest]\n"
             "env_vars = [\n  'foo=bar', # a comment\n  \"\"\"a\nb\"\"\",\n]\n"
             "t = { a.b = true, c = {} }\n"
             "ml = \"\"\"\n  one \\\n     two\n\"\"\"\n"
             "lit = '''\nC:\\path\\ ''quoted'''''\n");
    cr_assert_str_eq(get("memory", "memory_size")->s, "100MiB");
    cr_assert_eq(get("cpu", "cpu_count")->i, 4);
    cr_assert_eq(get("cpu", "affinity")->n, 4);
    cr_assert_eq(get("cpu", "affinity")->items[3].i, 4);
    cr_assert_eq(get("uhyve.inner.x", "y")->i, 1000);
    const struct toml_value *ev = get("guest", "env_vars");
    cr_assert_eq(ev->n, 2);
    cr_assert_str_eq(ev->items[0].s, "foo=bar");
    cr_assert_str_eq(ev->items[1].s, "a\nb");
    cr_assert(get("guest.t.a", "b")->b);
    cr_assert_null(toml_get(&doc, "guest.t", "c")); /* an empty inline table adds no key */
    cr_assert_str_eq(get("guest", "ml")->s, "  one two\n");
    cr_assert_str_eq(get("guest", "lit")->s, "C:\\path\\ ''quoted''");
    cr_assert_eq(toml_get(&doc, "guest", "lit")->line, 16);
}

Test(toml, nul_byte_is_refused)
{
    struct toml_doc d;
    cr_assert_eq(toml_parse("a = 1\0", 6, &d), -1);
    cr_assert_str_eq(err_msg(), "line 1: NUL byte in the text");
}

Test(toml, keys_per_table_are_separate)
{
    parse_ok("x = 1\n[a]\nx = 2\n[b]\nx = 3\n");
    cr_assert_eq(get("", "x")->i, 1);
    cr_assert_eq(get("a", "x")->i, 2);
    cr_assert_eq(get("b", "x")->i, 3);
    cr_assert_str_eq(toml_type_name(TOML_ARRAY), "array");
}

Test(toml, long_string_limit)
{
    size_t n = 70000;
    char *t = malloc(n + 16);
    cr_assert_not_null(t);
    strcpy(t, "a = \"");
    memset(t + 5, 'x', n);
    strcpy(t + 5 + n, "\"\n");
    struct toml_doc d;
    cr_assert_eq(toml_parse(t, strlen(t), &d), -1);
    cr_assert_str_eq(err_msg(), "line 1: key 'a': string longer than 65536 bytes");
    free(t);
}
