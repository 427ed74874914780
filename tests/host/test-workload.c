/*
 * The pieces both backends share: the workload generator, every strategy
 * run side by side, and the scenario-name-or-file rule.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvtimer/pvtimer.h"
#include "runner/test.h"
#include "sim/params.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "sim/workload.h"

/* A short seed-boot: a few hundred timers, quick to simulate. */
static int short_params(struct pvt_sim_params *p)
{
    char err[256];

    pvt_sim_params_default(p);
    if (pvt_sim_params_set(p, "duration_s=2", err, sizeof(err)) ||
        pvt_sim_params_set(p, "boot_s=1", err, sizeof(err)) ||
        pvt_sim_params_set(p, "drain_s=1", err, sizeof(err)) ||
        pvt_sim_params_set(p, "timer_rate_hz=300", err, sizeof(err)))
        return -1;
    return 0;
}

TEST_IMPL(workload_draws_in_order)
{
    struct pvt_sim_params p;
    struct pvt_sim_workload w;
    struct pvt_sim_rng r;
    double lo, hi, first;
    int i;

    ASSERT_OK(short_params(&p));
    ASSERT_EQ(pvt_sim_workload_init(NULL, &p, 1), -1);
    ASSERT_EQ(pvt_sim_workload_init(&w, NULL, 1), -1);
    ASSERT_OK(pvt_sim_workload_init(&w, &p, 5));
    ASSERT(pvt_sim_workload_first(NULL) == -1);
    ASSERT_EQ(pvt_sim_workload_next(&w, NULL), -1);
    /* the same draws, made here from the documented stream (1) */
    pvt_sim_rng_seed(&r, 5, 1);
    lo = log(p.delta_min_us * 1e3);
    hi = log(p.delta_max_s * 1e9);
    first = pvt_sim_rng_exp(&r, 1e9 / p.timer_rate_hz);
    ASSERT(pvt_sim_workload_first(&w) == first);
    for (i = 0; i < 1000; i++) {
        struct pvt_sim_arrival a;
        double delta = exp(pvt_sim_rng_uniform(&r, lo, hi));
        bool cancel = pvt_sim_rng_unit(&r) < p.cancel_fraction;
        double after = pvt_sim_rng_unit(&r) * 0.9 * delta;
        double gap = pvt_sim_rng_exp(&r, 1e9 / p.timer_rate_hz);

        ASSERT_OK(pvt_sim_workload_next(&w, &a));
        ASSERT(a.delta_ns == delta);
        ASSERT(a.cancel == cancel);
        ASSERT(a.cancel_after_ns == after);
        ASSERT(a.gap_ns == gap);
        /* inside the distributions' bounds (a little slack for exp(log)) */
        ASSERT(a.delta_ns >= p.delta_min_us * 1e3 * (1 - 1e-12));
        ASSERT(a.delta_ns <= p.delta_max_s * 1e9 * (1 + 1e-12));
        ASSERT(a.cancel_after_ns < 0.9 * a.delta_ns);
    }
    RETURN_OK();
}

TEST_IMPL(workload_list_as_the_guest_gets_it)
{
    struct pvt_sim_params p;
    struct pvt_sim_workload w;
    struct pvt_sim_workload_item *list;
    struct pvt_sim_result *r;
    size_t n, i, cancelled = 0;
    double t;
    char err[256];

    ASSERT_OK(short_params(&p));
    ASSERT_OK(
        pvt_sim_workload_list(&p, 9, 100000, &list, &n, err, sizeof(err)));
    /* about rate x duration arrivals (600 expected; 5 sigma apart) */
    ASSERT_GT(n, 600 - 5 * 25);
    ASSERT_LT(n, 600 + 5 * 25);
    /* each item is the generator's arrival, its time the running sum */
    pvt_sim_workload_init(&w, &p, 9);
    t = pvt_sim_workload_first(&w);
    for (i = 0; i < n; i++) {
        struct pvt_sim_arrival a;

        pvt_sim_workload_next(&w, &a);
        ASSERT_UEQ(list[i].at_ns, (uint64_t)t);
        ASSERT_UEQ(list[i].delta_ns, (uint64_t)a.delta_ns);
        ASSERT_UEQ(list[i].cancel_after_ns,
                   a.cancel ? (uint64_t)a.cancel_after_ns : 0);
        ASSERT(t < p.duration_s * 1e9);
        cancelled += a.cancel;
        t += a.gap_ns;
    }
    /* and nothing after the end */
    ASSERT(t >= p.duration_s * 1e9);
    ASSERT_GT(cancelled, 0);
    ASSERT_LT(cancelled, n / 4);

    /* the simulator arms the same timers from the same seed */
    r = calloc(1, sizeof(*r));
    ASSERT_NOT_NULL(r);
    ASSERT_OK(pvt_sim_run(&p, 9, pvt_strategy_find("delta"), r, NULL, NULL, err,
                          sizeof(err)));
    ASSERT_UEQ(r->timers, n);
    free(r);
    free(list);

    /* a consumer's limit refuses, never truncates */
    ASSERT_EQ(pvt_sim_workload_list(&p, 9, n - 1, &list, &n, err, sizeof(err)),
              -1);
    ASSERT(strstr(err, "more than") != NULL);
    /* no timers, no list */
    ASSERT_OK(pvt_sim_params_set(&p, "timer_rate_hz=0", err, sizeof(err)));
    ASSERT_OK(pvt_sim_workload_list(&p, 9, 10, &list, &n, err, sizeof(err)));
    ASSERT_NULL(list);
    ASSERT_UEQ(n, 0);
    ASSERT_EQ(pvt_sim_workload_list(NULL, 9, 10, &list, &n, err, sizeof(err)),
              -1);
    RETURN_OK();
}

