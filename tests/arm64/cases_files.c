/*
 * cases_files.c: the arm64 driver's file cases: all of tests/integration/test_files.c (included,
 * so that its helpers serve the cases below), plus file isolation where the kernel has Landlock
 * older than ABI 3 or none, which test_files.c skips. The arm64 kernel of run-qemu.sh (Debian
 * 12, Linux 6.1) has Landlock ABI 2; arm64-test.sh also boots it with Landlock off (lsm=...).
 */
#include "../integration/test_files.c"

/* The kernel's Landlock ABI version; 0 without Landlock (then *why says why). */
static long landlock_abi(const char **why)
{
    *why = "this kernel has no Landlock system calls";
#ifdef SYS_landlock_create_ruleset
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */);
    if (v > 0)
        return v;
    *why = errno == EOPNOTSUPP ? "Landlock is off (lsm=)" : "this kernel has no Landlock";
#endif
    return 0;
}

/*
 * `--file-isolation normal` confines chyve itself wherever Landlock exists (any ABI): a mapped
 * file replaced on the host after the sandbox is a new file that chyve cannot open, which it
 * can without isolation. Without Landlock the run goes on, not isolated, with one warning.
 */
Test(files, isolation_proof_on_this_kernel)
{
    const char *why;
    long abi = landlock_abi(&why);
    if (abi)
        cr_log_info("Landlock ABI %ld", abi);
    else
        cr_log_info("%s", why);
    const bool isolated[2] = {false, abi >= 1};
    for (int i = 0; i < 2; i++) {
        unlink(at("sync/ready"));
        unlink(at("sync/go"));
        write_file(at("target.txt"), "original", 8);
        struct run r;
        run_late(&r, "/target.txt", i ? "normal" : "none", replace_target);
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_assert_str_eq(r.out,
                         isolated[i] ? "open after the change: -13\n" : "read 8: 'replaced'\n");
        if (i == 0 || abi >= 1) {
            cr_assert_eq(r.err_len, 0, "%s", r.err);
        } else {
            cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
            cr_assert(!strncmp(r.err, "chyve: warning: ", 16) && strstr(r.err, "Landlock") &&
                          strstr(r.err, "mapped host files are not isolated"),
                      "want one warning that the files are not isolated, got: %s", r.err);
            cr_log_info("normal isolation warns: %s", r.err);
        }
        run_free(&r);
    }
}

/* Below Landlock ABI 3 (no control over truncation) strict isolation refuses to run at all. */
Test(files, strict_isolation_refused_below_landlock_abi_3)
{
    const char *why;
    long abi = landlock_abi(&why);
    if (abi >= 3)
        cr_skip_test("Landlock ABI %ld: strict_isolation_runs_where_landlock_exists applies", abi);
    struct run r;
    run_files(&r, false,
              (const char *[]){"--file-isolation", "strict", "--file-mapping", map("data", "/data"),
                               NULL},
              (const char *[]){"rw", "/data/rw.txt", NULL});
    cr_assert_eq(r.status, 2, "status %d\n%s%s", r.status, r.out, r.err);
    cr_assert_eq(r.out_len, 0, "the guest ran: %s", r.out);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert(!strncmp(r.err, "chyve: error: ", 14), "%s", r.err);
    char has[64];
    snprintf(has, sizeof(has), "has ABI %ld", abi);
    if (abi > 0)
        cr_assert(strstr(r.err, "strict file isolation needs Landlock ABI 3") && strstr(r.err, has),
                  "%s", r.err);
    else
        cr_assert(strstr(r.err, "--file-isolation strict: ") && strstr(r.err, "Landlock"), "%s",
                  r.err);
    cr_assert_neq(access(at("data/rw.txt"), F_OK), 0, "a file was written");
    cr_log_info("%s: strict refuses: %s", abi ? "Landlock below ABI 3" : why, r.err);
    run_free(&r);
}
