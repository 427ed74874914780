/*
 * `pvtimer bench clock`: the cost of reading guest time and of each
 * strategy's whole programming path, with real clocks, beside a bare TSC
 * read (rdtsc) and clock_gettime(CLOCK_MONOTONIC) measured in the same
 * run.
 *
 * The clocks are as a paravirtual guest has them: the guest clock is a
 * pvclock clocksource reading a pvclock page with rdtsc; the device is a
 * hypervisor one-shot timer taking absolute hypervisor ns, whose timebase
 * the guest reads likewise from a second pvclock-style page with rdtsc. A
 * writer thread re-publishes both pages every millisecond, as a
 * hypervisor does (seqlock protocol, pvt_pvclock_write), so the readers
 * meet real updates. Both clocks derive from the TSC, so the device can
 * pair them (read_paired, clockevent.h): one rdtsc gives both readings.
 * `coupled` converts exactly when the device counts the guest clock's
 * counter: the device is told so (coupled_cs) for its row. Each
 * programming row is timed with pairing off and, for the strategies that
 * read both clocks, on; the "TSC reads" column is ns / the rdtsc row's ns.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
    struct pvt_pvclock_vcpu_time_info page;     /* the guest clock's */
    struct pvt_pvclock_vcpu_time_info dev_page; /* the device's timebase */
    struct pvt_pvclock_guest pvg, dev_pvg;
    struct pvt_pvclock_clocksource pcs;
    struct pvt_timekeeper tk;    /* on the TSC clocksource */
    struct pvt_timekeeper pv_tk; /* on the pvclock clocksource */
    struct pvt_clockevent dev;
    struct pvt_drift drift; /* compensated's estimator */
    uint64_t tsc_hz;
    struct pvt_pvclock_params gp, dp; /* what the writer publishes */
    pthread_t writer;
    volatile int stop;
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
    struct bench_ctx *c = dev->priv;
    uint64_t ns = 0;

    (void)pvt_pvclock_read(&c->dev_pvg, &c->dev_page, tsc_read_ctx, NULL, &ns,
                           NULL);
    return ns;
}

/* Both clocks from one rdtsc: the guest's pvclock clocksource and the
 * device's page, read at that value in one call. A device page that
 * cannot be read is a failed programming (counted: the figures are then
 * refused). */
