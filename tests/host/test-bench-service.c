/*
 * `pvtimer bench service`, briefly: its JSON has a row per design with
 * every figure, nothing fired early, the thread-per-timer reference is
 * skipped above its cap, and bad arguments are refused. Timings are not
 * asserted (a timed test would flake on a loaded machine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/test.h"
#include "spawn.h"

/* The row of design d (the k-th such row), or NULL. */
static const char *row_of(const char *out, const char *d, int k)
{
    char pattern[64];
    const char *p = out;

    snprintf(pattern, sizeof(pattern), "\"design\": \"%s\"", d);
    while ((p = strstr(p, pattern)) != NULL) {
        if (k-- == 0) {
            while (p > out && *p != '{')
                p--;
            return p;
        }
        p++;
    }
    return NULL;
}

TEST_IMPL(bench_service_json)
{
    static const char *const figures[] = {
        "fires_per_s",     "lateness_p50_ns", "lateness_p99_ns",
        "lateness_max_ns", "cpu_ns_per_fire", "wakeups_per_s",
    };
    static const char *const designs[] = {"service", "service", "timerfd",
                                          "threads"};
    struct pvt_spawn_result r;
    size_t i, k;

    PVT_TOOL(&r, "bench", "service", "--timers", "8", "--rate", "500",
             "--duration", "0.2", "--json");
    ASSERT_EQ(r.status, 0);
    ASSERT(strncmp(r.out, "{\"benchmark\": \"service\"", 23) == 0);
    for (i = 0; i < 4; i++) {
        const char *row = row_of(r.out, designs[i], i == 1);

        ASSERT_NOT_NULL(row);
        ASSERT(pvt_json_number(row, "timers") == 8);
        ASSERT(pvt_json_number(row, "rate_hz") == 500);
        ASSERT(strstr(row, "\"skipped\": false") != NULL);
        ASSERT(pvt_json_number(row, "fires") > 0);
        /* 8 timers at 500 Hz for 0.2 s: 800 deadlines, no more fires */
        /* at most one fire per period of each timer (+- 5 %) over the
         * window recorded (which a loaded machine may stretch), plus the
         * one in flight as it opened */
        ASSERT(pvt_json_number(row, "window_s") >= 0.2);
        ASSERT(pvt_json_number(row, "fires") <=
               8 * 500 * 1.06 * pvt_json_number(row, "window_s") + 8);
        ASSERT(pvt_json_number(row, "early") == 0);
        ASSERT(pvt_json_number(row, "coalesced") >= 0);
        ASSERT(pvt_json_number(row, "missed") >= 0);
        for (k = 0; k < PVT_ARRAY_SIZE(figures); k++)
            ASSERT(pvt_json_number(row, figures[k]) >= 0);
        ASSERT(pvt_json_number(row, "lateness_p50_ns") <=
               pvt_json_number(row, "lateness_p99_ns"));
        ASSERT(pvt_json_number(row, "lateness_p99_ns") <=
               pvt_json_number(row, "lateness_max_ns"));
    }
    /* the default service rows: no slack, then 50 us */
    ASSERT(pvt_json_number(row_of(r.out, "service", 0), "slack_ns") == 0);
    ASSERT(pvt_json_number(row_of(r.out, "service", 1), "slack_ns") == 50000);
    pvt_spawn_free(&r);

    /* above the thread cap the reference is skipped, not run */
    PVT_TOOL(&r, "bench", "service", "--timers", "1100", "--rate", "10",
             "--duration", "0.05", "--slack", "20", "--json");
    ASSERT_EQ(r.status, 0);
    ASSERT_NOT_NULL(row_of(r.out, "threads", 0));
    ASSERT(strstr(row_of(r.out, "threads", 0), "\"skipped\": true") != NULL);
    ASSERT(pvt_json_number(row_of(r.out, "service", 0), "slack_ns") == 20000);
    ASSERT_NULL(row_of(r.out, "service", 1));
    pvt_spawn_free(&r);
    RETURN_OK();
}

/* --storm: B alone, beside A's storm capped and uncapped, beside a CPU
 * hog; B's timers fire in each, never early; A fires only when it storms,
 * and the capped storm gets no more than its cap allows. */
TEST_IMPL(bench_service_storm_json)
{
    static const char *const runs[] = {"alone", "storm capped",
                                       "storm uncapped", "cpu hog only"};
    struct pvt_spawn_result r;
    char pat[64];
    double cap;
    size_t i;
    /* valgrind runs one thread at a time: a storming or spinning thread
     * may hold the CPU for the whole of a short run, so there only the
     * run without a storm must see B fire (the rest is still checked) */
    const char *pre = getenv("LD_PRELOAD");
    bool valgrind = pre && strstr(pre, "vgpreload");

    PVT_TOOL(&r, "bench", "service", "--storm", "--timers", "4", "--rate",
             "200", "--duration", "0.2", "--json");
    ASSERT_EQ(r.status, 0);
    ASSERT(strncmp(r.out, "{\"benchmark\": \"service-storm\"", 29) == 0);
    cap = pvt_json_number(r.out, "storm_cap");
    ASSERT(cap > 0);
    for (i = 0; i < PVT_ARRAY_SIZE(runs); i++) {
        const char *row;

        snprintf(pat, sizeof(pat), "{\"run\": \"%s\"", runs[i]);
        row = strstr(r.out, pat);
        ASSERT_NOT_NULL(row);
        if (i == 0 || !valgrind)
            ASSERT(pvt_json_number(row, "b_fires") > 0);
        ASSERT(pvt_json_number(row, "b_fires") >= 0);
        ASSERT(pvt_json_number(row, "b_window_s") >= 0.2);
        ASSERT(pvt_json_number(row, "b_fires") <=
               4 * 200 * 1.06 * pvt_json_number(row, "b_window_s") + 4);
        ASSERT(pvt_json_number(row, "b_early") == 0);
        if (i == 0 || i == 3)
            ASSERT(pvt_json_number(row, "a_fires_per_s") == 0);
        if (i == 1) /* the cap, plus its burst of one in 0.2 s */
            ASSERT(pvt_json_number(row, "a_fires_per_s") <= cap + 1 / 0.2);
        if (i != 1)
            ASSERT(pvt_json_number(row, "a_throttled") == 0);
    }
    pvt_spawn_free(&r);
    RETURN_OK();
}

/* --rt: the timer threads at SCHED_FIFO where the host allows it, which
 * the JSON says; where it does not, a message and the default scheduling.
 * Nothing early either way. */
TEST_IMPL(bench_service_rt)
{
    struct pvt_spawn_result r;
    const char *row;

    PVT_TOOL(&r, "bench", "service", "--timers", "4", "--rate", "500",
             "--duration", "0.1", "--slack", "0", "--rt", "1", "--json");
    ASSERT_EQ(r.status, 0);
    if (pvt_contains(r.err, "SCHED_FIFO is not allowed here"))
        ASSERT(pvt_json_number(r.out, "rt_priority") == 0);
    else
        ASSERT(pvt_json_number(r.out, "rt_priority") == 1);
    for (row = r.out; (row = strstr(row, "{\"timers\"")) != NULL; row++)
        ASSERT(pvt_json_number(row, "early") == 0);
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(bench_service_bad_arguments)
{
    struct pvt_spawn_result r;

    PVT_TOOL(&r, "bench", "service", "--timers", "0");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "service", "--timers", "16385");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "service", "--advance", "-5");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "service", "--rate", "fast");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "service", "--rt", "100");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "service", "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT(strstr(r.out, "--slack") != NULL);
    pvt_spawn_free(&r);
    RETURN_OK();
}
