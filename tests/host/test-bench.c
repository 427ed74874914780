/*
 * `pvtimer bench queue`: its JSON carries every required figure for each
 * size, and bad arguments are refused. Speed is not asserted: a timed test
 * would flake on a loaded machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/test.h"
#include "spawn.h"

#ifndef PVT_TOOL_PATH
#error "the build defines PVT_TOOL_PATH, the pvtimer binary's path"
#endif

/*
 * The number after `"key": ` in the JSON object starting at obj (up to its
 * closing brace), or -1 when the key is absent or its value is not a
 * number.
 */
static double json_number(const char *obj, const char *key)
{
    char pattern[64];
    const char *end = strchr(obj, '}'), *p;
    char *stop;
    double v;

    snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
    p = strstr(obj, pattern);
    if (!p || !end || p > end)
        return -1;
    p += strlen(pattern);
    v = strtod(p, &stop);
    return stop == p ? -1 : v;
}

TEST_IMPL(bench_queue_json)
{
    static const char *const figures[] = {
        "arm_ns",          "cancel_ns",          "expire_ns",
        "baseline_arm_ns", "baseline_cancel_ns", "baseline_expire_ns",
    };
    static const double sizes[] = {1000, 10000};
    struct pvt_spawn_result r;
    const char *row;
    size_t i, k;

    PVT_TOOL(&r, "bench", "queue", "--json", "--max", "10000");
    ASSERT_EQ(r.status, 0);
    ASSERT(strncmp(r.out, "{\"benchmark\": \"queue\", \"rows\": [", 32) == 0);
    row = r.out;
    for (i = 0; i < PVT_ARRAY_SIZE(sizes); i++) {
        row = strstr(row, "{\"timers\": ");
        ASSERT_NOT_NULL(row);
        ASSERT(json_number(row, "timers") == sizes[i]);
        for (k = 0; k < PVT_ARRAY_SIZE(figures); k++) {
            if (!(json_number(row, figures[k]) > 0)) {
                pvt_test_printf("# row %u: %s missing or not positive\n",
                                (unsigned int)sizes[i], figures[k]);
                ASSERT(json_number(row, figures[k]) > 0);
            }
        }
        row++;
    }
    /* nothing past --max */
    ASSERT_NULL(strstr(row, "{\"timers\": "));
    ASSERT(pvt_contains(r.out, "]}\n"));
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "bench", "queue", "--frobnicate");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "unknown option '--frobnicate'"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "queue", "--max");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "--max"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "queue", "--max", "12x");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "queue", "--max", "999");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "bench", "queue", "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "usage: pvtimer bench queue"));
    pvt_spawn_free(&r);
    RETURN_OK();
}

/*
 * `pvtimer bench drift`: every row, and what least squares must give
 * against two-point differencing: over a window of n samples its slope
 * error is sqrt(12 / (n (n^2 - 1))) of the jitter per interval, against
 * sqrt(2) for two samples; from 64 samples on that is 50 times less, so
 * even with the adaptive window still settling it must be 5 times less.
 */
TEST_IMPL(bench_drift_json)
{
    static const double jitters[] = {100, 1000, 10000};
    static const double samples[] = {2, 4, 8, 16, 32, 64, 128, 256};
    struct pvt_spawn_result r;
    const char *row;
    size_t i, k;

    PVT_TOOL(&r, "bench", "drift", "--json", "--streams", "30");
    ASSERT_EQ(r.status, 0);
    ASSERT(strncmp(r.out, "{\"benchmark\": \"drift\", \"streams\": 30", 36) ==
           0);
    row = r.out;
    for (i = 0; i < PVT_ARRAY_SIZE(jitters); i++) {
        for (k = 0; k < PVT_ARRAY_SIZE(samples); k++) {
            double lin, two;
            row = strstr(row, "{\"jitter_ns\": ");
            ASSERT_NOT_NULL(row);
            ASSERT(json_number(row, "jitter_ns") == jitters[i]);
            ASSERT(json_number(row, "samples") == samples[k]);
            lin = json_number(row, "linreg_ppb");
            two = json_number(row, "two_point_ppb");
            ASSERT(lin >= 0);
            ASSERT(json_number(row, "pi_ppb") >= 0);
            ASSERT(two >= 0);
            if (samples[k] >= 64) {
                if (!(lin * 5 < two))
                    pvt_test_printf("# J %d ns, N %d: linreg %d ppb, "
                                    "2-point %d ppb\n",
                                    (int)jitters[i], (int)samples[k], (int)lin,
                                    (int)two);
                ASSERT(lin * 5 < two);
            }
            row++;
        }
    }
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "bench", "drift");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "linreg"));
    ASSERT(pvt_contains(r.out, "2-point"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "drift", "--streams", "0");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "bench", "drift", "--frob");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "unknown option '--frob'"));
    pvt_spawn_free(&r);
    RETURN_OK();
}
