/* bootargs.c: the /chosen/bootargs string and its shell-words quoting (ABI §7.3). */
#include "boot/bootargs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* A growing, always NUL-terminated string; ok turns false after the first allocation failure. */
struct sbuf {
    char *s;
    size_t len;
    size_t cap;
    bool ok;
};

/* Appends s[0, n) to b; after an allocation failure b->ok is false and appends do nothing. */
static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (!b->ok) {
        return;
    }
    if (n >= SIZE_MAX / 2 - b->len) {
        b->ok = false;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->s, cap);
        if (!p) {
            b->ok = false;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sbuf_str(struct sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

/* Appends quote(s[0, n)) to b (the shell-words rules of bootargs_quote()). */
static void sbuf_quoted(struct sbuf *b, const char *s, size_t n)
{
    static const char special[] = "\n'|&;<>()$`\\\" \t*?[#=%";
    bool need = n == 0;
    for (size_t i = 0; i < n && !need; i++) {
        /* U+02DC SMALL TILDE is the UTF-8 pair CB 9C; ASCII '~' needs no quotes. */
        if ((s[i] != '\0' && strchr(special, s[i])) ||
            ((unsigned char)s[i] == 0xCB && i + 1 < n && (unsigned char)s[i + 1] == 0x9C)) {
            need = true;
        }
    }
    if (!need) {
        sbuf_add(b, s, n);
        return;
    }
    sbuf_add(b, "'", 1);
    size_t run = 0; /* start of the current stretch without a single quote */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') {
            sbuf_add(b, s + run, i - run);
            sbuf_add(b, "'\\''", 4);
            run = i + 1;
        }
    }
    sbuf_add(b, s + run, n - run);
    sbuf_add(b, "'", 1);
}

/* Returns b's string, or NULL with err_msg() set (and b released) if an allocation failed. */
static char *sbuf_finish(struct sbuf *b)
{
    if (!b->ok) {
        free(b->s);
        err_set("out of memory building the kernel command line");
        return NULL;
    }
    return b->s;
}

char *bootargs_quote(const char *s)
{
    struct sbuf b = {.ok = true};
    sbuf_add(&b, "", 0);
    sbuf_quoted(&b, s, strlen(s));
    return sbuf_finish(&b);
}

/*
 * K = kernel args (unquoted) and env=KEY=VALUE words; A = application args, each quoted.
 * Result: "", K, "-- " A, or K " -- " A (ABI §7.3 step 4).
 */
char *bootargs_build(const char *const *args, size_t nargs, const char *const *env, size_t nenv)
{
    size_t nkern = nargs;
    for (size_t i = 0; i < nargs; i++) {
        if (strcmp(args[i], "--") == 0) {
            nkern = i;
            break;
        }
    }
    for (size_t i = 0; i < nenv; i++) {
        if (!strchr(env[i], '=')) {
            err_set("environment entry '%s' has no '=' (expected KEY=VALUE)", env[i]);
            return NULL;
        }
    }

    struct sbuf b = {.ok = true};
    sbuf_add(&b, "", 0); /* allocates, so that "" is a valid result */
    for (size_t i = 0; i < nkern; i++) {
        if (i > 0) {
            sbuf_add(&b, " ", 1);
        }
        sbuf_str(&b, args[i]);
    }
    for (size_t i = 0; i < nenv; i++) {
        const char *eq = strchr(env[i], '=');
        if (b.len) {
            sbuf_add(&b, " ", 1);
        }
        sbuf_add(&b, "env=", 4);
        sbuf_quoted(&b, env[i], (size_t)(eq - env[i]));
        sbuf_add(&b, "=", 1);
        sbuf_quoted(&b, eq + 1, strlen(eq + 1));
    }
    if (nkern + 1 < nargs) {
        sbuf_add(&b, b.len ? " -- " : "-- ", b.len ? 4 : 3);
        for (size_t i = nkern + 1; i < nargs; i++) {
            if (i > nkern + 1) {
                sbuf_add(&b, " ", 1);
            }
            sbuf_quoted(&b, args[i], strlen(args[i]));
        }
    }
    return sbuf_finish(&b);
}