static uint64_t dev_read_paired(struct pvt_clockevent *dev, uint64_t *cs_cycles)
{
    struct bench_ctx *c = dev->priv;
    uint64_t ns;

    if (pvt_pvclock_read_pair(&c->pcs, &c->dev_pvg, &c->dev_page, host_tsc(),
                              cs_cycles, &ns) == 0)
        return ns;
    c->program_failures++;
    return 0;
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

/* The hypervisor: both pages re-published every millisecond, their
 * snapshots taken at the TSC of the update (the guest clock 1 s behind
 * the hypervisor's). */
static void *writer_main(void *arg)
{
    struct bench_ctx *c = arg;
    struct timespec ms = {0, 1000000};

    while (!c->stop) {
        uint64_t tsc = host_tsc(), ns = mono_ns();
        c->dp.tsc_timestamp = c->gp.tsc_timestamp = tsc;
        c->dp.system_time = ns;
        c->gp.system_time = ns - PVT_NSEC_PER_SEC;
        (void)pvt_pvclock_write(&c->page, &c->gp);
        (void)pvt_pvclock_write(&c->dev_page, &c->dp);
        nanosleep(&ms, NULL);
    }
    return NULL;
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
    OP_PV_NOW,
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
    case OP_PV_NOW:
        for (i = 0; i < n; i++)
            acc += (uint64_t)pvt_timekeeper_now(&c->pv_tk);
        break;
    case OP_PROGRAM:
        /* deadlines 1 s ahead of a clock re-read every 1024 calls, so
         * every call takes the full programming path; refusals counted */
        now = 0;
        for (i = 0; i < n; i++) {
            if ((i & 1023) == 0)
                now = pvt_timekeeper_now(&c->pv_tk);
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
        int64_t now = pvt_timekeeper_now(&c->pv_tk);
        if (pvt_clockevent_program(&c->dev, now + PVT_NSEC_PER_SEC, false))
            c->program_failures++;
        if (c->drift.state >= PVT_DRIFT_LOCKED)
            return 0;
        nanosleep(&nap, NULL);
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static double time_op(struct bench_ctx *c, enum op op, unsigned int n)
{
    uint64_t t0 = mono_ns();

    run_op(c, op, n);
    return (double)(mono_ns() - t0) / n;
}

#define SLICES 21 /* timed slices per row: odd, for the median */

static unsigned int ops_per_run = 200000;

/*
 * ns per operation and the same in bare TSC reads: the row's operations
 * are timed in SLICES slices, each right after a slice of bare rdtsc of
 * the same length, and the ratio taken within each pair, so that a
 * machine whose load changes from one moment to the next (other work on
 * the same cores) weighs on both sides of a ratio alike; each figure is
 * the median over the slices.
 */
static double measure(struct bench_ctx *c, enum op op, double *tsc_reads)
{
    const unsigned int n = ops_per_run / 10 ? ops_per_run / 10 : 1;
    double ns[SLICES], ratio[SLICES], tsc;
    int r;

    run_op(c, op, n); /* warm up */
    for (r = 0; r < SLICES; r++) {
        tsc = time_op(c, OP_TSC, n);
        ns[r] = time_op(c, op, n);
        ratio[r] = ns[r] / tsc;
    }
    if (tsc_reads)
        *tsc_reads = median(ratio, SLICES);
    return median(ns, SLICES);
}

static int setup(struct bench_ctx *c)
{
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
        rc = pvt_pvclock_time_scale(PVT_NSEC_PER_SEC, c->tsc_hz, &c->gp.shift,
                                    &c->gp.mul);
    if (rc)
        return rc;
    c->gp.flags = PVT_PVCLOCK_TSC_STABLE;
    c->dp = c->gp;
    c->gp.tsc_timestamp = c->dp.tsc_timestamp = host_tsc();
    c->dp.system_time = mono_ns();
    c->gp.system_time = c->dp.system_time - PVT_NSEC_PER_SEC;
    rc = pvt_pvclock_write(&c->page, &c->gp);
    if (!rc)
        rc = pvt_pvclock_write(&c->dev_page, &c->dp);
    if (!rc)
        rc = pvt_pvclock_guest_init(&c->pvg, PVT_PVCLOCK_TSC_STABLE);
    if (!rc)
        rc = pvt_pvclock_guest_init(&c->dev_pvg, PVT_PVCLOCK_TSC_STABLE);
    if (!rc)
        rc = pvt_pvclock_clocksource_init(&c->pcs, "pvclock", &c->pvg, &c->page,
                                          tsc_read_ctx, NULL);
    if (!rc)
        rc = pvt_clocksource_init(&c->pcs.cs);
    if (!rc)
        rc = pvt_timekeeper_init(&c->tk, &c->tsc, 0);
    if (!rc)
        rc = pvt_timekeeper_init(&c->pv_tk, &c->pcs.cs, 0);
    if (rc)
        return rc;
    c->dev = (struct pvt_clockevent){
        .name = "hv-oneshot",
        .features = PVT_CE_FEAT_ONESHOT,
        .set_next_event = dev_set_rel,
        .set_next_abs = dev_set_abs,
        .read_timebase = dev_timebase,
        .priv = c,
    };
    rc = pvt_drift_init(&c->drift, NULL);
    if (!rc)
        rc = pvt_clockevent_config(&c->dev, PVT_NSEC_PER_SEC, 1000, UINT32_MAX);
    if (!rc)
        rc = pvt_clockevent_register(&c->dev, &c->pv_tk);
    if (!rc)
        rc = pvt_clockevent_set_state(&c->dev, PVT_CE_ONESHOT, 0);
    if (!rc && pthread_create(&c->writer, NULL, writer_main, c) != 0)
        rc = -PVT_EINVAL;
    return rc;
}

/* Pairing on or off for the rows that follow (both fields or neither). */
static void set_paired(struct bench_ctx *c, bool on)
{
    c->dev.read_paired = on ? dev_read_paired : NULL;
    c->dev.paired_cs = on ? &c->pcs.cs : NULL;
}

static void stop_writer(struct bench_ctx *c)
{
    c->stop = 1;
    pthread_join(c->writer, NULL);
}

int pvt_bench_clock(int argc, char **argv)
{
    struct bench_ctx c;
    bool json = false;
    double base, base_tsc, tsc_ns;
    size_t i, nstrat;
    const struct pvt_strategy *const *all = pvt_strategies(&nstrat);
    int rc, paired;
    unsigned long lops = 200000;
    const char *only = NULL;
    const struct pvt_option opts[] = {
        PVT_OPT_JSON(&json),
        PVT_OPT("--row", PVT_OPT_STRING, &only, "TEXT",
                "time only the rows whose name contains TEXT (and rdtsc),\n"
                "e.g. to profile one programming path"),
        PVT_OPT_RANGE("--ops", PVT_OPT_COUNT, &lops, "N",
                      "operations per row, in 21 slices (default 200000)", 1000,
                      100000000),
    };
    static const char usage[] =
        "usage: pvtimer bench clock [--json] [--ops N] [--row TEXT]\n\n"
        "ns per guest clock read and per device programming for each "
        "strategy, with\nreal clocks: the guest clock on a pvclock page "
        "read with rdtsc, the device\n(a hypervisor one-shot timer) on "
        "a second such page, both re-published every\nms by a writer "
        "thread; beside a bare rdtsc and clock_gettime(CLOCK_MONOTONIC)\n"
        "measured in the same run (\"TSC reads\": ns / rdtsc's ns, each run "
        "against an\nrdtsc run just before it). "
        "Strategies that read\nboth clocks are timed unpaired and paired "
        "(both readings from one rdtsc).";
    const struct pvt_command_spec spec =
        PVT_COMMAND_SPEC("bench clock", usage, opts);
    struct row {
        char name[48];
        double ns, tsc_reads;
    } rows[24];
    size_t nrows = 0;

    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    ops_per_run = (unsigned int)lops;
    rc = setup(&c);
    if (rc) {
        fprintf(stderr, "pvtimer bench clock: setup failed: %s\n",
                pvt_strerror(rc));
        return 1;
    }

    base = measure(&c, OP_GETTIME, &base_tsc);
#define ROW(label, op)                                                         \
    do {                                                                       \
        if (nrows && only && !strstr(label, only))                             \
            break;                                                             \
        snprintf(rows[nrows].name, sizeof(rows[nrows].name), "%s", label);     \
        rows[nrows].ns = measure(&c, op, &rows[nrows].tsc_reads);              \
        nrows++;                                                               \
    } while (0)
    ROW(HAVE_TSC ? "rdtsc" : "clock_gettime(RAW)", OP_TSC);
    tsc_ns = rows[0].ns;
    ROW("clocksource cyc2ns", OP_CYC2NS);
    ROW("pvclock read", OP_PVCLOCK);
    ROW("timekeeper now (tsc)", OP_TK_NOW);
    ROW("timekeeper now (pvclock)", OP_PV_NOW);
    for (i = 0; i < nstrat; i++) {
        for (paired = 0; paired < 2 && nrows < PVT_ARRAY_SIZE(rows); paired++) {
            char label[48];
            const bool both = !strcmp(all[i]->name, "delta") ||
                              !strcmp(all[i]->name, "compensated");
            if (paired && !both)
                break;
            set_paired(&c, paired);
            /* coupled's row: the device counts the guest clock's ns */
            c.dev.coupled_cs =
                !strcmp(all[i]->name, "coupled") ? &c.pcs.cs : NULL;
            if (pvt_clockevent_set_strategy(&c.dev, all[i], &c.drift) != 0)
                break;
            if ((all[i]->flags & PVT_STRATEGY_ESTIMATOR) &&
                lock_estimator(&c) != 0) {
                fprintf(stderr, "pvtimer bench clock: the estimator did not "
                                "lock\n");
                stop_writer(&c);
                return 1;
            }
            snprintf(label, sizeof(label), "program (%s%s)", all[i]->name,
                     paired ? ", paired" : "");
            ROW(label, OP_PROGRAM);
        }
    }
#undef ROW
    stop_writer(&c);
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
               "\"ns_per_op\": %.2f}, \"tsc_ns\": %.2f, \"rows\": [",
               base, tsc_ns);
        for (i = 0; i < nrows; i++)
            printf("%s{\"name\": \"%s\", \"ns_per_op\": %.2f, "
                   "\"ratio_to_baseline\": %.3f, \"tsc_reads\": %.3f}",
                   i ? ", " : "", rows[i].name, rows[i].ns, rows[i].ns / base,
                   rows[i].tsc_reads);
        printf("]}\n");
        return 0;
    }
    printf("pvtimer bench clock (medians over %d slices of %u, each after "
           "a slice of rdtsc\nfor the TSC reads column; TSC %.3f MHz)\n",
           SLICES, ops_per_run / 10, (double)c.tsc_hz / 1e6);
    printf("%-34s %10s %8s %10s\n", "operation", "ns/op", "ratio", "TSC reads");
    printf("%-34s %10.2f %8s %10.2f\n", "clock_gettime(MONOTONIC) [base]", base,
           "1.000", base_tsc);
    for (i = 0; i < nrows; i++)
        printf("%-34s %10.2f %8.3f %10.2f\n", rows[i].name, rows[i].ns,
               rows[i].ns / base, rows[i].tsc_reads);
    return 0;
}
