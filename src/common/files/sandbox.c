/*
 * sandbox.c: file isolation policy: the host's sandbox (host_sandbox_*: Landlock on Linux) where
 * it exists; where it does not, an error (strict), a warning or a note (normal).
 */
#include "err.h"
#include "files/sandbox.h"
#include "host.h"
#include "log.h"

int sandbox_apply(enum vm_isolation mode, const struct sandbox_rule *rules, size_t n,
                  bool warn_missing)
{
    if (mode == VM_ISOLATION_NONE)
        return 0;
    const char *why = NULL;
    if (host_sandbox_available(&why))
        return host_sandbox_apply(mode == VM_ISOLATION_STRICT, rules, n);
    if (mode == VM_ISOLATION_STRICT)
        return err_set("--file-isolation strict: %s", why);
    if (warn_missing)
        log_warn("%s: mapped host files are not isolated (use --file-isolation none to accept "
                 "this silently)",
                 why);
    else
        log_info("%s: file isolation is off", why);
    return 0;
}
