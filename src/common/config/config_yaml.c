/*
 * config_yaml.c: the YAML reader for configuration files, on libyaml's event parser. The
 * document is a mapping of sections, each a mapping of keys to a scalar or a sequence of scalars.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config/config_reader.h"

struct yaml_state {
    struct config_reader *r;
    yaml_parser_t parser;
    yaml_event_t ev; /* the current event, valid while `have` */
    bool have;
};

/* The line of the current event. */
static unsigned ev_line(const struct yaml_state *s)
{
    return (unsigned)s->ev.start_mark.line + 1;
}

/* Moves to the next event. Aliases are refused (a configuration file has no use for them). */
static int next(struct yaml_state *s)
{
    if (s->have)
        yaml_event_delete(&s->ev);
    s->have = false;
    if (!yaml_parser_parse(&s->parser, &s->ev)) {
        const yaml_parser_t *p = &s->parser;
        unsigned line = (unsigned)p->problem_mark.line + 1;
        if (p->context)
            return config_syntax_error(s->r, line, "YAML syntax error: %s %s", p->problem,
                                       p->context);
        return config_syntax_error(s->r, line, "YAML syntax error: %s",
                                   p->problem ? p->problem : "cannot parse");
    }
    s->have = true;
    if (s->ev.type == YAML_ALIAS_EVENT)
        return config_syntax_error(s->r, ev_line(s), "YAML aliases (*name) are not supported");
    return 0;
}

/* The current scalar's text; "" for a YAML null (empty, ~, null). */
static const char *scalar(const struct yaml_state *s)
{
    const char *v = (const char *)s->ev.data.scalar.value;
    if (s->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (!strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL")))
        return "";
    return v;
}

/*
 * Moves to the next entry of the mapping or sequence being read: returns 1 with a scalar
 * current, 0 at its `end` event, or -1 on a syntax error or, for any other event, with
 * "FILE:LINE: <printf message>".
 */
static int next_entry(struct yaml_state *s, yaml_event_type_t end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int next_entry(struct yaml_state *s, yaml_event_type_t end, const char *fmt, ...)
{
    if (next(s) != 0)
        return -1;
    if (s->ev.type == end)
        return 0;
    if (s->ev.type == YAML_SCALAR_EVENT)
        return 1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return config_syntax_error(s->r, ev_line(s), "%s", msg);
}

/* The value of one key: a scalar or a sequence of scalars. The key's scalar is current. */
static int read_key(struct yaml_state *s)
{
    char key[64];
    snprintf(key, sizeof(key), "%s", (const char *)s->ev.data.scalar.value);
    unsigned line = ev_line(s);
    if (next(s) != 0)
        return -1;
    if (s->ev.type == YAML_SCALAR_EVENT)
        return config_key(s->r, key, line, false) == 0 ? config_value(s->r, scalar(s), ev_line(s))
                                                       : -1;
    if (s->ev.type != YAML_SEQUENCE_START_EVENT) {
        if (config_key(s->r, key, line, false) != 0)
            return -1;
        return config_syntax_error(s->r, ev_line(s), "key '%s': expected a value, not a mapping",
                                   key);
    }
    if (config_key(s->r, key, line, true) != 0)
        return -1;
    int rc;
    while ((rc = next_entry(s, YAML_SEQUENCE_END_EVENT,
                            "key '%s': list items must be single values", key)) > 0)
        if (config_value(s->r, scalar(s), ev_line(s)) != 0)
            return -1;
    return rc;
}

/* One section: its name's scalar is current; its value is a mapping of keys, or null. */
static int read_section(struct yaml_state *s)
{
    char name[64];
    snprintf(name, sizeof(name), "%s", (const char *)s->ev.data.scalar.value);
    if (config_section(s->r, name, ev_line(s)) != 0 || next(s) != 0)
        return -1;
    if (s->ev.type == YAML_SCALAR_EVENT && *scalar(s) == '\0')
        return 0; /* "memory:" with nothing under it */
    if (s->ev.type != YAML_MAPPING_START_EVENT)
        return config_syntax_error(s->r, ev_line(s), "section '%s' must be a mapping of keys",
                                   name);
    int rc;
    while ((rc = next_entry(s, YAML_MAPPING_END_EVENT, "keys in section '%s' must be names",
                            name)) > 0)
        if (read_key(s) != 0)
            return -1;
    return rc;
}

/* The document: a mapping of sections, or nothing at all. */
static int read_document(struct yaml_state *s)
{
    if (next(s) != 0)
        return -1;
    if (s->ev.type == YAML_SCALAR_EVENT && *scalar(s) == '\0')
        return next(s); /* an empty document */
    if (s->ev.type != YAML_MAPPING_START_EVENT)
        return config_syntax_error(s->r, ev_line(s),
                                   "the file must be a mapping of sections (uhyve, memory, cpu, "
                                   "guest)");
    int rc;
    while ((rc = next_entry(s, YAML_MAPPING_END_EVENT, "section names must be plain names")) > 0)
        if (read_section(s) != 0)
            return -1;
    return rc < 0 ? -1 : next(s); /* DOCUMENT_END */
}

int config_read_yaml(struct config_reader *r, const char *text, size_t len)
{
    struct yaml_state s = {.r = r};
    if (!yaml_parser_initialize(&s.parser))
        return config_syntax_error(r, 1, "cannot start the YAML parser");
    yaml_parser_set_input_string(&s.parser, (const unsigned char *)text, len);
    int rc = next(&s); /* STREAM_START */
    bool docs = false;
    while (rc == 0) {
        if ((rc = next(&s)) != 0 || s.ev.type == YAML_STREAM_END_EVENT)
            break;
        if (docs) {
            rc = config_syntax_error(r, ev_line(&s), "only one YAML document is allowed");
            break;
        }
        docs = true;
        rc = read_document(&s);
    }
    if (s.have)
        yaml_event_delete(&s.ev);
    yaml_parser_delete(&s.parser);
    return rc;
}
