/*
 * `pvtimer drift`: measure two clocks of this host against each other with
 * the core's drift estimator, in the manner of phc2sys: every interval,
 * several (A, B, A) brackets, the narrowest kept, fed to the estimator;
 * each update prints offset (B - A), frequency of B against A in ppm, the
 * bracket's width and the estimator's state.
 */
#define _GNU_SOURCE /* CLOCK_TAI, CLOCK_BOOTTIME */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "commands.h"
#include "drift-report.h"
#include "options.h"
#include "pvtimer/pvtimer.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#define BRACKETS      5   /* tries per sample, as phc2sys's default */
#define BRACKETS_TEXT "5" /* the same, for the help */

struct clock {
    const char *name;
    clockid_t id; /* -1: the TSC */
};

static const struct clock clocks[] = {
    {"CLOCK_MONOTONIC", CLOCK_MONOTONIC},
    {"CLOCK_MONOTONIC_RAW", CLOCK_MONOTONIC_RAW},
    {"CLOCK_REALTIME", CLOCK_REALTIME},
    {"CLOCK_BOOTTIME", CLOCK_BOOTTIME},
    {"CLOCK_TAI", CLOCK_TAI},
    {"TSC", (clockid_t)-1},
};

/* The TSC as ns: a core clocksource and timekeeper over rdtsc. */
struct tsc_clock {
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
    uint64_t hz;
    const char *how; /* where the frequency came from */
};

struct reader {
    const struct clock *c;
    struct tsc_clock *tsc;
};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if HAVE_TSC
static uint64_t rdtsc_read(struct pvt_clocksource *cs)
{
    (void)cs;
    return __rdtsc();
}

/* The TSC frequency the CPU or the hypervisor states, or 0. */
static uint64_t tsc_hz_cpuid(const char **how)
{
    unsigned int a, b, c, d, max;

    max = __get_cpuid_max(0, NULL);
    if (max >= 0x15) {
        __cpuid_count(0x15, 0, a, b, c, d);
        if (a && b && c) {
            *how = "from CPUID leaf 0x15";
            return (uint64_t)c * b / a;
        }
    }
    /* hypervisor timing leaf (KVM, VMware): TSC kHz */
    __cpuid(1, a, b, c, d);
    if (c & (1u << 31)) {
        __cpuid(0x40000000, a, b, c, d);
        if (a >= 0x40000010) {
            __cpuid(0x40000010, a, b, c, d);
            if (a) {
                *how = "from the hypervisor's CPUID leaf 0x40000010";
                return (uint64_t)a * 1000;
            }
        }
    }
    return 0;
}

static uint64_t raw_read(void *ctx)
{
    (void)ctx;
    return clock_ns(CLOCK_MONOTONIC_RAW);
}

static uint64_t rdtsc_ctx(void *ctx)
{
    (void)ctx;
    return __rdtsc();
}

/* Otherwise: count TSC cycles over 500 ms of CLOCK_MONOTONIC_RAW, each end
 * the narrowest of several (RAW, TSC, RAW) brackets, so that a read's
 * latency costs well under 0.1 ppm. */
static uint64_t tsc_hz_calibrate(void)
{
    struct timespec nap = {0, 500000000};
    struct pvt_drift_sample s0, s1;

    if (pvt_drift_measure(raw_read, NULL, rdtsc_ctx, NULL, 16, &s0))
        return 0;
    nanosleep(&nap, NULL);
    if (pvt_drift_measure(raw_read, NULL, rdtsc_ctx, NULL, 16, &s1) ||
        s1.a_ns <= s0.a_ns)
        return 0;
    return (uint64_t)((double)(s1.b_ns - s0.b_ns) * 1e9 /
                      (double)(s1.a_ns - s0.a_ns));
}

