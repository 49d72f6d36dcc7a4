/* fuzz_toml.c: toml_parse() on any text, then lookups and the hermit.toml schema on the rest. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "loader/image.h"
#include "loader/toml.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_threshold = LOG_ERROR;
    const char *text = (const char *)data;
    struct toml_doc doc;
    if (toml_parse(text, size, &doc) == 0) {
        for (size_t i = 0; i < doc.n; i++) {
            const struct toml_entry *e = toml_get(&doc, doc.e[i].table, doc.e[i].key);
            if (!e)
                abort(); /* an entry that exists must be found */
            (void)toml_type_name(e->v.type);
            if (e->v.type == TOML_STRING && strlen(e->v.s) == (size_t)-1)
                abort();
        }
        toml_get(&doc, "", "kernel");
        toml_free(&doc);
    }
    struct image_config c;
    memset(&c, 0, sizeof(c));
    if (image_parse_config(text, size, &c) == 0)
        image_config_free(&c);
    return 0;
}
