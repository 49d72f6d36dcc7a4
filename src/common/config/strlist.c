/* strlist.c: the growable string lists of the settings (argv slices, environment, mappings). */
#include <stdlib.h>
#include <string.h>

#include "config/strlist.h"
#include "err.h"

int strlist_push(struct strlist *l, const char *s)
{
    if (l->n + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof(char *));
        if (!v)
            return err_set("out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (char *)s;
    l->v[l->n] = NULL;
    return 0;
}

void strlist_free(struct strlist *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}
