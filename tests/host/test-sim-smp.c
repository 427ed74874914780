/*
 * The simulator with several vCPUs: nothing lost or early on any vCPU
 * whatever the strategy, with skewed TSCs, remote arming and preemption;
 * the guest clock never backwards across vCPUs with the pvclock guard,
 * and backwards as often as the skew and the read rate predict without
 * it; one vCPU's figures are the run's; runs are deterministic.
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
#include "sim/report.h"
#include "sim/sim.h"
#include "sim/workload.h"
#include "spawn.h"

/* The smp scenario, short: 8 vCPUs, TSCs within +-skew, a third of the
 * timers remote, heavy preemption. */
static int smp_params(struct pvt_sim_params *p, double skew_ns, int guard)
{
    char err[256], set[64];
    const char *sets[] = {"vcpus=8",
                          "boot_s=1",
                          "duration_s=3",
                          "drain_s=4",
                          "remote_fraction=0.3",
                          "preempt_rate_hz=100",
                          "preempt_mean_ms=1"};
    size_t i;

    if (pvt_sim_params_scenario(p, "smp", err, sizeof(err)))
        return -1;
    for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        if (pvt_sim_params_set(p, sets[i], err, sizeof(err)))
            return -1;
    snprintf(set, sizeof(set), "tsc_skew_ns=%g", skew_ns);
    if (pvt_sim_params_set(p, set, err, sizeof(err)))
        return -1;
    snprintf(set, sizeof(set), "pvclock_guard=%d", guard);
    if (pvt_sim_params_set(p, set, err, sizeof(err)))
        return -1;
    return pvt_sim_params_check(p, err, sizeof(err));
}

TEST_IMPL(sim_smp_every_strategy_every_vcpu)
{
    struct pvt_sim_params p;
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);
    struct pvt_sim_result *r = calloc(n, sizeof(*r));
    char err[256];

    ASSERT_NOT_NULL(r);
    ASSERT_OK(smp_params(&p, 20000, 1));
    ASSERT_EQ(p.tsc_stable, 0); /* the guard is in use */
    ASSERT_OK(pvt_sim_run_all(&p, 5, all, n, r, NULL, NULL, err, sizeof(err)));
    for (i = 0; i < n; i++) {
        uint64_t timers = 0, remote = 0, ipis = 0;
        unsigned int v;

        ASSERT_EQ(r[i].vcpus, 8);
        ASSERT(!r[i].truncated);
        ASSERT_EQ(r[i].lost, 0);
        ASSERT_EQ(r[i].early_callbacks, 0);
        for (v = 0; v < 8; v++) {
            const struct pvt_sim_vcpu_result *x = &r[i].vcpu[v];
            ASSERT_GT(x->timers, 100);
            ASSERT_EQ(x->lost, 0);
            ASSERT_EQ(x->early_callbacks, 0);
            ASSERT_EQ(x->lateness.negative, 0);
            ASSERT_EQ(x->fired + x->cancelled + x->pending, x->timers);
            ASSERT_GT(x->device_interrupts, 0);
            timers += x->timers;
            remote += x->remote_armed;
            ipis += x->ipis;
        }
        /* the vCPUs' figures add up to the guest's */
        ASSERT_EQ(timers, r[i].timers);
        /* a third of the timers were armed on another vCPU's queue, and
         * the owners took IPIs for some of them */
        ASSERT_GT(remote, r[i].timers / 5);
        ASSERT_LT(remote, r[i].timers / 2);
        ASSERT_GT(ipis, 0);
        /* skewed TSCs, no TSC_STABLE: the shared guard keeps the clock
         * monotonic across vCPUs */
        ASSERT_GT(r[i].clock_reads, 10000);
        ASSERT_EQ(r[i].clock_backwards, 0);
        ASSERT_GT(r[i].clock_guard_clamps, 0); /* because it raised some */
    }
    free(r);
    RETURN_OK();
}

/*
 * Without the cross-vCPU guard, vCPU j's read at t returns t + o_j. It is
 * below a read completed on vCPU i at s < t when t - s < o_i - o_j. With
 * reads at a total rate R, the reads on vCPU i in the window before a read
 * on j number R / N * (o_i - o_j)^+, so a read goes backwards with
 * probability about R * mean over (i, j) of (o_i - o_j)^+ (small: << 1),
 * and the count is that times the reads. The reads come in bursts (a
 * handler reads several times on one vCPU), so only the order of
 * magnitude is the model's.
 */
