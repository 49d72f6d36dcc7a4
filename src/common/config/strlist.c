/* strlist.c: the settings' string lists (argv slices, environment, mappings, owned copies). */
#include <stdlib.h>
#include <string.h>

#include "config/strlist.h"
#include "err.h"

int strlist_push(struct strlist *l, const char *s)
{
    if (l->n + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return err_set("out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
    return 0;
}

void strlist_free(struct strlist *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int strlist_own(struct strlist_owned *l, char *s)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return err_set("out of memory");
    l->v = v;
    l->v[l->n++] = s;
    return 0;
}

void strlist_owned_free(struct strlist_owned *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}
