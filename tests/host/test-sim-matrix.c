/*
 * The fault matrix: the simulator's fault parameters (a narrow TSC
 * counter, an unannounced step of the hypervisor clock), the matrix
 * descriptions (the built-in ones hold every fault; bad ones are refused
 * with their line), shards that partition the runs, the quick matrix
 * through the tool, its shards merged to the same bytes, merge's refusals,
 * and the shards run by GNU parallel where it is installed.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvtimer/pvtimer.h"
#include "runner/test.h"
#include "sim/matrix.h"
#include "sim/params.h"
#include "sim/sim.h"
#include "spawn.h"

/* A failure with a message of its own. */
#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        pvt_test__fail(__FILE__, __LINE__, "(the message above)");             \
    } while (0)

/* ---- the fault parameters ------------------------------------------------ */

static int params_with(struct pvt_sim_params *p, const char *const *sets,
                       size_t n)
{
    char err[256];

    pvt_sim_params_default(p);
    return pvt_sim_params_apply(p, sets, n, err, sizeof(err));
}

static int run_one(const struct pvt_sim_params *p, const char *strategy,
                   struct pvt_sim_result *r)
{
    char err[256];

    return pvt_sim_run(p, 1, pvt_strategy_find(strategy), r, NULL, NULL, err,
                       sizeof(err));
}