TEST_IMPL(sim_smp_backwards_without_the_guard)
{
    const double skew = 20000;
    struct pvt_sim_params p;
    struct pvt_sim_result *r = calloc(1, sizeof(*r));
    const struct pvt_strategy *s = pvt_strategy_find("relative");
    double mean_pos = 0, rate, expect;
    unsigned int i, j, nv;
    char err[256];

    ASSERT_NOT_NULL(r);
    ASSERT_NOT_NULL(s);
    ASSERT_OK(smp_params(&p, skew, 0));
    nv = (unsigned int)p.vcpus;
    for (i = 0; i < nv; i++)
        for (j = 0; j < nv; j++) {
            /* the offsets: evenly over [-skew, +skew] (params.c) */
            double oi = skew * (2.0 * i - (nv - 1)) / (nv - 1);
            double oj = skew * (2.0 * j - (nv - 1)) / (nv - 1);
            mean_pos += oi > oj ? oi - oj : 0;
        }
    mean_pos /= (double)nv * nv;
    ASSERT_OK(pvt_sim_run(&p, 5, s, r, NULL, NULL, err, sizeof(err)));
    ASSERT_EQ(r->lost, 0);
    ASSERT_EQ(r->early_callbacks, 0);
    rate = (double)r->clock_reads / ((p.duration_s + p.drain_s) * 1e9);
    expect = (double)r->clock_reads * rate * mean_pos;
    ASSERT_GT(expect, 100);
    ASSERT_GT((double)r->clock_backwards, expect / 5);
    ASSERT_LT((double)r->clock_backwards, expect * 5);
    /* no step back is larger than the widest skew between two vCPUs */
    ASSERT_GT(r->clock_backwards_max_ns, 0);
    ASSERT_LE(r->clock_backwards_max_ns, (int64_t)(2 * skew) + 100);
    /* each vCPU's own guard: its own reads never went back */
    ASSERT_EQ(r->clock_guard_clamps, 0);

    /* the guard restored: none */
    ASSERT_OK(smp_params(&p, skew, 1));
    ASSERT_OK(pvt_sim_run(&p, 5, s, r, NULL, NULL, err, sizeof(err)));
    ASSERT_EQ(r->clock_backwards, 0);
    /* a hypervisor that promises TSC_STABLE over skewed TSCs: the guest
     * trusts it, skips the guard, and its clock goes backwards */
    ASSERT_OK(pvt_sim_params_set(&p, "tsc_stable=1", err, sizeof(err)));
    ASSERT_OK(pvt_sim_run(&p, 5, s, r, NULL, NULL, err, sizeof(err)));
    ASSERT_GT((double)r->clock_backwards, expect / 5);
    /* synchronised TSCs: nothing to guard against */
    ASSERT_OK(pvt_sim_params_set(&p, "tsc_skew_ns=0", err, sizeof(err)));
    ASSERT_OK(pvt_sim_run(&p, 5, s, r, NULL, NULL, err, sizeof(err)));
    ASSERT_EQ(r->clock_backwards, 0);
    free(r);
    RETURN_OK();
}

