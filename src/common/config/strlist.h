/*
 * strlist.h: a growable, NULL-terminated list of strings that the list does not own, and a list
 * of strings that it does own (the copies a configuration file gives).
 */
#ifndef CHYVE_STRLIST_H
#define CHYVE_STRLIST_H

#include <stddef.h>

/* v[0 .. n) are the entries and v[n] is NULL once anything was pushed; zeroed means empty. */
struct strlist {
    const char **v;
    size_t n, cap;
};

/* Appends s to l (s is not copied). Returns 0, or -1 with err_msg(). */
int strlist_push(struct strlist *l, const char *s);

/* Frees l's array (not the strings) and leaves l empty. */
void strlist_free(struct strlist *l);

/* Strings the list owns (malloc'd, freed with it); zeroed means empty. */
struct strlist_owned {
    char **v;
    size_t n;
};

/* Appends the malloc'd string s to l, which then owns it. 0, or -1 with err_msg() (s not taken). */
int strlist_own(struct strlist_owned *l, char *s);

/* Frees l's strings and array and leaves l empty. */
void strlist_owned_free(struct strlist_owned *l);

#endif