TEST_IMPL(sim_fault_params_default_to_none)
{
    struct pvt_sim_params p;
    char err[256];

    pvt_sim_params_default(&p);
    ASSERT(p.tsc_bits == 64);
    ASSERT(p.hv_step_at_s < 0);
    ASSERT_OK(pvt_sim_params_set(&p, "tsc_bits=32", err, sizeof(err)));
    ASSERT(p.tsc_bits == 32);
    ASSERT_EQ(pvt_sim_params_set(&p, "tsc_bits=8", err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_set(&p, "tsc_bits=32.5", err, sizeof(err)), -1);
    ASSERT_OK(pvt_sim_params_set(&p, "hv_step_us=-2ms", err, sizeof(err)));
    ASSERT(p.hv_step_us == -2000);
    ASSERT_OK(pvt_sim_params_set(&p, "hv_step_at_s=200", err, sizeof(err)));
    ASSERT_EQ(pvt_sim_params_check(&p, err, sizeof(err)), -1); /* > end */
    ASSERT(strstr(err, "hv_step_at_s") != NULL);
    ASSERT_OK(pvt_sim_params_set(&p, "hv_step_at_s=10", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_set(&p, "hv_uptime_s=1", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_set(&p, "hv_step_us=-2s", err, sizeof(err)));
    ASSERT_EQ(pvt_sim_params_check(&p, err, sizeof(err)), -1); /* below 0 */
    ASSERT(strstr(err, "below zero") != NULL);
    RETURN_OK();
}

/*
 * A 32-bit TSC clocksource at 2 GHz wraps every 2.15 s; read every
 * millisecond or so it keeps time exactly as the 64-bit one does. A
 * 20-bit one wraps every 0.52 ms: read about every 0.5 ms, more than half
 * its range often passes between reads, and the guest clock loses time,
 * which shows the width is in effect.
 */
TEST_IMPL(sim_fault_narrow_counter)
{
    const char *base[] = {
        "boot_clock=1",    "pvclock=0",         "boot_s=0",
        "duration_s=5",    "drain_s=1",         "timer_rate_hz=1000",
        "delta_max_s=0.1", "preempt_rate_hz=0", "tsc_bits=64"};
    struct pvt_sim_params p;
    struct pvt_sim_result *wide = calloc(1, sizeof(*wide));
    struct pvt_sim_result *r = calloc(1, sizeof(*r));
    const double end_s = 6;

    ASSERT_NOT_NULL(wide);
    ASSERT_NOT_NULL(r);
    ASSERT_OK(params_with(&p, base, 9));
    ASSERT_OK(run_one(&p, "delta", wide));
    base[8] = "tsc_bits=32";
    ASSERT_OK(params_with(&p, base, 9));
    ASSERT_OK(run_one(&p, "delta", r));
    /* the run is 6 s of true time, calibration exact: the guest's clock
     * ends at 6 s, with 32 bits as with 64 */
    ASSERT(fabs(wide->end_guest_s - end_s) < 1e-3);
    ASSERT(fabs(r->end_guest_s - wide->end_guest_s) < 1e-6);
    ASSERT_UEQ(r->timers, wide->timers);
    ASSERT_UEQ(r->early_callbacks, 0);
    ASSERT_UEQ(r->lost, 0);
    ASSERT_UEQ(r->guest_clock_backwards, 0);
    base[8] = "tsc_bits=20";
    ASSERT_OK(params_with(&p, base, 9));
    ASSERT_OK(run_one(&p, "delta", r));
    ASSERT(r->end_guest_s < end_s - 0.1);
    free(wide);
    free(r);
    RETURN_OK();
}

/*
 * Tickless idle on a 32-bit TSC clocksource at 2 GHz, a timer a second or
 * more apart: the idle guest reads its clock at least every quarter of
 * the counter's range (0.54 s), so no wrap is lost. The clock ends the
 * 70 s run at 70 s, and every timer has fired.
 */
TEST_IMPL(sim_fault_narrow_counter_tickless)
{
    const char *sets[] = {
        "boot_clock=1",  "pvclock=0",         "boot_s=0",
        "nohz=1",        "timer_rate_hz=1",   "delta_min_us=1s",
        "delta_max_s=4", "cancel_fraction=0", "duration_s=60",
        "drain_s=10",    "tsc_bits=32"};
    struct pvt_sim_params p;
    struct pvt_sim_result *r = calloc(1, sizeof(*r));

    ASSERT_NOT_NULL(r);
    ASSERT_OK(params_with(&p, sets, sizeof(sets) / sizeof(sets[0])));
    ASSERT_OK(run_one(&p, "delta", r));
    ASSERT(fabs(r->end_guest_s - 70) < 1e-3);
    ASSERT_UGT(r->timers, 30);
    ASSERT_UEQ(r->fired, r->timers);
    ASSERT_UEQ(r->pending, 0);
    ASSERT_UEQ(r->lost, 0);
    ASSERT_UEQ(r->early_callbacks, 0);
    free(r);
    RETURN_OK();
}

/*
 * The hypervisor clock steps, unannounced: the pvclock pages follow it, so
 * the guest clock (on pvclock) ends the run by the step off the run
 * without it: 1 ms ahead for +1 ms. Back by 500 us it holds (the
 * timekeeper's guard: readings clamped, none backwards) and ends 500 us
 * behind; no callback early, nothing lost, either way.
 */
TEST_IMPL(sim_fault_hv_clock_step)
{
    const char *sets[] = {"boot_s=0.5", "duration_s=3", "drain_s=5",
                          "hv_step_at_s=1", "hv_step_us=1000"};
    struct pvt_sim_params p;
    struct pvt_sim_result *none = calloc(1, sizeof(*none));
    struct pvt_sim_result *r = calloc(1, sizeof(*r));
    const char *strategies[] = {"delta", "coupled", "relative", "compensated"};
    size_t i;

    ASSERT_NOT_NULL(none);
    ASSERT_NOT_NULL(r);
    for (i = 0; i < 4; i++) {
        sets[3] = "hv_step_at_s=-1";
        ASSERT_OK(params_with(&p, sets, 5));
        ASSERT_OK(run_one(&p, strategies[i], none));
        ASSERT_UEQ(none->timekeeper_clamps, 0);
        sets[3] = "hv_step_at_s=1";
        sets[4] = "hv_step_us=1000";
        ASSERT_OK(params_with(&p, sets, 5));
        ASSERT_OK(run_one(&p, strategies[i], r));
        ASSERT_NEAR((r->end_guest_s - none->end_guest_s) * 1e9, 1000000, 5000);
        ASSERT_UEQ(r->early_callbacks, 0);
        ASSERT_UEQ(r->lost, 0);
        ASSERT_UEQ(r->guest_clock_backwards, 0);
        sets[4] = "hv_step_us=-500";
        ASSERT_OK(params_with(&p, sets, 5));
        ASSERT_OK(run_one(&p, strategies[i], r));
        ASSERT_NEAR((r->end_guest_s - none->end_guest_s) * 1e9, -500000, 5000);
        ASSERT_UGT(r->timekeeper_clamps, 0);
        ASSERT_UEQ(r->early_callbacks, 0);
        ASSERT_UEQ(r->lost, 0);
        ASSERT_UEQ(r->guest_clock_backwards, 0);
    }
    free(none);
    free(r);
    RETURN_OK();
}

/* A tickless guest migrated to a host an hour ahead resumes its clock
 * where it was: nothing fires an hour late (the resume path runs before
 * the idle exit reads the clock). */
TEST_IMPL(sim_fault_migrate_tickless)
{
    const char *sets[] = {"migrate_at_s=2", "boot_s=1", "duration_s=3",
                          "drain_s=3",      "nohz=1",   "delta_max_s=0.5"};
    struct pvt_sim_params p;
    struct pvt_sim_result *r = calloc(1, sizeof(*r));

    ASSERT_NOT_NULL(r);
    ASSERT_OK(params_with(&p, sets, 6));
    ASSERT_OK(run_one(&p, "delta", r));
    ASSERT_UGT(r->fired, 1000);
    ASSERT_ULT(r->lateness.max_abs, (uint64_t)PVT_NSEC_PER_SEC);
    ASSERT(fabs(r->end_guest_s - 6) < 0.01);
    free(r);
    RETURN_OK();
}

/* ---- descriptions ------------------------------------------------------------- */

/* Whether some combination of m has parameters for which fn holds. */
static bool some_cell(const struct pvt_sim_matrix *m,
                      bool (*fn)(const struct pvt_sim_params *p))
{
    size_t c;

    for (c = 0; c < m->combos; c++) {
        struct pvt_sim_params p;
        uint64_t seed;
        const struct pvt_strategy *s;
        char err[256];
        if (pvt_sim_matrix_cell(m, c * m->nseeds * m->nstrategies, &p, &seed,
                                &s, NULL, err, sizeof(err)) == 0 &&
            fn(&p))
            return true;
    }
    return false;
}

static bool f_drift_neg(const struct pvt_sim_params *p)
{
    return p->boot_clock == 0 && p->boot_drift_ppm <= -300 && p->pvclock == 1;
}
static bool f_drift_pos(const struct pvt_sim_params *p)
{
    return p->boot_clock == 0 && p->boot_drift_ppm >= 300 && p->pvclock == 1;
}
static bool f_tsc_cal(const struct pvt_sim_params *p)
{
    return p->boot_clock == 1 && p->tsc_cal_ppm != 0;
}
static bool f_no_preempt(const struct pvt_sim_params *p)
{
    return p->preempt_rate_hz == 0;
}
static bool f_preempt_20(const struct pvt_sim_params *p)
{
    return p->preempt_rate_hz == 20 && p->preempt_mean_ms == 2;
}
static bool f_preempt_200(const struct pvt_sim_params *p)
{
    return p->preempt_rate_hz == 200 && p->preempt_mean_ms == 10;
}
static bool f_jump_fwd(const struct pvt_sim_params *p)
{
    return p->migrate_at_s >= 0 && p->migrate_jump_s == 3600 &&
           p->migrate_at_s < p->duration_s;
}
static bool f_jump_back(const struct pvt_sim_params *p)
{
    return p->migrate_at_s >= 0 && p->migrate_jump_s == -3600 &&
           p->migrate_at_s < p->duration_s;
}
static bool f_tsc_rate(const struct pvt_sim_params *p)
{
    return p->migrate_at_s >= 0 && p->migrate_tsc_ppm != 0;
}
static bool f_hv_back(const struct pvt_sim_params *p)
{
    return p->hv_step_at_s >= 0 && p->hv_step_at_s < p->duration_s &&
           p->hv_step_us < 0 && p->hv_step_us > -10000;
}
static bool f_switch(const struct pvt_sim_params *p)
{
    return p->pvclock == 1 && p->boot_s > 0 && p->boot_s < p->duration_s;
}
static bool f_no_switch(const struct pvt_sim_params *p)
{
    return p->pvclock == 0;
}
/* a counter that wraps at least once a run, on the clock the guest keeps */
static bool f_narrow(const struct pvt_sim_params *p)
{
    return p->boot_clock == 1 && p->pvclock == 0 &&
           ldexp(1, (int)p->tsc_bits) / (p->tsc_ghz * 1e9) < p->duration_s;
}
static bool f_nohz(const struct pvt_sim_params *p)
{
    return p->nohz == 1;
}
static bool f_tick(const struct pvt_sim_params *p)
{
    return p->nohz == 0;
}

static bool (*const every_fault[])(const struct pvt_sim_params *) = {
    f_drift_neg,   f_drift_pos, f_tsc_cal,   f_no_preempt, f_preempt_20,
    f_preempt_200, f_jump_fwd,  f_jump_back, f_tsc_rate,   f_hv_back,
    f_switch,      f_no_switch, f_narrow,    f_nohz,       f_tick,
};

/* The timers a matrix asks for: each combination's rate x duration, for
 * every seed and strategy. */
static double expected_timers(const struct pvt_sim_matrix *m)
{
    double sum = 0;
    size_t c;

    for (c = 0; c < m->combos; c++) {
        struct pvt_sim_params p;
        uint64_t seed;
        const struct pvt_strategy *s;
        char err[256];
        if (pvt_sim_matrix_cell(m, c * m->nseeds * m->nstrategies, &p, &seed,
                                &s, NULL, err, sizeof(err)))
            return -1;
        sum += p.timer_rate_hz * p.duration_s;
    }
    return sum * (double)(m->nseeds * m->nstrategies);
}

TEST_IMPL(sim_matrix_builtins_hold_every_fault)
{
    struct pvt_sim_matrix *m = malloc(sizeof(*m));
    const char *names[] = {"default", "quick"};
    size_t i, k, nall, product;
    char err[256];

    ASSERT_NOT_NULL(m);
    pvt_strategies(&nall);
    for (i = 0; i < 2; i++) {
        ASSERT_OK(pvt_sim_matrix_builtin(m, names[i], err, sizeof(err)));
        ASSERT_STR_EQ(m->name, names[i]);
        for (k = 0, product = 1; k < m->naxes; k++)
            product *= m->axis[k].nlevels;
        ASSERT_UEQ(m->combos, product);
        ASSERT_UEQ(m->runs, product * m->nseeds * m->nstrategies);
        ASSERT_UEQ(m->nstrategies, nall);
        for (k = 0; k < sizeof(every_fault) / sizeof(every_fault[0]); k++) {
            if (!some_cell(m, every_fault[k]))
                FAIL("matrix %s lacks fault %zu", names[i], k);
        }
    }
    /* the default: three seeds, every boot drift of the issue, >= 10^8
     * timers */
    ASSERT_OK(pvt_sim_matrix_builtin(m, "default", err, sizeof(err)));
    ASSERT_UGE(m->nseeds, 3);
    ASSERT(expected_timers(m) >= 1e8);
    {
        const double ppm[] = {-1000, -300, -10, 10, 300, 1000};
        for (k = 0; k < 6; k++) {
            size_t c;
            bool found = false;
            for (c = 0; c < m->combos && !found; c++) {
                struct pvt_sim_params p;
                uint64_t seed;
                const struct pvt_strategy *s;
                ASSERT_OK(pvt_sim_matrix_cell(m, c * m->nseeds * m->nstrategies,
                                              &p, &seed, &s, NULL, err,
                                              sizeof(err)));
                found = p.boot_clock == 0 && p.boot_drift_ppm == ppm[k];
            }
            if (!found)
                FAIL("no boot drift of %g ppm", ppm[k]);
        }
    }
    ASSERT_EQ(pvt_sim_matrix_builtin(m, "huge", err, sizeof(err)), -1);
    free(m);
    RETURN_OK();
}

TEST_IMPL(sim_matrix_cells_and_shards)
{
    const char *text = "matrix t # a comment, 2 \xc3\x97 3 levels\n"
                       "base duration_s=2 boot_s=1\n"
                       "axis a\n"
                       "level x hz=100\n"
                       "level y hz=1000\n"
                       "axis b\n"
                       "level p nohz=0\n"
                       "level q nohz=1\n"
                       "level r nohz=1 hz=300\n"
                       "seeds 7 9\n"
                       "strategies delta relative\n";
    struct pvt_sim_matrix *m = malloc(sizeof(*m));
    struct pvt_sim_params p;
    const struct pvt_strategy *s;
    uint64_t seed;
    size_t lv[PVT_SIM_MATRIX_AXES], n, r, i;
    char err[256];

    ASSERT_NOT_NULL(m);
    ASSERT_OK(pvt_sim_matrix_parse(m, text, "t", err, sizeof(err)));
    ASSERT_UEQ(m->combos, 6);
    ASSERT_UEQ(m->runs, 24);
    /* run = (combination * seeds + seed) * strategies + strategy, the last
     * axis fastest: run 19 = combination 4 (a=y, b=q), seed 9, relative */
    ASSERT_OK(pvt_sim_matrix_cell(m, 19, &p, &seed, &s, lv, err, sizeof(err)));
    ASSERT_UEQ(lv[0], 1);
    ASSERT_UEQ(lv[1], 1);
    ASSERT_UEQ(seed, 9);
    ASSERT_STR_EQ(s->name, "relative");
    ASSERT(p.hz == 1000 && p.nohz == 1 && p.duration_s == 2);
    /* a later level's assignment wins over an earlier axis's */
    ASSERT_OK(pvt_sim_matrix_cell(m, 20, &p, &seed, &s, lv, err, sizeof(err)));
    ASSERT(p.hz == 300);
    ASSERT_EQ(pvt_sim_matrix_cell(m, 24, &p, &seed, &s, lv, err, sizeof(err)),
              -1);
    /* shards partition the runs */
    for (n = 1; n <= 7; n++)
        for (r = 0; r < m->runs; r++) {
            size_t owners = 0;
            for (i = 0; i < n; i++) {
                struct pvt_sim_matrix_shard sh = {i, n};
                owners += pvt_sim_matrix_in_shard(&sh, r);
            }
            ASSERT_UEQ(owners, 1);
        }
    free(m);
    RETURN_OK();
}

TEST_IMPL(sim_matrix_bad_descriptions)
{
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"", "empty"},
        {"axis a\n", "t:1: the first line must be `matrix NAME`"},
        {"matrix m\nlevel x\nseeds 1\n", "t:2: `level` before any `axis`"},
        {"matrix m\naxis a\nlevel x\nlevel x\nseeds 1\n", "t:4: axis a: level "
                                                          "'x' twice"},
        {"matrix m\naxis a\nlevel x hz=0\nseeds 1\n", "t:3: hz: 0"},
        {"matrix m\naxis a\nlevel x nope=1\nseeds 1\n", "t:3: unknown "
                                                        "parameter 'nope'"},
        {"matrix m\naxis a\nlevel x hz\nseeds 1\n", "expected key=value"},
        {"matrix m\naxis a\nseeds 1\n", "axis a has no level"},
        {"matrix m\naxis a\nlevel x\n", "no `seeds` line"},
        {"matrix m\nseeds 1 1\n", "t:2: seeds: 1 twice"},
        {"matrix m\nseeds -1\n", "not a seed"},
        {"matrix m\nseeds 1\nstrategies nope\n", "unknown strategy 'nope'"},
        {"matrix m\nseeds 1\nfrobnicate\n", "t:3: unknown directive"},
        {"matrix m\naxis a\nlevel x migrate_at_s=500\nseeds 1\n",
         "a=x: migrate_at_s (500) is after the end"},
        {"matrix m\naxis a\nlevel x\nseeds 1\nknown delta b=x lost\n",
         "no axis 'b'"},
        {"matrix m\naxis a\nlevel x\nseeds 1\nknown delta a=z lost\n",
         "axis a has no level 'z'"},
        {"matrix m\naxis a\nlevel x\nseeds 1\nknown delta a=x\n",
         "say lost, early or both"},
        {"matrix m\naxis a\nlevel x\x01\nseeds 1\n", "t:3: a byte that is "
                                                     "not printable"},
        {"matrix m n\n", "takes one name"},
        {"matrix m\nmatrix n\n", "a second `matrix` line"},
    };
    struct pvt_sim_matrix *m = malloc(sizeof(*m));
    char err[512];
    size_t i;

    ASSERT_NOT_NULL(m);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (pvt_sim_matrix_parse(m, bad[i].text, "t", err, sizeof(err)) != -1)
            FAIL("accepted: %s", bad[i].text);
        if (!strstr(err, bad[i].says))
            FAIL("'%s': said '%s', not '%s'", bad[i].text, err, bad[i].says);
    }
    ASSERT_EQ(pvt_sim_matrix_parse(NULL, "matrix m\n", "t", err, sizeof(err)),
              -1);
    ASSERT_EQ(pvt_sim_matrix_load(m, "/nonexistent/m", err, sizeof(err)), -1);
    ASSERT(strstr(err, "/nonexistent/m") != NULL);
    free(m);
    RETURN_OK();
}

