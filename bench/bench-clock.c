/*
 * `pvtimer bench clock`: the cost of reading guest time and of programming
 * a device, against clock_gettime(CLOCK_MONOTONIC) (the vDSO) measured in
 * the same process.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "options.h"
#include "pvtimer/pvtimer.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static uint64_t host_tsc(void)
{
    return __rdtsc();
}
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
static uint64_t host_tsc(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Keeps results alive so the loops are not optimised away. */
static volatile uint64_t sink;

struct bench_ctx {
    struct pvt_clocksource tsc;
    struct pvt_pvclock_vcpu_time_info page;
    struct pvt_pvclock_guest pvg;
    struct pvt_timekeeper tk;
    struct pvt_clockevent dev;
    struct pvt_drift drift; /* compensated's estimator */
    uint64_t tsc_hz;
    uint64_t program_failures;
};

static uint64_t tsc_read(struct pvt_clocksource *cs)
{
    (void)cs;
    return host_tsc();
}

static uint64_t tsc_read_ctx(void *ctx)
{
    (void)ctx;
    return host_tsc();
}

static uint64_t dev_timebase(struct pvt_clockevent *dev)
{
    (void)dev;
    return mono_ns();
}

static int dev_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    (void)dev;
    sink = when;
    return 0;
}

static int dev_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    (void)dev;
    sink = ticks;
    return 0;
}

/* Estimate the host TSC frequency against CLOCK_MONOTONIC over ~50 ms. */
static uint64_t calibrate_tsc(void)
{
    uint64_t t0 = mono_ns(), c0 = host_tsc(), t1, c1;
    do {
        t1 = mono_ns();
    } while (t1 - t0 < 50000000u);
    c1 = host_tsc();
    return (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0));
}

enum op {
    OP_GETTIME,
    OP_TSC,
    OP_CYC2NS,
    OP_PVCLOCK,
    OP_TK_NOW,
    OP_PROGRAM,
};

static void run_op(struct bench_ctx *c, enum op op, unsigned int n)
{
    unsigned int i;
    uint64_t acc = 0, ns;
    int64_t now;

    switch (op) {
    case OP_GETTIME:
        for (i = 0; i < n; i++)
            acc += mono_ns();
        break;
    case OP_TSC:
        for (i = 0; i < n; i++)
            acc += host_tsc();
        break;
    case OP_CYC2NS:
        /* deltas of up to ~1 ms of cycles: the fast, exact path */
        for (i = 0; i < n; i++)
            acc += pvt_clocksource_cyc2ns(&c->tsc, (acc & 0xfffff) + i);
        break;
    case OP_PVCLOCK:
        for (i = 0; i < n; i++) {
            pvt_pvclock_read(&c->pvg, &c->page, tsc_read_ctx, NULL, &ns, NULL);
            acc += ns;
        }
        break;
    case OP_TK_NOW:
        for (i = 0; i < n; i++)
            acc += (uint64_t)pvt_timekeeper_now(&c->tk);
        break;
    case OP_PROGRAM:
        /* deadlines 1 s ahead of a clock re-read every 1024 calls, so
         * every call takes the full programming path; refusals counted */
        now = 0;
        for (i = 0; i < n; i++) {
            if ((i & 1023) == 0)
                now = pvt_timekeeper_now(&c->tk);
            if (pvt_clockevent_program(
                    &c->dev, now + PVT_NSEC_PER_SEC + (int64_t)(i & 1023),
                    false) != 0)
                c->program_failures++;
        }
        break;
    }
    sink = acc;
}

/*
 * compensated is timed locked, as it runs: programmings a little over the
 * estimator's min_interval apart until it is, then the timed loop, where
 * it offers every programming's bracket and keeps about one in 100 ms.
 */
static int lock_estimator(struct bench_ctx *c)
{
    struct timespec nap = {0, PVT_DRIFT_DEFAULT_MIN_INTERVAL_NS + 1000000};
    int i;

    for (i = 0; i < 3 * PVT_DRIFT_MIN_SAMPLES; i++) {
        int64_t now = pvt_timekeeper_now(&c->tk);
        if (pvt_clockevent_program(&c->dev, now + PVT_NSEC_PER_SEC, false))
            c->program_failures++;
        if (c->drift.state >= PVT_DRIFT_LOCKED)
            return 0;
        nanosleep(&nap, NULL);
    }
    return -1;
}

/* Best of 5 runs, in ns per operation. */
static double measure(struct bench_ctx *c, enum op op)
{
    const unsigned int n = 200000;
    double best = 1e30;
    int r;

    run_op(c, op, n / 10); /* warm up */
    for (r = 0; r < 5; r++) {
        uint64_t t0 = mono_ns();
        run_op(c, op, n);
        double per = (double)(mono_ns() - t0) / n;
        if (per < best)
            best = per;
    }
    return best;
}