static int tsc_setup(struct tsc_clock *t)
{
    int rc;

    t->hz = tsc_hz_cpuid(&t->how);
    if (!t->hz) {
        t->hz = tsc_hz_calibrate();
        t->how = "calibrated against CLOCK_MONOTONIC_RAW over 500 ms (its "
                 "rate against that clock reads near 0 by construction)";
    }
    if (!t->hz)
        return -PVT_ERANGE;
    t->cs = (struct pvt_clocksource){
        .name = "tsc",
        .read = rdtsc_read,
        .mask = UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    if ((rc = pvt_clocksource_init_hz(&t->cs, t->hz, 0)) ||
        (rc = pvt_timekeeper_init(&t->tk, &t->cs,
                                  (int64_t)clock_ns(CLOCK_MONOTONIC_RAW))))
        return rc;
    return 0;
}
#else
static int tsc_setup(struct tsc_clock *t)
{
    (void)t;
    return -PVT_EOPNOTSUPP;
}
#endif

static uint64_t reader_read(void *ctx)
{
    const struct reader *r = ctx;

    if (r->c->id == (clockid_t)-1)
        return (uint64_t)pvt_timekeeper_now(&r->tsc->tk);
    return clock_ns(r->c->id);
}

static const struct clock *find_clock(const char *name)
{
    size_t i;

    for (i = 0; i < PVT_ARRAY_SIZE(clocks); i++) {
        if (strcasecmp(name, clocks[i].name) == 0)
            return &clocks[i];
        /* "monotonic" for "CLOCK_MONOTONIC" */
        if (strncmp(clocks[i].name, "CLOCK_", 6) == 0 &&
            strcasecmp(name, clocks[i].name + 6) == 0)
            return &clocks[i];
    }
    return NULL;
}

static double ppm_of(const struct pvt_drift_estimate *e)
{
    return pvt_drift_report_ppm(e->slope_q48);
}

/* B against A for duration s, a sample every interval_ms; the exit
 * status. */
static int measure(const struct clock *ca, const struct clock *cb,
                   double duration, double interval_ms, bool json)
{
    struct tsc_clock tsc = {0};
    struct reader ra, rb;
    struct pvt_drift d;
    struct pvt_drift_config cfg;
    struct pvt_drift_estimate est = {0};
    struct pvt_drift_update *ups;
    struct pvt_drift_final fin;
    size_t n = 0, max_updates;
    double start;

    if (ca->id == (clockid_t)-1 || cb->id == (clockid_t)-1) {
        int rc = tsc_setup(&tsc);
        if (rc) {
            fprintf(stderr, "pvtimer drift: no TSC clock here: %s\n",
                    pvt_strerror(rc));
            return 1;
        }
    }
    ra = (struct reader){ca, &tsc};
    rb = (struct reader){cb, &tsc};

    /* the sampling interval is the tool's; the estimator keeps them all */
    pvt_drift_config_default(&cfg);
    cfg.min_interval_ns = 0;
    if (pvt_drift_init(&d, &cfg)) {
        fprintf(stderr, "pvtimer drift: estimator setup failed\n");
        return 1;
    }
    max_updates = (size_t)(duration * 1000 / interval_ms) + 2;
    ups = calloc(max_updates, sizeof(*ups));
    if (!ups) {
        fprintf(stderr, "pvtimer drift: out of memory\n");
        return 1;
    }
    if (!json) {
        char note[160];

        if (tsc.how)
            snprintf(note, sizeof(note), "TSC at %llu Hz, %s",
                     (unsigned long long)tsc.hz, tsc.how);
        pvt_drift_report_header(ca->name, cb->name, interval_ms, duration,
                                tsc.how ? note : NULL);
    }

    start = (double)clock_ns(CLOCK_MONOTONIC) / 1e9;
    for (;;) {
        struct pvt_drift_sample s;
        double now = (double)clock_ns(CLOCK_MONOTONIC) / 1e9 - start;
        struct timespec nap;
        double next;
        int st;

        if (now > duration || n >= max_updates)
            break;
        if (pvt_drift_measure(reader_read, &ra, reader_read, &rb, BRACKETS,
                              &s) == 0) {
            st = pvt_drift_feed(&d, &s);
            pvt_drift_get(&d, &est);
            ups[n] = (struct pvt_drift_update){
                .t_s = now,
                .offset_ns = est.offset_ns,
                .freq_ppm = ppm_of(&est),
                .delay_ns = s.delay_ns,
                .state = st >= 0 ? (enum pvt_drift_state)st : est.state,
            };
            if (!json)
                pvt_drift_report_update(&ups[n]);
            n++;
        }
        next = (double)n * interval_ms / 1000;
        now = (double)clock_ns(CLOCK_MONOTONIC) / 1e9 - start;
        if (next > now) {
            double w = next - now;
            nap.tv_sec = (time_t)w;
            nap.tv_nsec = (long)((w - (double)nap.tv_sec) * 1e9);
            nanosleep(&nap, NULL);
        }
    }

    fin = (struct pvt_drift_final){
        .offset_ns = est.offset_ns,
        .freq_ppm = ppm_of(&est),
        .state = est.state,
        .window = est.window,
        .steps = est.steps,
        .dropped = est.dropped,
    };
    if (pvt_drift_report_summary(json, ca->name, cb->name, ups, n, &fin) < 0) {
        free(ups);
        fprintf(stderr, "pvtimer drift: out of memory\n");
        return 1;
    }
    free(ups);
    return 0;
}

static const char usage[] =
    "usage: pvtimer drift --a CLOCK --b CLOCK [--duration S] "
    "[--interval MS] [--json]\n"
    "       pvtimer drift --kvm [--tsc-error-ppm P] [--duration S] "
    "[--interval MS] [--json]\n\n"
    "Measures clock B against clock A with pvtimer's drift estimator: every "
    "interval\n" BRACKETS_TEXT " (A, B, A) readings, the narrowest kept and "
    "B paired with its midpoint.\nPrints, per update and as a summary, the "
    "offset B - A (from the fit), B's\nfrequency against A in ppm (B's "
    "rate in A's time, minus one: positive when B\nruns fast; the sign "
    "docs/design.md defines), the bracket's width and the\nestimator's "
    "state (unlocked, step, locked, stable).";

int pvt_cmd_drift(int argc, char **argv)
{
    const char *name_a = NULL, *name_b = NULL;
    const struct clock *ca = NULL, *cb = NULL;
    double duration = 10, interval_ms = 100;
    bool json = false, kvm = false;
    size_t i;
    double tsc_cal_ppm = 0;
    char clocks_help[256];
    const struct pvt_option opts[] = {
        PVT_OPT("--a", PVT_OPT_STRING, &name_a, "CLOCK", clocks_help),
        PVT_OPT("--b", PVT_OPT_STRING, &name_b, "CLOCK",
                "clock B, measured against A (the same names)"),
        PVT_OPT_TIME("--duration", &duration, "S",
                     "how long to measure (default 10 s; units: 500ms, 2m)", 0,
                     true, 86400, "s"),
        PVT_OPT_TIME("--interval", &interval_ms, "MS",
                     "between samples (default 100 ms; units: 1s)", 1, false,
                     60000, "ms"),
        PVT_OPT_JSON(&json),
        PVT_OPT("--kvm", PVT_OPT_FLAG, &kvm, NULL,
                "inside the KVM guest: its TSC clocksource (A) against\n"
                "kvmclock (B); exit 77 without KVM"),
        PVT_OPT_OPEN("--tsc-error-ppm", PVT_OPT_NUMBER, &tsc_cal_ppm, "P",
                     "with --kvm: the guest calibrates its TSC P ppm wrong",
                     -100000, 100000),
    };
    const struct pvt_command_spec spec = PVT_COMMAND_SPEC("drift", usage, opts);
    int rc, len = 0;

    for (i = 0; i < PVT_ARRAY_SIZE(clocks); i++)
        len += snprintf(clocks_help + len, sizeof(clocks_help) - (size_t)len,
                        "%s%s", i ? ", " : "clock A: ", clocks[i].name);
    snprintf(clocks_help + len, sizeof(clocks_help) - (size_t)len,
             "\n(the CLOCK_ prefix and case are optional)");
    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    if ((name_a && (ca = find_clock(name_a)) == NULL) ||
        (name_b && (cb = find_clock(name_b)) == NULL)) {
        fprintf(stderr,
                "pvtimer drift: unknown clock '%s' (pvtimer drift --help "
                "lists them)\n",
                ca == NULL && name_a ? name_a : name_b);
        return 2;
    }
    if (kvm) {
        if (ca || cb) {
            fprintf(stderr, "pvtimer drift: --kvm measures the guest's TSC "
                            "against kvmclock: no --a or --b\n");
            return 2;
        }
        return pvt_kvm_drift(duration, interval_ms, tsc_cal_ppm, json);
    }
    if (tsc_cal_ppm != 0) {
        fprintf(stderr, "pvtimer drift: --tsc-error-ppm goes with --kvm\n");
        return 2;
    }
    if (!ca || !cb) {
        fprintf(stderr, "pvtimer drift: --a and --b are required (try "
                        "pvtimer drift --help)\n");
        return 2;
    }
    return measure(ca, cb, duration, interval_ms, json);
}