/* ---- the tool ----------------------------------------------------------------- */

static int write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    if (fwrite(text, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/* The number after `"key": ` in the totals (the last occurrence). */
static long long total_of(const char *json, const char *key)
{
    char pat[64];
    const char *t = strstr(json, "\"totals\": "), *p;

    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    if (!t || !(p = strstr(t, pat)))
        return -1;
    return atoll(p + strlen(pat));
}

TEST_IMPL(sim_matrix_quick_shards_merge)
{
    struct pvt_spawn_result whole, part, merged;
    char dir[] = "/tmp/pvt-matrix-XXXXXX", s[3][64], arg[8], other[64], bad[64];
    size_t i;

    ASSERT_NOT_NULL(mkdtemp(dir));
    PVT_TOOL(&whole, "sim", "--matrix", "--quick", "--json");
    ASSERT_EQ(whole.status, 0);
    ASSERT(pvt_contains(whole.out, "\"matrix\": \"quick\""));
    ASSERT_EQ(total_of(whole.out, "runs"), 1152);
    ASSERT_GT(total_of(whole.out, "timers"), 200000);
    ASSERT_EQ(total_of(whole.out, "early"), 0);
    ASSERT_EQ(total_of(whole.out, "lost"), 0);
    ASSERT_EQ(total_of(whole.out, "backwards"), 0);
    ASSERT_EQ(total_of(whole.out, "failed_runs"), 0);
    for (i = 0; i < 3; i++) {
        snprintf(arg, sizeof(arg), "%zu/3", i + 1);
        snprintf(s[i], sizeof(s[i]), "%s/s%zu.json", dir, i + 1);
        PVT_TOOL(&part, "sim", "--matrix", "--quick", "--json", "--shard", arg);
        ASSERT_EQ(part.status, 0);
        ASSERT(pvt_contains(part.out, "\"shard\": \""));
        ASSERT_OK(write_text(s[i], part.out, part.out_len));
        pvt_spawn_free(&part);
    }
    /* any order: the same bytes as the whole run */
    PVT_TOOL(&merged, "merge", s[2], s[0], s[1]);
    ASSERT_EQ(merged.status, 0);
    ASSERT_UEQ(merged.out_len, whole.out_len);
    ASSERT(memcmp(merged.out, whole.out, whole.out_len) == 0);
    pvt_spawn_free(&merged);
    PVT_TOOL(&merged, "merge", "--table", s[0], s[1], s[2]);
    ASSERT_EQ(merged.status, 0);
    ASSERT(pvt_contains(merged.out, "\nPASS: 1152 runs, "));
    pvt_spawn_free(&merged);

    /* refusals */
    PVT_TOOL(&merged, "merge", s[0], s[1], s[0]);
    ASSERT_EQ(merged.status, 2);
    ASSERT(pvt_contains(merged.err, "overlapping shards"));
    pvt_spawn_free(&merged);
    PVT_TOOL(&merged, "merge", s[0], s[2]);
    ASSERT_EQ(merged.status, 2);
    ASSERT(pvt_contains(merged.err, "a shard missing"));
    pvt_spawn_free(&merged);
    PVT_TOOL(&merged, "merge");
    ASSERT_EQ(merged.status, 2);
    pvt_spawn_free(&merged);
    PVT_TOOL(&merged, "merge", "/nonexistent/s.json");
    ASSERT_EQ(merged.status, 2);
    ASSERT(pvt_contains(merged.err, "/nonexistent/s.json"));
    pvt_spawn_free(&merged);
    snprintf(bad, sizeof(bad), "%s/bad.json", dir);
    ASSERT_OK(write_text(bad, "{\"strategies\": []}\n", 19));
    PVT_TOOL(&merged, "merge", s[0], bad);
    ASSERT_EQ(merged.status, 2);
    ASSERT(pvt_contains(merged.err, "not the JSON of `pvtimer sim --matrix"));
    pvt_spawn_free(&merged);
    /* the shard cut short */
    ASSERT_OK(write_text(bad, whole.out, whole.out_len / 2));
    PVT_TOOL(&merged, "merge", bad);
    ASSERT_EQ(merged.status, 2);
    ASSERT(pvt_contains(merged.err, "truncated"));
    pvt_spawn_free(&merged);
    /* a description edited: its digest no longer matches */
    {
        char *copy = malloc(whole.out_len + 1), *at;
        ASSERT_NOT_NULL(copy);
        memcpy(copy, whole.out, whole.out_len + 1);
        at = strstr(copy, "seeds 1");
        ASSERT_NOT_NULL(at);
        at[6] = '2';
        ASSERT_OK(write_text(bad, copy, whole.out_len));
        free(copy);
    }
    PVT_TOOL(&merged, "merge", bad);
    ASSERT_EQ(merged.status, 2);
    ASSERT(pvt_contains(merged.err, "digest"));
    pvt_spawn_free(&merged);
    /* a shard of another matrix */
    {
        const char *t =
            "matrix quick\nbase duration_s=0.05 boot_s=0 drain_s=1.1 "
            "delta_max_s=0.01\naxis a\nlevel x\nseeds 1\n"
            "strategies delta\n";
        char mfile[64], marg[80];
        snprintf(mfile, sizeof(mfile), "%s/other.matrix", dir);
        snprintf(marg, sizeof(marg), "--matrix=%s", mfile);
        ASSERT_OK(write_text(mfile, t, strlen(t)));
        PVT_TOOL(&part, "sim", marg, "--json");
        ASSERT_EQ(part.status, 0);
        snprintf(other, sizeof(other), "%s/other.json", dir);
        ASSERT_OK(write_text(other, part.out, part.out_len));
        pvt_spawn_free(&part);
        remove(mfile);
    }
    PVT_TOOL(&merged, "merge", s[0], other);
    ASSERT_EQ(merged.status, 2);
    ASSERT(pvt_contains(merged.err, "another matrix"));
    pvt_spawn_free(&merged);
    for (i = 0; i < 3; i++)
        remove(s[i]);
    remove(bad);
    remove(other);
    rmdir(dir);
    pvt_spawn_free(&whole);
    RETURN_OK();
}

/*
 * A matrix whose -1 h jump makes abs-boot-offset aim an hour late: its
 * timers are lost, the run fails (exit 1, FAIL in the table); a `known`
 * line for it makes the same losses expected (exit 0). Bad command lines
 * are refused (exit 2).
 */
TEST_IMPL(sim_matrix_verdicts_and_usage)
{
    const char *t = "matrix j\n"
                    "base duration_s=0.4 drain_s=1.2 delta_max_s=0.1 "
                    "boot_s=0.1\n"
                    "axis jump\n"
                    "level back migrate_at_s=0.2 migrate_jump_s=-1h\n"
                    "seeds 1\n"
                    "strategies abs-boot-offset delta\n";
    char dir[] = "/tmp/pvt-matrix-XXXXXX", file[64], arg[80], text[512];
    struct pvt_spawn_result r;

    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/j.matrix", dir);
    snprintf(arg, sizeof(arg), "--matrix=%s", file);
    ASSERT_OK(write_text(file, t, strlen(t)));
    PVT_TOOL(&r, "sim", arg);
    ASSERT_EQ(r.status, 1);
    ASSERT(pvt_contains(r.out, "FAIL: abs-boot-offset/seed 1 lost"));
    ASSERT(pvt_contains(r.out, "\nFAIL: 2 runs, "));
    pvt_spawn_free(&r);
    snprintf(text, sizeof(text), "%sknown abs-boot-offset jump=back lost\n", t);
    ASSERT_OK(write_text(file, text, strlen(text)));
    PVT_TOOL(&r, "sim", arg);
    ASSERT_EQ(r.status, 0);
    ASSERT(pvt_contains(r.out, "(known: "));
    ASSERT(pvt_contains(r.out, "\nPASS: 2 runs, "));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "sim", arg, "--describe");
    ASSERT_EQ(r.status, 0);
    ASSERT_STR_EQ(r.out,
                  "matrix j\nbase duration_s=0.4 drain_s=1.2 delta_max_s=0.1 "
                  "boot_s=0.1\naxis jump\nlevel back migrate_at_s=0.2 "
                  "migrate_jump_s=-1h\nseeds 1\nstrategies abs-boot-offset "
                  "delta\nknown abs-boot-offset jump=back lost\n");
    pvt_spawn_free(&r);

    PVT_TOOL(&r, "sim", "--matrix", "--quick", "--shard", "0/2");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "--shard takes I/N"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "sim", "--matrix", "--quick", "--shard", "3/2");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "sim", arg, "--quick");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "give it no FILE"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "sim", "--matrix=/nonexistent/x.matrix");
    ASSERT_EQ(r.status, 2);
    ASSERT(pvt_contains(r.err, "/nonexistent/x.matrix"));
    pvt_spawn_free(&r);
    PVT_TOOL(&r, "sim", "--matrix", "--bogus");
    ASSERT_EQ(r.status, 2);
    pvt_spawn_free(&r);
    remove(file);
    rmdir(dir);
    RETURN_OK();
}