static int setup(struct bench_ctx *c)
{
    struct pvt_pvclock_params p = {0};
    int rc;

    memset(c, 0, sizeof(*c));
    c->tsc_hz = calibrate_tsc();
    c->tsc = (struct pvt_clocksource){
        .name = "tsc",
        .read = tsc_read,
        .mask = UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    rc = pvt_clocksource_init_hz(&c->tsc, c->tsc_hz, 0);
    if (!rc)
        rc = pvt_pvclock_time_scale(PVT_NSEC_PER_SEC, c->tsc_hz, &p.shift,
                                    &p.mul);
    if (rc)
        return rc;
    p.tsc_timestamp = host_tsc();
    p.system_time = mono_ns();
    p.flags = PVT_PVCLOCK_TSC_STABLE;
    rc = pvt_pvclock_write(&c->page, &p);
    if (!rc)
        rc = pvt_pvclock_guest_init(&c->pvg, PVT_PVCLOCK_TSC_STABLE);
    if (!rc)
        rc = pvt_timekeeper_init(&c->tk, &c->tsc, 0);
    if (rc)
        return rc;
    c->dev = (struct pvt_clockevent){
        .name = "null",
        .features = PVT_CE_FEAT_ONESHOT,
        .set_next_event = dev_set_rel,
        .set_next_abs = dev_set_abs,
        .read_timebase = dev_timebase,
    };
    rc = pvt_drift_init(&c->drift, NULL);
    if (!rc)
        rc = pvt_clockevent_config(&c->dev, PVT_NSEC_PER_SEC, 1000, UINT32_MAX);
    if (!rc)
        rc = pvt_clockevent_register(&c->dev, &c->tk);
    if (!rc)
        rc = pvt_clockevent_set_state(&c->dev, PVT_CE_ONESHOT, 0);
    return rc;
}

int pvt_bench_clock(int argc, char **argv)
{
    struct bench_ctx c;
    bool json = false;
    double base;
    size_t i, nstrat;
    const struct pvt_strategy *const *all = pvt_strategies(&nstrat);
    int rc;
    const struct pvt_option opts[] = {
        PVT_OPT_JSON(&json),
    };
    static const char usage[] =
        "usage: pvtimer bench clock [--json]\n\n"
        "ns per guest clock read (TSC clocksource through the "
        "timekeeper, pvclock\nreader) and per device programming "
        "for each strategy, beside\nclock_gettime(CLOCK_MONOTONIC) "
        "measured in the same process (ratio column).";
    const struct pvt_command_spec spec =
        PVT_COMMAND_SPEC("bench clock", usage, opts);
    struct row {
        char name[48];
        double ns;
    } rows[16];
    size_t nrows = 0;

    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    rc = setup(&c);
    if (rc) {
        fprintf(stderr, "pvtimer bench clock: setup failed: %s\n",
                pvt_strerror(rc));
        return 1;
    }

    base = measure(&c, OP_GETTIME);
#define ROW(label, op)                                                         \
    do {                                                                       \
        snprintf(rows[nrows].name, sizeof(rows[nrows].name), "%s", label);     \
        rows[nrows].ns = measure(&c, op);                                      \
        nrows++;                                                               \
    } while (0)
    ROW(HAVE_TSC ? "rdtsc" : "clock_gettime(RAW)", OP_TSC);
    ROW("clocksource cyc2ns", OP_CYC2NS);
    ROW("pvclock read", OP_PVCLOCK);
    ROW("timekeeper now (tsc)", OP_TK_NOW);
    for (i = 0; i < nstrat && nrows < PVT_ARRAY_SIZE(rows); i++) {
        char label[48];
        if (pvt_clockevent_set_strategy(&c.dev, all[i], &c.drift) != 0)
            continue;
        if ((all[i]->flags & PVT_STRATEGY_ESTIMATOR) &&
            lock_estimator(&c) != 0) {
            fprintf(stderr, "pvtimer bench clock: the estimator did not "
                            "lock\n");
            return 1;
        }
        snprintf(label, sizeof(label), "program (%s)", all[i]->name);
        ROW(label, OP_PROGRAM);
    }
#undef ROW
    if (c.program_failures) {
        /* every programming must have taken the normal path */
        fprintf(stderr,
                "pvtimer bench clock: %llu programmings failed; the "
                "figures are not valid\n",
                (unsigned long long)c.program_failures);
        return 1;
    }

    if (json) {
        printf("{\"benchmark\": \"clock\", \"baseline\": "
               "{\"name\": \"clock_gettime(CLOCK_MONOTONIC)\", "
               "\"ns_per_op\": %.2f}, \"rows\": [",
               base);
        for (i = 0; i < nrows; i++)
            printf("%s{\"name\": \"%s\", \"ns_per_op\": %.2f, "
                   "\"ratio_to_baseline\": %.3f}",
                   i ? ", " : "", rows[i].name, rows[i].ns, rows[i].ns / base);
        printf("]}\n");
        return 0;
    }
    printf("pvtimer bench clock (best of 5 x 200000; TSC %.3f MHz)\n",
           (double)c.tsc_hz / 1e6);
    printf("%-32s %10s %8s\n", "operation", "ns/op", "ratio");
    printf("%-32s %10.2f %8s\n", "clock_gettime(MONOTONIC) [base]", base,
           "1.000");
    for (i = 0; i < nrows; i++)
        printf("%-32s %10.2f %8.3f\n", rows[i].name, rows[i].ns,
               rows[i].ns / base);
    return 0;
}
