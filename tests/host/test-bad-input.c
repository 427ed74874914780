/*
 * Bad input, each a clear error with a non-zero exit: scenario files that
 * are no text files, or malformed ones (refused with the line number), a
 * number that is not decimal, bytes that would reach the terminal raw,
 * output that cannot be written (stdout, --json, --csv, --report, /dev/full)
 * or a path that cannot be created (refused before the run), extra
 * arguments.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/test.h"
#include "sim/params.h"
#include "spawn.h"

#ifndef PVT_TOOL_PATH
#error "the build defines PVT_TOOL_PATH, the pvtimer binary's path"
#endif

/* A short run, so that the tests that do run the simulator stay quick. */
#define SHORT_ARGS                                                             \
    "--strategy delta --set duration_s=1s --set boot_s=0.5s --set "            \
    "timer_rate_hz=100"
#define SHORT                                                                  \
    "--strategy", "delta", "--set", "duration_s=1s", "--set", "boot_s=0.5s",   \
        "--set", "timer_rate_hz=100"

static int load_text(const char *text, size_t len, char *err, size_t n)
{
    struct pvt_sim_params p;

    return pvt_sim_params_load_text(&p, "t.scn", text, len, err, n);
}

/* Every byte of s is printable ASCII or a newline. */
static int printable(const char *s)
{
    for (; *s; s++)
        if ((*s < 0x20 || *s >= 0x7f) && *s != '\n')
            return 0;
    return 1;
}

TEST_IMPL(sim_scenario_text_refusals)
{
    struct pvt_sim_params p;
    char err[512];
    static const char dup[] = "hz = 100\nboot_s = 1\n\n# again\nhz=250\n";
    static const char late[] = "# c\nboot_s = 1\nscenario = preempt\n";
    static const char nul[] = "hz = 100\nboot_s = 1\0 hz = 3\n";
    static const char hex[] = "hz = 100\nboot_s = 0x1\n";
    static const char ok[] = "\n# first setting\nscenario = preempt\n"
                             "boot_s = 1.5e0s\nslop_us = +10\n";

    /* a key twice: the second line named, and the first */
    ASSERT_EQ(load_text(dup, sizeof(dup) - 1, err, sizeof(err)), -1);
    ASSERT(pvt_contains(err, "t.scn:5: hz set again (first on line 1)"));
    /* scenario = after a setting would undo it */
    ASSERT_EQ(load_text(late, sizeof(late) - 1, err, sizeof(err)), -1);
    ASSERT(pvt_contains(err, "t.scn:3: scenario = NAME must be the first"));
    ASSERT(pvt_contains(err, "line 2"));
    /* a NUL byte: refused where it is, not a shorter line */
    ASSERT_EQ(load_text(nul, sizeof(nul) - 1, err, sizeof(err)), -1);
    ASSERT(pvt_contains(err, "t.scn:2: a NUL byte"));
    /* numbers are decimal: 0x1, inf, nan are not */
    ASSERT_EQ(load_text(hex, sizeof(hex) - 1, err, sizeof(err)), -1);
    ASSERT(pvt_contains(err, "t.scn:2: boot_s: '0x1' is not a decimal"));
    ASSERT_EQ(pvt_sim_params_set(&p, "hz=inf", err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_set(&p, "hz=nan", err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_set(&p, "hz=.", err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_set(&p, "hz=1e", err, sizeof(err)), -1);
    /* what stays allowed: comments and blank lines before scenario =,
     * exponents, signs, units */
    ASSERT_OK(pvt_sim_params_load_text(&p, "t.scn", ok, sizeof(ok) - 1, err,
                                       sizeof(err)));
    ASSERT(p.boot_s == 1.5);
    ASSERT(p.slop_us == 10);
    ASSERT(p.preempt_rate_hz == 200); /* the preempt scenario's */
    ASSERT_OK(pvt_sim_params_set(&p, "hz=1e2", err, sizeof(err)));
    ASSERT(p.hz == 100);
    /* the empty text is the defaults */
    ASSERT_OK(pvt_sim_params_load_text(&p, "e", "", 0, err, sizeof(err)));
    RETURN_OK();
}

TEST_IMPL(sim_escape_messages)
{
    struct pvt_sim_params p;
    char out[16], err[512];
    static const char bin[] = "\x01\x1b[31m\xff = 3\n";

    ASSERT_UEQ(pvt_sim_escape(out, sizeof(out), "a\\b\x7f", 4), 8);
    ASSERT_STR_EQ(out, "a\\\\b\\x7f");
    /* cut to fit, with "..." */
    ASSERT_UEQ(pvt_sim_escape(out, sizeof(out), "0123456789abcdefgh", 18), 15);
    ASSERT_STR_EQ(out, "0123456789ab...");
    ASSERT_UEQ(pvt_sim_escape(out, 1, "abc", 3), 0);
    ASSERT_STR_EQ(out, "");
    /* a binary line does not reach the terminal raw */
    ASSERT_EQ(pvt_sim_params_load_text(&p, "b\x1b.scn", bin, sizeof(bin) - 1,
                                       err, sizeof(err)),
              -1);
    ASSERT(printable(err));
    ASSERT(pvt_contains(err, "b\\x1b.scn:1: unknown parameter "
                             "'\\x01\\x1b[31m\\xff'"));
    RETURN_OK();
}

TEST_IMPL(tool_bad_scenario_files)
{
    char dir[] = "/tmp/pvt-bad-XXXXXX", path[64];
    struct pvt_spawn_result r;
    FILE *f;

    /* a device that never ends: refused without reading it */
    PVT_TOOL(&r, "sim", "--scenario", "/dev/zero");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "/dev/zero: not a regular file"));
    pvt_spawn_free(&r);
    /* a directory: refused, not the defaults */
    ASSERT_NOT_NULL(mkdtemp(dir));
    PVT_TOOL(&r, "sim", "--scenario", dir);
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "a directory, not a scenario file"));
    ASSERT_UEQ(r.out_len, 0);
    pvt_spawn_free(&r);
    /* a binary file: its bytes escaped in the message */
    snprintf(path, sizeof(path), "%s/bin.scn", dir);
    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("hz = 100\n\x1b]0;title\x07\x9b = 1\n", f);
    ASSERT_OK(fclose(f));
    PVT_TOOL(&r, "sim", "--scenario", path);
    ASSERT_EQ(r.status, 2);
    ASSERT(printable(r.err));
    ASSERT(pvt_contains(r.err, "bin.scn:2: unknown parameter "
                               "'\\x1b]0;title\\x07\\x9b'"));
    pvt_spawn_free(&r);
    /* a key twice, through the tool: the line numbers */
    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("duration_s = 2s\nboot_s = 1s\nduration_s = 3s\n", f);
    ASSERT_OK(fclose(f));
    PVT_TOOL(&r, "sim", "--scenario", path);
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "bin.scn:3: duration_s set again (first on "
                               "line 1)"));
    pvt_spawn_free(&r);
    unlink(path);
    rmdir(dir);

    /* --set takes decimal numbers only */
    PVT_TOOL(&r, "sim", "--set", "boot_s=0x1");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "boot_s: '0x1' is not a decimal number"));
    pvt_spawn_free(&r);
    /* an unknown option's bytes escaped too */
    PVT_TOOL(&r, "sim", "--\x1b[2J");
    ASSERT_EQ(r.status, 2);
    ASSERT(printable(r.err));
    ASSERT(pvt_contains(r.err, "unknown option '--\\x1b[2J'"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "--version", "extra");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "--version takes no argument"));
    pvt_spawn_free(&r);
    RETURN_OK();
}

