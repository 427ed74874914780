/*
 * The `pvtimer` command: exit statuses, messages, and what the demo shows.
 */
#include <stdlib.h>
#include <string.h>

#include "pvtimer/pvtimer.h"
#include "runner/test.h"
#include "spawn.h"

#ifndef PVT_TOOL_PATH
#error "the build defines PVT_TOOL_PATH, the pvtimer binary's path"
#endif

#define TOOL(r, ...)                                                           \
    ASSERT_OK(pvt_spawn(PVT_TOOL_PATH,                                         \
                        (const char *const[]){"pvtimer", __VA_ARGS__, NULL},   \
                        NULL, NULL, r))

TEST_IMPL(tool_help_and_usage)
{
    struct pvt_spawn_result r;

    TOOL(&r, "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "usage: pvtimer COMMAND"));
    ASSERT(pvt_contains(r.out, "demo"));
    pvt_spawn_free(&r);

    TOOL(&r, "no-such-command");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "unknown command 'no-such-command'"));
    pvt_spawn_free(&r);

    ASSERT_OK(pvt_spawn(PVT_TOOL_PATH, (const char *const[]){"pvtimer", NULL},
                        NULL, NULL, &r));
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "usage:"));
    pvt_spawn_free(&r);

    TOOL(&r, "--version");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "pvtimer 0."));
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(tool_strategies)
{
    struct pvt_spawn_result r;
    const struct pvt_ce_strategy *const *all;
    size_t n, i;

    TOOL(&r, "strategies");
    ASSERT_EQ(r.status, 0);
    all = pvt_strategies(&n);
    for (i = 0; i < n; i++) {
        ASSERT(pvt_contains(r.out, all[i]->name));
        ASSERT(pvt_contains(r.out, all[i]->summary));
    }
    pvt_spawn_free(&r);
    TOOL(&r, "strategies", "extra");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    RETURN_OK();
}

/* The value in `column` (0-based after the label) of the row starting with
 * `label` in the first table of the demo's output. */
static double demo_cell(const char *out, const char *label, int column)
{
    const char *p = strstr(out, label);
    char *end;
    double v = 0;
    int c;

    if (!p)
        return -1e300;
    p += strlen(label);
    for (c = 0; c <= column; c++) {
        v = strtod(p, &end);
        if (end == p)
            return -1e300;
        p = end;
        while (*p == ' ' || *p == 'u' || *p == 's')
            p++;
    }
    return v;
}

TEST_IMPL(tool_demo)
{
    struct pvt_spawn_result r;
    double boot_1000, boot_1, delta_1000, mode_1000, rel_pre, delta_pre;
    const char *second;

    /* 300 ppm calibration error, 1 ms timers, preemption 500 us */
    TOOL(&r, "demo", "--cal-ppm", "-300", "--delta-us", "1000", "--preempt-us",
         "500");
    ASSERT_EQ(r.status, 0);
    /* columns: abs-boot-offset, abs-mode-offset, relative, delta, coupled */
    boot_1 = demo_cell(r.out, "       1 s", 0);
    boot_1000 = demo_cell(r.out, "    1000 s", 0);
    mode_1000 = demo_cell(r.out, "    1000 s", 1);
    delta_1000 = demo_cell(r.out, "    1000 s", 3);
    /* a TSC believed 300 ppm slower than it is makes the guest clock run
     * 300 ppm fast. abs-boot-offset aims at true time = guest deadline,
     * when the guest clock is already past it: late by the drift since
     * boot. The clock stops drifting at the 20 s switch, but the 6 ms
     * (300 ppm of 20 s = 6000 us) it gained stay in the offset forever. */
    ASSERT_NEAR(boot_1000, 6000, 60);
    /* at 1 s it was only 1 s of drift: 300 us */
    ASSERT_NEAR(boot_1, 300, 5);
    /* the others re-took or never had an offset */
    ASSERT_NEAR(mode_1000, 0, 1);
    ASSERT_NEAR(delta_1000, 0, 1);

    /* the second table: preempted 500 us after reading the clock */
    second = strstr(r.out, "preempted");
    ASSERT_NOT_NULL(second);
    rel_pre = demo_cell(second, "    1000 s", 2);
    delta_pre = demo_cell(second, "    1000 s", 3);
    ASSERT_NEAR(rel_pre, 500, 1);
    ASSERT_NEAR(delta_pre, 0, 1);
    pvt_spawn_free(&r);

    TOOL(&r, "demo", "--cal-ppm", "lots");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "--cal-ppm"));
    pvt_spawn_free(&r);
    TOOL(&r, "demo", "--delta-us");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(tool_bench_args)
{
    struct pvt_spawn_result r;

    TOOL(&r, "bench", "nonsense");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "unknown benchmark"));
    pvt_spawn_free(&r);
    TOOL(&r, "bench", "clock", "--frobnicate");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    RETURN_OK();
}
