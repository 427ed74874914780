/*
 * The `pvtimer` command: exit statuses and messages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvtimer/pvtimer.h"
#include "runner/test.h"
#include "spawn.h"

#ifndef PVT_TOOL_PATH
#error "the build defines PVT_TOOL_PATH, the pvtimer binary's path"
#endif

TEST_IMPL(tool_help_and_usage)
{
    struct pvt_spawn_result r;

    PVT_TOOL(&r, "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "usage: pvtimer COMMAND"));
    ASSERT(pvt_contains(r.out, "sim"));
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "no-such-command");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "unknown command 'no-such-command'"));
    pvt_spawn_free(&r);

    ASSERT_OK(pvt_spawn(PVT_TOOL_PATH, (const char *const[]){"pvtimer", NULL},
                        NULL, NULL, &r));
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "usage:"));
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "--version");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "pvtimer 0."));
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(tool_strategies)
{
    struct pvt_spawn_result r;
    const struct pvt_strategy *const *all;
    size_t n, i;

    PVT_TOOL(&r, "strategies");
    ASSERT_EQ(r.status, 0);
    all = pvt_strategies(&n);
    for (i = 0; i < n; i++) {
        ASSERT(pvt_contains(r.out, all[i]->name));
        ASSERT(pvt_contains(r.out, all[i]->summary));
    }
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "strategies", "extra");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(tool_bench_args)
{
    struct pvt_spawn_result r;

    PVT_TOOL(&r, "bench", "nonsense");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "unknown benchmark"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "clock", "--frobnicate");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(tool_drift)
{
    struct pvt_spawn_result r;
    const char *sum;
    double freq, off, delay;

    /* one clock against itself: no drift, no offset beyond the bracket */
    PVT_TOOL(&r, "drift", "--a", "CLOCK_MONOTONIC", "--b", "monotonic",
             "--duration", "0.6", "--interval", "20", "--json");
    ASSERT_EQ(r.status, 0);
    {
        const char *pre = "{\"a\": \"CLOCK_MONOTONIC\", \"b\": "
                          "\"CLOCK_MONOTONIC\", \"updates\": [{\"t_s\": ";
        ASSERT(strncmp(r.out, pre, strlen(pre)) == 0);
    }
    /* 0.6 s every 20 ms: about 30 updates (fewer on a slow machine) */
    ASSERT_GE(pvt_count(r.out, "\"t_s\": "), 10);
    ASSERT_LE(pvt_count(r.out, "\"t_s\": "), 32);
    ASSERT(pvt_contains(r.out, "\"state\": \"locked\"") ||
           pvt_contains(r.out, "\"state\": \"stable\""));
    sum = strstr(r.out, "\"summary\": {");
    ASSERT_NOT_NULL(sum);
    freq = pvt_number_after(sum, "freq_ppm");
    off = pvt_number_after(sum, "offset_ns");
    delay = pvt_number_after(sum, "delay_ns");
    ASSERT(!isnan(pvt_number_after(sum, "freq_ppm_stddev")));
    ASSERT(delay >= 0);
    /* B is read inside A's bracket, so B - A is within half of it, and a
     * bracket of microseconds at most moves the slope by ppm at most */
    ASSERT(fabs(off) <= delay + 10000);
    ASSERT(fabs(freq) < 50);
    pvt_spawn_free(&r);

    /* the human form: a header, updates, a summary */
    PVT_TOOL(&r, "drift", "--a", "CLOCK_MONOTONIC_RAW", "--b", "CLOCK_REALTIME",
             "--duration", "0.2", "--interval", "50");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "offset_ns"));
    ASSERT(pvt_contains(r.out, "summary: offset"));
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "drift", "--a", "CLOCK_MONOTONIC");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "--a and --b are required"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "drift", "--a", "sundial", "--b", "tsc");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "unknown clock 'sundial'"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "drift", "--a", "tai", "--b", "tsc", "--interval", "0");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "drift", "--a", "tai", "--b", "tsc", "--duration", "x");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "drift", "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "CLOCK_BOOTTIME"));
    pvt_spawn_free(&r);
    RETURN_OK();
}

/* One parser: the same option gets the same answer in every command. */
TEST_IMPL(tool_options_alike_in_every_command)
{
    static const char *const cmds[] = {"sim", "kvm"};
    struct pvt_spawn_result r;
    size_t i;

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char want[64];

        PVT_TOOL(&r, cmds[i], "--scenario");
        ASSERT_EQ(r.status, 2);
        ASSERT(pvt_contains(r.err, "--scenario needs a value"));
        pvt_spawn_free(&r);
        PVT_TOOL(&r, cmds[i], "--scenario", "seed-boot", "--seed", "-1");
        ASSERT_EQ(r.status, 2);
        ASSERT(pvt_contains(r.err, "--seed must be non-negative, not '-1'"));
        pvt_spawn_free(&r);
        PVT_TOOL(&r, cmds[i], "--scenario", "seed-boot", "--seed", "x1");
        ASSERT_EQ(r.status, 2);
        ASSERT(pvt_contains(r.err, "--seed takes a number, not 'x1'"));
        pvt_spawn_free(&r);
        PVT_TOOL(&r, cmds[i], "--frobnicate");
        ASSERT_EQ(r.status, 2);
        snprintf(want, sizeof(want),
                 "pvtimer %s: unknown option '--frobnicate'", cmds[i]);
        ASSERT(pvt_contains(r.err, want));
        pvt_spawn_free(&r);
        PVT_TOOL(&r, cmds[i], "--scenario", "no-such-scenario");
        ASSERT_EQ(r.status, 2);
        ASSERT(pvt_contains(r.err, "unknown scenario 'no-such-scenario'"));
        pvt_spawn_free(&r);
    }
    PVT_TOOL(&r, "drift", "--a", "monotonic", "--b", "monotonic", "--duration");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "--duration needs a value"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "drift", "--frobnicate");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "pvtimer drift: unknown option '--frobnicate'"));
    pvt_spawn_free(&r);
    /* durations take units everywhere: 200 ms of samples every 50 ms */
    PVT_TOOL(&r, "drift", "--a", "monotonic", "--b", "monotonic", "--duration",
             "200ms", "--interval", "0.05s", "--json");
    ASSERT_EQ(r.status, 0);
    ASSERT_GE(pvt_count(r.out, "\"t_s\": "), 2);
    ASSERT_LE(pvt_count(r.out, "\"t_s\": "), 6);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "drift", "--a", "monotonic", "--b", "monotonic", "--duration",
             "5kHz");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "bad unit 'kHz'"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "kvm", "--selftest", "--timeout", "2 fortnights");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    /* bench: its usage, when no benchmark is named, is an error */
    PVT_TOOL(&r, "bench");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "usage: pvtimer bench"));
    ASSERT(!pvt_contains(r.out, "usage"));
    pvt_spawn_free(&r);
    RETURN_OK();
}