/* pvtimer ARGS with its stdout on /dev/full (through sh, which our spawn
 * helper runs with stderr captured). */
static void tool_to_full(struct pvt_spawn_result *r, const char *args)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "exec '%s' %s >/dev/full", PVT_TOOL_PATH, args);
    ASSERT_OK(pvt_spawn("/bin/sh", (const char *const[]){"sh", "-c", cmd, NULL},
                        NULL, NULL, r));
}

TEST_IMPL(tool_write_errors)
{
    static const char *const cases[] = {
        "strategies",      "sim --list", "--help", "sim --json " SHORT_ARGS,
        "sim " SHORT_ARGS,
    };
    struct pvt_spawn_result r;
    size_t i;

    for (i = 0; i < PVT_ARRAY_SIZE(cases); i++) {
        tool_to_full(&r, cases[i]);
        if (r.status != 1)
            pvt_test_printf("%s: status %d\n", cases[i], r.status);
        ASSERT_EQ(r.status, 1);
        ASSERT(pvt_contains(r.err, "writing standard output: No space left"));
        pvt_spawn_free(&r);
    }
    /* the files: the run completes, the write fails, exit 1 */
    PVT_TOOL(&r, "sim", SHORT, "--csv", "/dev/full");
    ASSERT_EQ(r.status, 1);
    ASSERT(pvt_contains(r.err, "writing /dev/full: No space left"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "sim", SHORT, "--report", "/dev/full");
    ASSERT_EQ(r.status, 1);
    ASSERT(pvt_contains(r.err, "writing /dev/full: No space left"));
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(tool_output_path_refused_before_run)
{
    struct pvt_spawn_result r;

    /* refused before the run: nothing simulated, so no table on stdout
     * (the default scenario takes seconds; after the run the table would
     * be there) */
    PVT_TOOL(&r, "sim", "--report", "/nonexistent/dir/x.html");
    ASSERT_EQ(r.status, 1);
    ASSERT(pvt_contains(r.err, "/nonexistent/dir/x.html: No such file"));
    ASSERT_UEQ(r.out_len, 0);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "sim", SHORT, "--csv", "/nonexistent/x.csv", "--json");
    ASSERT_EQ(r.status, 1);
    ASSERT(pvt_contains(r.err, "/nonexistent/x.csv: No such file"));
    ASSERT_UEQ(r.out_len, 0);
    pvt_spawn_free(&r);
    RETURN_OK();
}