TEST_IMPL(workload_preemptions_stream)
{
    struct pvt_sim_params p;
    struct pvt_sim_preemptions pr;
    struct pvt_sim_rng r;
    char err[256];
    int i;

    ASSERT_OK(short_params(&p));
    ASSERT_OK(pvt_sim_preemptions_init(&pr, &p, 3));
    ASSERT(pr.on);
    pvt_sim_rng_seed(&r, 3, 2);
    for (i = 0; i < 100; i++) {
        ASSERT(pvt_sim_preemptions_gap(&pr) ==
               pvt_sim_rng_exp(&r, 1e9 / p.preempt_rate_hz));
        ASSERT(pvt_sim_preemptions_len(&pr) ==
               pvt_sim_rng_exp(&r, p.preempt_mean_ms * 1e6));
    }
    ASSERT_OK(pvt_sim_params_set(&p, "preempt_rate_hz=0", err, sizeof(err)));
    ASSERT_OK(pvt_sim_preemptions_init(&pr, &p, 3));
    ASSERT(!pr.on);
    ASSERT_EQ(pvt_sim_preemptions_init(NULL, &p, 3), -1);
    RETURN_OK();
}

TEST_IMPL(sim_run_all_equals_each_alone)
{
    const struct pvt_strategy *const *all;
    struct pvt_sim_params p;
    struct pvt_sim_result *side, *alone;
    size_t n, i;
    char err[256];

    ASSERT_OK(short_params(&p));
    all = pvt_strategies(&n);
    side = calloc(n, sizeof(*side));
    alone = calloc(1, sizeof(*alone));
    ASSERT_NOT_NULL(side);
    ASSERT_NOT_NULL(alone);
    ASSERT_OK(
        pvt_sim_run_all(&p, 4, all, n, side, NULL, NULL, err, sizeof(err)));
    for (i = 0; i < n; i++) {
        ASSERT_OK(
            pvt_sim_run(&p, 4, all[i], alone, NULL, NULL, err, sizeof(err)));
        ASSERT_PTR_EQ(side[i].strategy, all[i]);
        ASSERT_UEQ(side[i].timers, alone->timers);
        ASSERT_UEQ(side[i].device_interrupts, alone->device_interrupts);
        /* every field, histograms and series included */
        ASSERT_OK(memcmp(&side[i], alone, sizeof(*alone)));
    }
    ASSERT_EQ(
        pvt_sim_run_all(&p, 4, all, 0, side, NULL, NULL, err, sizeof(err)), -1);
    ASSERT_EQ(
        pvt_sim_run_all(NULL, 4, all, n, side, NULL, NULL, err, sizeof(err)),
        -1);
    free(side);
    free(alone);
    RETURN_OK();
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST_IMPL(sim_scenario_name_or_file)
{
    struct pvt_sim_params p, want;
    char dir[] = "/tmp/pvt-resolve-XXXXXX", path[128], err[256];

    /* a built-in name is that scenario */
    ASSERT_OK(pvt_sim_params_resolve(&p, "steady-drift", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_scenario(&want, "steady-drift", err, sizeof(err)));
    ASSERT_OK(memcmp(&p, &want, sizeof(p)));

    /* a path is a scenario file on the defaults */
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.conf", dir);
    write_text(path, "hz = 100\n");
    ASSERT_OK(pvt_sim_params_resolve(&p, path, err, sizeof(err)));
    pvt_sim_params_default(&want);
    want.hz = 100;
    ASSERT_OK(memcmp(&p, &want, sizeof(p)));

    /* a bare word that names a file here, though no built-in */
    ASSERT_OK(chdir(dir));
    write_text("mine", "scenario = preempt\nhz = 200\n");
    ASSERT_OK(pvt_sim_params_resolve(&p, "mine", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_scenario(&want, "preempt", err, sizeof(err)));
    want.hz = 200;
    ASSERT_OK(memcmp(&p, &want, sizeof(p)));
    /* a built-in name wins over a file of that name */
    write_text("migrate", "hz = 300\n");
    ASSERT_OK(pvt_sim_params_resolve(&p, "migrate", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_scenario(&want, "migrate", err, sizeof(err)));
    ASSERT_OK(memcmp(&p, &want, sizeof(p)));

    /* an unknown word, a missing path: errors that say which */
    ASSERT_EQ(pvt_sim_params_resolve(&p, "no-such", err, sizeof(err)), -1);
    ASSERT(strstr(err, "unknown scenario 'no-such'") != NULL);
    ASSERT_EQ(pvt_sim_params_resolve(&p, "./missing.conf", err, sizeof(err)),
              -1);
    ASSERT(strstr(err, "./missing.conf") != NULL);
    ASSERT_EQ(pvt_sim_params_resolve(&p, NULL, err, sizeof(err)), -1);

    unlink("mine");
    unlink("migrate");
    unlink(path);
    ASSERT_OK(chdir("/"));
    ASSERT_OK(rmdir(dir));
    RETURN_OK();
}
