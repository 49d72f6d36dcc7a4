/*
 * fuzz_config.c: configuration files (INI through inih, YAML through libyaml, TOML through
 * loader/toml.c) applied by
 * cli_parse(). The first byte picks the format; the rest is written to a per-process temp file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/bootargs.h"
#include "config/cli.h"
#include "fuzz.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ext[] = {"ini", "yaml", "yml", "toml"};
    if (size < 1)
        return 0;
    char path[512];
    snprintf(path, sizeof(path), "%s/chyve-fuzz-config-%ld.%s", fuzz_tmp_base(), (long)getpid(),
             ext[data[0] & 3]);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);

    log_threshold = LOG_ERROR;
    const char *argv[] = {"chyve", "--config", path, "kernel", NULL};
    const char *envp[] = {"XDG_CONFIG_HOME=/nonexistent", NULL};
    struct cli *c;
    if (cli_parse(&c, 4, argv, envp) == 0) {
        const struct vm_config *cfg = cli_config(c);
        char *b = bootargs_build(cfg->args, cfg->nargs, cfg->env, cfg->nenv);
        free(b);
    }
    cli_free(c);
    unlink(path);
    log_threshold = LOG_ERROR;
    return 0;
}