TEST_IMPL(sim_smp_one_vcpu_is_the_run)
{
    struct pvt_sim_params p;
    struct pvt_sim_result *r = calloc(1, sizeof(*r));
    struct pvt_sim_vcpu_view v;
    char err[256];

    ASSERT_NOT_NULL(r);
    pvt_sim_params_default(&p);
    ASSERT_EQ(p.vcpus, 1);
    ASSERT_OK(pvt_sim_params_set(&p, "duration_s=2", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_set(&p, "boot_s=1", err, sizeof(err)));
    ASSERT_OK(pvt_sim_run(&p, 2, pvt_strategy_find("delta"), r, NULL, NULL, err,
                          sizeof(err)));
    ASSERT_EQ(r->vcpus, 1);
    ASSERT_OK(pvt_sim_vcpu_view(r, 0, &v));
    ASSERT_EQ(v.timers, r->timers);
    ASSERT_EQ(v.fired, r->fired);
    ASSERT_EQ(v.lost, r->lost);
    ASSERT_EQ(v.early_callbacks, r->early_callbacks);
    ASSERT(v.aim_error == &r->aim_error);
    ASSERT_EQ(pvt_sim_vcpu_view(r, 1, &v), -1);
    ASSERT_EQ(pvt_sim_vcpu_view(NULL, 0, &v), -1);
    /* remote arming needs a second vCPU */
    ASSERT_OK(pvt_sim_params_set(&p, "remote_fraction=0.1", err, sizeof(err)));
    ASSERT_EQ(pvt_sim_params_check(&p, err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_set(&p, "vcpus=65", err, sizeof(err)), -1);
    free(r);
    RETURN_OK();
}

TEST_IMPL(sim_smp_workload_shares)
{
    struct pvt_sim_params p;
    struct pvt_sim_workload one, v0, v3;
    struct pvt_sim_arrival a, b;
    unsigned int k, remote = 0;
    char err[256];

    pvt_sim_params_default(&p);
    /* vCPU 0 of 1 draws what the single-vCPU workload draws */
    ASSERT_OK(pvt_sim_workload_init(&one, &p, 9));
    ASSERT_OK(pvt_sim_workload_init_vcpu(&v0, &p, 9, 0));
    ASSERT(pvt_sim_workload_first(&one) == pvt_sim_workload_first(&v0));
    for (k = 0; k < 100; k++) {
        pvt_sim_workload_next(&one, &a);
        pvt_sim_workload_next(&v0, &b);
        ASSERT(a.delta_ns == b.delta_ns && a.cancel == b.cancel &&
               a.cancel_after_ns == b.cancel_after_ns && a.gap_ns == b.gap_ns &&
               a.remote == b.remote);
        ASSERT_EQ(a.remote, -1);
    }
    ASSERT_EQ(pvt_sim_workload_init_vcpu(&v0, &p, 9, 1), -1);
    ASSERT_OK(pvt_sim_params_set(&p, "vcpus=4", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_set(&p, "remote_fraction=0.25", err, sizeof(err)));
    ASSERT_OK(pvt_sim_workload_init_vcpu(&v3, &p, 9, 3));
    /* a quarter of the rate each */
    ASSERT(fabs(v3.mean_gap_ns - 4e9 / p.timer_rate_hz) < 1e-6);
    for (k = 0; k < 4000; k++) {
        pvt_sim_workload_next(&v3, &a);
        if (a.remote < 0)
            continue;
        remote++;
        ASSERT_LT(a.remote, 4);
        ASSERT(a.remote != 3);
    }
    /* binomial(4000, 0.25): mean 1000, sd 27 */
    ASSERT_GT(remote, 850);
    ASSERT_LT(remote, 1150);
    RETURN_OK();
}

#define SIM(r, ...) PVT_TOOL(r, "sim", __VA_ARGS__)

TEST_IMPL(sim_smp_cli)
{
    struct pvt_spawn_result a, b;

    SIM(&a, "--scenario", "smp", "--set", "vcpus=8", "--set", "duration_s=2",
        "--set", "boot_s=1", "--strategy", "delta,relative", "--json");
    SIM(&b, "--scenario", "smp", "--set", "vcpus=8", "--set", "duration_s=2",
        "--set", "boot_s=1", "--strategy", "delta,relative", "--json");
    ASSERT_EQ(a.status, 0);
    ASSERT_STR_EQ(a.out, b.out); /* same seed, same output */
    ASSERT_EQ(pvt_count(a.out, "{\"vcpu\": "), 16);
    ASSERT_EQ(pvt_count(a.out, "\"vcpus\": 8, \"clock_backwards\": 0, "), 2);
    ASSERT_EQ(pvt_count(a.out, "\"clock_guard_clamps\": "), 2);
    pvt_spawn_free(&a);
    pvt_spawn_free(&b);
    SIM(&a, "--scenario", "smp", "--set", "vcpus=3", "--set", "duration_s=2",
        "--set", "boot_s=1", "--strategy", "delta");
    ASSERT_EQ(a.status, 0);
    ASSERT(pvt_contains(a.out, "\n  vcpu 2 +20.0us "));
    ASSERT(pvt_contains(a.out, "guest clock across vCPUs"));
    {
        /* the report page's per-vCPU view: the |aim| chart, a table per
         * strategy with a row per vCPU, as the terminal's rows */
        char dir[] = "/tmp/pvt-smp-report-XXXXXX", path[64];
        FILE *f;
        char *html;
        long len;
        ASSERT_NOT_NULL(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/r.html", dir);
        SIM(&b, "--scenario", "smp", "--set", "vcpus=3", "--set",
            "duration_s=2", "--set", "boot_s=1", "--strategy", "delta",
            "--report", path);
        ASSERT_EQ(b.status, 0);
        ASSERT_STR_EQ(a.out, b.out);
        pvt_spawn_free(&b);
        f = fopen(path, "rb");
        ASSERT_NOT_NULL(f);
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        html = calloc(1, (size_t)len + 1);
        ASSERT_NOT_NULL(html);
        ASSERT_EQ(fread(html, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        unlink(path);
        rmdir(dir);
        ASSERT_EQ(pvt_count(html, "<h2 id=\"per-vcpu\">"), 1);
        ASSERT_EQ(pvt_count(html, "|Aim error| per vCPU"), 1);
        ASSERT_EQ(pvt_count(html, "<svg "), 5);
        ASSERT_EQ(pvt_count(html, "<tr><td>2</td><td>+20.0 us</td>"), 1);
        {
            /* vCPU 2's three "p50 / p99" cells, from the terminal row */
            const char *row = strstr(a.out, "\n  vcpu 2 +20.0us ");
            int c;
            ASSERT_NOT_NULL(row);
            for (c = 0; c < 3; c++) {
                char cell[48];
                size_t l = 21;
                memcpy(cell, row + 1 + 68 + 22 * c, l);
                while (l > 0 && cell[l - 1] == ' ')
                    l--;
                cell[l] = 0;
                ASSERT(strstr(cell, " / ") != NULL);
                ASSERT(pvt_contains(html, cell));
            }
        }
        free(html);
    }
    pvt_spawn_free(&a);
    SIM(&a, "--list");
    ASSERT(pvt_contains(a.out, "\n  smp "));
    ASSERT(pvt_contains(a.out, "remote_fraction"));
    pvt_spawn_free(&a);
    RETURN_OK();
}
