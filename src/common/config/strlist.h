/* strlist.h: a growable, NULL-terminated list of strings that the list does not own. */
#ifndef CHYVE_STRLIST_H
#define CHYVE_STRLIST_H

#include <stddef.h>

/* v[0 .. n) are the entries and v[n] is NULL once anything was pushed; zeroed means empty. */
struct strlist {
    char **v;
    size_t n, cap;
};

/* Appends s to l (s is not copied). Returns 0, or -1 with err_msg(). */
int strlist_push(struct strlist *l, const char *s);

/* Frees l's array (not the strings) and leaves l empty. */
void strlist_free(struct strlist *l);

#endif
