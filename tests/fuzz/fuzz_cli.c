/*
 * fuzz_cli.c: cli_parse() on an argv made of the input's NUL-separated strings (those starting
 * with byte 0x01 go to the environment instead), then bootargs_build() on the result and on the
 * raw strings.
 */
#include <stdlib.h>
#include <string.h>

#include "boot/bootargs.h"
#include "config/cli.h"
#include "fuzz.h"
#include "log.h"

#define MAX_STRINGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *argv[MAX_STRINGS + 2], *envp[MAX_STRINGS + 1], *all[MAX_STRINGS];
    int argc = 0, nenv = 0, nall = 0;
    argv[argc++] = "chyve";
    for (char *s = text; s < text + size + 1 && nall < MAX_STRINGS; s += strlen(s) + 1) {
        all[nall++] = s;
        if (s[0] == '\x01')
            envp[nenv++] = s + 1;
        else
            argv[argc++] = s;
        if (s + strlen(s) >= text + size)
            break;
    }
    argv[argc] = NULL;
    envp[nenv] = NULL;

    log_threshold = LOG_ERROR;
    struct cli *c;
    if (cli_parse(&c, argc, argv, envp) == 0 && cli_action(c) == CLI_RUN) {
        const struct vm_config *cfg = cli_config(c);
        char *b = bootargs_build(cfg->args, cfg->nargs, cfg->env, cfg->nenv);
        free(b);
    }
    cli_free(c);
    log_threshold = LOG_ERROR;

    size_t half = (size_t)nall / 2;
    free(bootargs_build(all, half, all + half, (size_t)nall - half));
    for (int i = 0; i < nall; i++)
        free(bootargs_quote(all[i]));
    free(text);
    return 0;
}
