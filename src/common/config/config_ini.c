/*
 * config_ini.c: the INI reader for configuration files, on top of inih. Lines are fed to inih
 * one at a time so that every section, key and error carries its line number.
 */
#include <ini.h>
#include <stdbool.h>
#include <string.h>

#include "config/config_reader.h"

struct ini_state {
    struct config_reader *r;
    const char *p, *end; /* the text not yet handed to inih */
    unsigned line;       /* lines handed to inih so far: the line being parsed */
    unsigned err_line;   /* line of the first error reported by config_*(), 0 if none */
};

/* Records a failed config_*() call; inih is then given no more lines. */
static void fail(struct ini_state *s)
{
    if (!s->err_line)
        s->err_line = s->line;
}

/*
 * A section header "[name]" as inih reads it: name up to the first ']' (an inline comment,
 * ';' after a blank, ends the search). Reports it to the config reader; false on error.
 */
static bool header(struct ini_state *s, const char *l)
{
    const char *q = l + 1;
    while (*q && *q != ']' && !(*q == ';' && (q[-1] == ' ' || q[-1] == '\t')))
        q++;
    if (*q != ']')
        return true; /* inih reports the syntax error */
    char name[64];
    size_t n = (size_t)(q - l - 1);
    if (n >= sizeof(name))
        n = sizeof(name) - 1;
    memcpy(name, l + 1, n);
    name[n] = '\0';
    return config_section(s->r, name, s->line) == 0;
}

/*
 * inih's line source: the next line without its leading blanks, so that inih never treats an
 * indented line as a continuation of the previous value (indentation means nothing here).
 */
static char *next_line(char *str, int num, void *stream)
{
    struct ini_state *s = stream;
    if (s->err_line || s->p >= s->end)
        return NULL;
    const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
    const char *l = s->p, *e = nl ? nl : s->end;
    s->p = nl ? nl + 1 : s->end;
    s->line++;
    if (s->line == 1 && e - l >= 3 && !memcmp(l, "\xEF\xBB\xBF", 3))
        l += 3; /* UTF-8 byte order mark */
    while (l < e && (*l == ' ' || *l == '\t'))
        l++;
    if (e > l && e[-1] == '\r')
        e--;
    if (e - l > num - 1) {
        config_syntax_error(s->r, s->line, "line longer than %d characters", num - 1);
        fail(s);
        return NULL;
    }
    memcpy(str, l, (size_t)(e - l));
    str[e - l] = '\0';
    if (str[0] == '[' && !header(s, str)) {
        fail(s);
        return NULL;
    }
    return str;
}

/* inih's callback for one "key = value" line; a value in matching quotes loses them. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    (void)section; /* header() told the config reader already */
    struct ini_state *s = user;
    char v[256];
    size_t n = strlen(value);
    if (n >= sizeof(v))
        n = sizeof(v) - 1;
    memcpy(v, value, n);
    v[n] = '\0';
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        memmove(v, v + 1, n - 2);
        v[n - 2] = '\0';
    }
    if (config_key(s->r, name, s->line, false) != 0 || config_value(s->r, v, s->line) != 0) {
        fail(s);
        return 0;
    }
    return 1;
}

int config_read_ini(struct config_reader *r, const char *text, size_t len)
{
    struct ini_state s = {.r = r, .p = text, .end = text + len};
    int e = ini_parse_stream(next_line, &s, on_value, &s);
    /* inih returns the first line it found wrong: its own syntax errors or our refusals. */
    if (e > 0 && (!s.err_line || (unsigned)e < s.err_line))
        return config_syntax_error(r, (unsigned)e,
                                   "syntax error: expected [section], key = value or a comment");
    if (s.err_line)
        return -1;
    if (e != 0)
        return config_syntax_error(r, s.line, "cannot parse the file (inih error %d)", e);
    return 0;
}