/* The quick matrix's shards run by GNU parallel, two at a time on this
 * host (-j2) and through its remote-login machinery for the local host
 * (--sshlogin :), merge to the whole run's bytes. */
TEST_IMPL(sim_matrix_gnu_parallel)
{
    char dir[] = "/tmp/pvt-matrix-XXXXXX", cmd[1024];
    struct pvt_spawn_result whole, merged, run;
    char s[4][80];
    size_t i;

    if (system("parallel --version >/dev/null 2>&1") != 0)
        RETURN_SKIP("GNU parallel is not installed (Debian: apt-get install "
                    "parallel)");
    ASSERT_NOT_NULL(mkdtemp(dir));
    PVT_TOOL(&whole, "sim", "--matrix", "--quick", "--json");
    ASSERT_EQ(whole.status, 0);
    /* shards 1 and 2 of 4 with -j2, 3 and 4 through --sshlogin : */
    snprintf(cmd, sizeof(cmd),
             "parallel --will-cite --halt now,fail=1 -j2 '%s' sim --matrix "
             "--quick --json --threads 1 --shard {}/4 '>' '%s/s{}.json' ::: "
             "1 2 && parallel --will-cite --halt now,fail=1 --sshlogin : "
             "'%s' sim --matrix --quick --json --threads 1 --shard {}/4 '>' "
             "'%s/s{}.json' ::: 3 4",
             PVT_TOOL_PATH, dir, PVT_TOOL_PATH, dir);
    ASSERT_OK(pvt_spawn("/bin/sh", (const char *const[]){"sh", "-c", cmd, NULL},
                        NULL, NULL, &run));
    if (run.status != 0)
        FAIL("parallel: exit %d: %s", run.status, run.err);
    pvt_spawn_free(&run);
    for (i = 0; i < 4; i++)
        snprintf(s[i], sizeof(s[i]), "%s/s%zu.json", dir, i + 1);
    PVT_TOOL(&merged, "merge", s[0], s[1], s[2], s[3]);
    ASSERT_EQ(merged.status, 0);
    ASSERT_UEQ(merged.out_len, whole.out_len);
    ASSERT(memcmp(merged.out, whole.out, whole.out_len) == 0);
    pvt_spawn_free(&merged);
    pvt_spawn_free(&whole);
    for (i = 0; i < 4; i++)
        remove(s[i]);
    rmdir(dir);
    RETURN_OK();
}
