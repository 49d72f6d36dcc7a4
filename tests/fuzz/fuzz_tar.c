/* fuzz_tar.c: tar_read() on any bytes; accepted entries must be clean and inside the buffer. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "loader/tar.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_threshold = LOG_ERROR;
    struct tar_entry *e;
    size_t n;
    if (tar_read(data, size, &e, &n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = e[i].name;
        size_t len = strlen(name);
        /* tar.h's promises: no absolute name, no "..", data inside the archive. */
        if (name[0] == '/' || (len > 0 && name[len - 1] == '/'))
            abort();
        if (!strcmp(name, "..") || !strncmp(name, "../", 3) || strstr(name, "/../") ||
            (len >= 3 && !strcmp(name + len - 3, "/..")))
            abort();
        if (!strcmp(name, ".") || !strncmp(name, "./", 2) || strstr(name, "/./") ||
            strstr(name, "//") || (len >= 2 && !strcmp(name + len - 2, "/.")))
            abort();
        if (e[i].size > 0 &&
            (e[i].data < data || e[i].size > size || (size_t)(e[i].data - data) > size - e[i].size))
            abort();
        volatile uint8_t sink = 0;
        if (e[i].size > 0)
            sink = e[i].data[e[i].size - 1];
        (void)sink;
    }
    tar_free(e, n);
    return 0;
}
