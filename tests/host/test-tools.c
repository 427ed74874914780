/*
 * The `pvtimer` command: exit statuses and messages.
 */
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
    const struct pvt_ce_strategy *const *all;
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
