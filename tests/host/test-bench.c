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

TEST_IMPL(bench_queue_json)
{
    static const char *const figures[] = {
        "arm_ns",
        "cancel_ns",
        "expire_ns",
        "churn_ns",
        "baseline_heap_arm_ns",
        "baseline_heap_cancel_ns",
        "baseline_heap_expire_ns",
        "baseline_heap_churn_ns",
        "baseline_rbtree_arm_ns",
        "baseline_rbtree_cancel_ns",
        "baseline_rbtree_expire_ns",
        "baseline_rbtree_churn_ns",
        "arm_ratio_heap",
        "cancel_ratio_rbtree",
        "expire_ratio_rbtree",
        "churn_ratio_heap",
    };
    static const double sizes[] = {1000, 10000};
    struct pvt_spawn_result r;
    const char *row;
    size_t i, k;

    PVT_TOOL(&r, "bench", "queue", "--json", "--max", "10000", "--runs", "3");
    ASSERT_EQ(r.status, 0);
    ASSERT(strncmp(r.out, "{\"benchmark\": \"queue\", \"rows\": [", 32) == 0);
    row = r.out;
    for (i = 0; i < PVT_ARRAY_SIZE(sizes); i++) {
        row = strstr(row, "{\"timers\": ");
        ASSERT_NOT_NULL(row);
        ASSERT(pvt_json_number(row, "timers") == sizes[i]);
        for (k = 0; k < PVT_ARRAY_SIZE(figures); k++) {
            if (!(pvt_json_number(row, figures[k]) > 0)) {
                pvt_test_printf("# row %u: %s missing or not positive\n",
                                (unsigned int)sizes[i], figures[k]);
                ASSERT(pvt_json_number(row, figures[k]) > 0);
            }
        }
        /* the workload's counts follow from N */
        ASSERT(pvt_json_number(row, "cancels") == sizes[i] / 2);
        ASSERT(pvt_json_number(row, "expiries") == sizes[i] / 2);
        ASSERT(pvt_json_number(row, "churn_callbacks") >= sizes[i]);
        ASSERT(pvt_json_number(row, "runs") == 3);
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
    PVT_TOOL(&r, "bench", "queue", "--runs", "0");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "bench", "queue", "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "usage: pvtimer bench queue"));
    pvt_spawn_free(&r);
    RETURN_OK();
}

/*
 * `pvtimer bench drift`: every row, and what least squares must give.
 * Against two-point differencing: over a window of n samples the slope
 * error is sqrt(12 / (n (n^2 - 1))) of the noise per interval, against
 * sqrt(2) for two samples; from 64 samples on that is 50 times less, so
 * even with the adaptive window still settling it must be 5 times less.
 * Against linreg: it uses a window only after 10 predictions by it, so at
 * N = 16, 32, 64 samples at most 4, 16, 32, where the estimator, on a
 * steady rate, has the whole N: slope errors 0.12, 0.35, 0.35 times
 * linreg's; with 30 streams a cell, it must at least be below linreg.
 */
TEST_IMPL(bench_drift_json)
{
    static const char *const noises[] = {"uniform", "gaussian"};
    static const double rates[] = {1, 10};
    static const double jitters[] = {100, 1000, 10000};
    static const double samples[] = {2, 4, 8, 16, 32, 64, 128, 256};
    struct pvt_spawn_result r;
    const char *row;
    size_t i, j, m, k;

    PVT_TOOL(&r, "bench", "drift", "--json", "--streams", "30");
    ASSERT_EQ(r.status, 0);
    ASSERT(strncmp(r.out, "{\"benchmark\": \"drift\", \"streams\": 30", 36) ==
           0);
    row = r.out;
    for (m = 0; m < PVT_ARRAY_SIZE(noises); m++) {
        char noise[40];
        snprintf(noise, sizeof(noise), "{\"noise\": \"%s\"", noises[m]);
        for (j = 0; j < PVT_ARRAY_SIZE(rates); j++) {
            for (i = 0; i < PVT_ARRAY_SIZE(jitters); i++) {
                for (k = 0; k < PVT_ARRAY_SIZE(samples); k++) {
                    double est, lin, two;
                    row = strstr(row, "{\"noise\": ");
                    ASSERT_NOT_NULL(row);
                    ASSERT(strncmp(row, noise, strlen(noise)) == 0);
                    ASSERT(pvt_json_number(row, "rate_hz") == rates[j]);
                    ASSERT(pvt_json_number(row, "jitter_ns") == jitters[i]);
                    ASSERT(pvt_json_number(row, "samples") == samples[k]);
                    est = pvt_json_number(row, "estimator_ppb");
                    lin = pvt_json_number(row, "linreg_ppb");
                    two = pvt_json_number(row, "two_point_ppb");
                    ASSERT(est >= 0);
                    ASSERT(lin > 0);
                    ASSERT(pvt_json_number(row, "ratio") >= 0);
                    ASSERT(pvt_json_number(row, "pi_ppb") >= 0);
                    ASSERT(pvt_json_number(row, "pi_applied_ppb") >= 0);
                    ASSERT(pvt_json_number(row, "steps") >= 0);
                    ASSERT(two >= 0);
                    if (samples[k] >= 64 && !(est * 5 < two))
                        pvt_test_printf("# %s, %d Hz, J %d ns, N %d: "
                                        "estimator %d ppb, 2-point %d ppb\n",
                                        noises[m], (int)rates[j],
                                        (int)jitters[i], (int)samples[k],
                                        (int)est, (int)two);
                    if (samples[k] >= 64)
                        ASSERT(est * 5 < two);
                    if (samples[k] >= 16 && samples[k] <= 64)
                        ASSERT(est < lin);
                    row++;
                }
            }
        }
    }
    row = strstr(row, "\"step_response\": ");
    ASSERT_NOT_NULL(row);
    for (k = 0; k < 4; k++) {
        row = strstr(row, "{\"samples_after\": ");
        ASSERT_NOT_NULL(row);
        ASSERT(pvt_json_number(row, "estimator_ppb") >= 0);
        ASSERT(pvt_json_number(row, "linreg_ppb") >= 0);
        ASSERT(pvt_json_number(row, "pi_ppb") >= 0);
        row++;
    }
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "bench", "drift", "--streams", "3");
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "estimator"));
    ASSERT(pvt_contains(r.out, "linreg"));
    ASSERT(pvt_contains(r.out, "step response"));
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

