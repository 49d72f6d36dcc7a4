/*
 * yaml_lookup.h: reading values out of a YAML file by path ("total/hypercalls/v1.Exit",
 * "cpus/1/id"), for the tests of --stats-file. Header-only: unit and integration tests use it.
 */
#ifndef CHYVE_YAML_LOOKUP_H
#define CHYVE_YAML_LOOKUP_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Loads the YAML document in the file at path into doc; false if it cannot be read or parsed. */
static inline bool yaml_load_file(const char *path, yaml_document_t *doc)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    yaml_parser_t p;
    bool ok = yaml_parser_initialize(&p);
    if (ok) {
        yaml_parser_set_input_file(&p, f);
        ok = yaml_parser_load(&p, doc) && yaml_document_get_root_node(doc) != NULL;
        yaml_parser_delete(&p);
    }
    fclose(f);
    return ok;
}

/* The node at path: '/'-separated mapping keys, or item numbers for sequences; NULL if absent. */
static inline yaml_node_t *yaml_node_at(yaml_document_t *doc, const char *path)
{
    yaml_node_t *n = yaml_document_get_root_node(doc);
    while (n && *path) {
        size_t len = strcspn(path, "/");
        yaml_node_t *next = NULL;
        if (n->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
                 pr < n->data.mapping.pairs.top && !next; pr++) {
                yaml_node_t *k = yaml_document_get_node(doc, pr->key);
                if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == len &&
                    !memcmp(k->data.scalar.value, path, len))
                    next = yaml_document_get_node(doc, pr->value);
            }
        } else if (n->type == YAML_SEQUENCE_NODE) {
            long i = strtol(path, NULL, 10);
            yaml_node_item_t *items = n->data.sequence.items.start;
            if (i >= 0 && i < n->data.sequence.items.top - items)
                next = yaml_document_get_node(doc, items[i]);
        }
        n = next;
        path += len;
        if (*path == '/')
            path++;
    }
    return n;
}

/* The scalar at path, or NULL. */
static inline const char *yaml_get(yaml_document_t *doc, const char *path)
{
    yaml_node_t *n = yaml_node_at(doc, path);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The number at path, or -1 if there is no scalar there. */
static inline long long yaml_num(yaml_document_t *doc, const char *path)
{
    const char *v = yaml_get(doc, path);
    return v ? strtoll(v, NULL, 10) : -1;
}

#endif