/*
 * `pvtimer bench clock`: every row is there, with its figures, the
 * programming rows of the strategies that read both clocks twice (unpaired
 * and paired), and the rdtsc row is about one TSC read. Speed is not
 * asserted beyond that (a timed test would flake on a loaded machine).
 */
TEST_IMPL(bench_clock_json)
{
    static const char *const names[] = {
        "rdtsc",
        "pvclock read",
        "timekeeper now (pvclock)",
        "program (relative)",
        "program (delta)",
        "program (delta, paired)",
        "program (coupled)",
        "program (compensated)",
        "program (compensated, paired)",
    };
    struct pvt_spawn_result r;
    char key[64];
    const char *row;
    size_t i;

    PVT_TOOL(&r, "bench", "clock", "--json", "--ops", "2000");
    ASSERT_EQ(r.status, 0);
    ASSERT(strncmp(r.out, "{\"benchmark\": \"clock\"", 21) == 0);
    ASSERT(pvt_json_number(strstr(r.out, "\"baseline\""), "ns_per_op") > 0);
    for (i = 0; i < PVT_ARRAY_SIZE(names); i++) {
        snprintf(key, sizeof(key), "{\"name\": \"%s\"", names[i]);
        row = strstr(r.out, key);
        if (!row)
            pvt_test_printf("# row %s missing\n", names[i]);
        ASSERT_NOT_NULL(row);
        ASSERT(pvt_json_number(row, "ns_per_op") > 0);
        ASSERT(pvt_json_number(row, "tsc_reads") > 0);
    }
    /* rdtsc against rdtsc: one read, give or take the machine's noise */
    row = strstr(r.out, "{\"name\": \"rdtsc\"");
    ASSERT(pvt_json_number(row, "tsc_reads") > 0.5);
    ASSERT(pvt_json_number(row, "tsc_reads") < 2);
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "bench", "clock", "--ops", "10");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    RETURN_OK();
}
