/*
 * `pvtimer demo`: the core's strategies side by side on one small model.
 *
 * True time t runs in ns from the guest's boot. The hypervisor clock is
 * H = h0 + t (it has been up for days). The guest's TSC ticks at tsc_hz
 * but the guest calibrated it wrong by cal_ppm, so its clock drifts; at
 * switch_s the guest installs the pvclock clocksource (kvmclock/Xen), which
 * reads H exactly through the real pvclock reader. Every strategy runs on
 * its own identical copy of the world and programs a timer `delta` ahead at
 * several uptimes; the aim error is where the device deadline falls in
 * guest time minus the guest deadline. Optionally the vCPU is preempted
 * right after each programming reads the guest clock.
 *
 * This is the fixed-point core doing the work; only time is modelled. The
 * full simulator (`pvtimer sim`) replaces it with preemption processes,
 * lost ticks and a real timer workload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "pvtimer/pvtimer.h"

struct world {
    uint64_t t;  /* true ns since guest boot */
    uint64_t h0; /* hypervisor clock at guest boot */
    uint64_t tsc_hz;
    uint64_t preempt_ns; /* added to t after the next guest clock read */
    bool preempt_armed;
    uint64_t fire_t; /* true time the last programmed event fires at */

    struct pvt_clocksource tsc; /* the guest's (miscalibrated) TSC */
    struct pvt_pvclock_vcpu_time_info page;
    struct pvt_pvclock_guest pvg;
    struct pvt_pvclock_clocksource kvmclock;
    struct pvt_timekeeper tk;
    struct pvt_clockevent pv;    /* hypervisor singleshot timer, H ns */
    struct pvt_clockevent lapic; /* TSC-deadline timer, guest TSC cycles */
};

static uint64_t true_tsc(const struct world *w)
{
    return (uint64_t)((unsigned __int128)w->t * w->tsc_hz / PVT_NSEC_PER_SEC);
}

/* The guest reading its TSC: the moment a preemption may hit. */
static uint64_t guest_tsc(void *ctx)
{
    struct world *w = ctx;
    uint64_t v = true_tsc(w);

    if (w->preempt_armed) {
        w->preempt_armed = false;
        w->t += w->preempt_ns;
    }
    return v;
}

static uint64_t tsc_cs_read(struct pvt_clocksource *cs)
{
    return guest_tsc(cs->priv);
}

/* Device side: the hypervisor's clock and the TSC, read without a hook. */
static uint64_t pv_timebase(struct pvt_clockevent *dev)
{
    const struct world *w = dev->priv;
    return w->h0 + w->t;
}

static int pv_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct world *w = dev->priv;
    /* past deadlines fire at once */
    w->fire_t = when > w->h0 + w->t ? when - w->h0 : w->t;
    return 0;
}

static int pv_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    struct world *w = dev->priv;
    /* the hypervisor adds its own now when it handles the call */
    w->fire_t = w->t + ticks;
    return 0;
}

static uint64_t lapic_timebase(struct pvt_clockevent *dev)
{
    return true_tsc(dev->priv);
}

static int lapic_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct world *w = dev->priv;
    /* the first ns at which the TSC has reached `when` */
    uint64_t t = (uint64_t)(((unsigned __int128)when * PVT_NSEC_PER_SEC +
                             w->tsc_hz - 1) /
                            w->tsc_hz);
    w->fire_t = t > w->t ? t : w->t;
    return 0;
}

static void publish_pvclock(struct world *w)
{
    struct pvt_pvclock_params p = {0};

    pvt_pvclock_time_scale(PVT_NSEC_PER_SEC, w->tsc_hz, &p.shift, &p.mul);
    p.tsc_timestamp = true_tsc(w);
    p.system_time = w->h0 + w->t;
    p.flags = PVT_PVCLOCK_TSC_STABLE;
    pvt_pvclock_write(&w->page, &p);
}

static int world_init(struct world *w, uint64_t tsc_hz, int64_t cal_ppm,
                      const struct pvt_ce_strategy *s)
{
    uint64_t cal_hz =
        (uint64_t)((int64_t)tsc_hz + (int64_t)tsc_hz / 1000000 * cal_ppm);
    struct pvt_clockevent *dev;
    int rc;

    memset(w, 0, sizeof(*w));
    w->h0 = 3ull * 86400 * PVT_NSEC_PER_SEC;
    w->tsc_hz = tsc_hz;
    w->tsc = (struct pvt_clocksource){
        .name = "tsc",
        .read = tsc_cs_read,
        .priv = w,
        .mask = UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    rc = pvt_clocksource_init_hz(&w->tsc, cal_hz, 0);
    if (rc)
        return rc;
    publish_pvclock(w);
    rc = pvt_pvclock_guest_init(&w->pvg, PVT_PVCLOCK_TSC_STABLE);
    if (!rc)
        rc = pvt_pvclock_clocksource_init(&w->kvmclock, "kvm-clock", &w->pvg,
                                          &w->page, guest_tsc, w);
    if (!rc)
        rc = pvt_timekeeper_init(&w->tk, &w->tsc, 0);
    if (rc)
        return rc;

    w->pv = (struct pvt_clockevent){
        .name = "pv-singleshot",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 500,
        .set_next_event = pv_set_rel,
        .set_next_abs = pv_set_abs,
        .read_timebase = pv_timebase,
        .priv = w,
    };
    w->lapic = (struct pvt_clockevent){
        .name = "lapic-deadline",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 150,
        .set_next_abs = lapic_set_abs,
        .read_timebase = lapic_timebase,
        .coupled_cs = &w->tsc,
        .priv = w,
    };
    /* 1 ns ticks, 1 us .. u32 ns; TSC cycles up to 2^63 */
    rc = pvt_clockevent_config(&w->pv, PVT_NSEC_PER_SEC, 1000, UINT32_MAX);
    if (!rc)
        rc = pvt_clockevent_config(&w->lapic, tsc_hz, 1000, 1ull << 63);
    if (rc)
        return rc;
    dev = s == &pvt_strategy_coupled ? &w->lapic : &w->pv;
    rc = pvt_clockevent_register(dev, &w->tk);
    if (!rc)
        rc = pvt_clockevent_set_strategy(dev, s);
    if (!rc)
        rc = pvt_clockevent_set_state(dev, PVT_CE_ONESHOT, 0);
    return rc;
}

/* Guest time at true time t, without disturbing the guest's state. */
static int64_t guest_time_at(struct world *w, uint64_t t)
{
    struct pvt_timekeeper saved = w->tk;
    uint64_t t_now = w->t;
    int64_t g;

    w->t = t;
    g = pvt_timekeeper_now(&w->tk);
    w->tk = saved;
    w->t = t_now;
    return g;
}

struct demo_opts {
    int64_t cal_ppm;
    uint64_t tsc_hz;
    uint64_t delta_ns;
    uint64_t switch_ns;
    uint64_t preempt_ns;
};

static const double uptimes_s[] = {1, 10, 19, 30, 100, 1000, 10000};

static int run_table(const struct demo_opts *o, uint64_t preempt_ns)
{
    size_t ns_count, i, k;
    const struct pvt_ce_strategy *const *all = pvt_strategies(&ns_count);
    struct world worlds[8];

    if (ns_count > PVT_ARRAY_SIZE(worlds))
        return 1;
    for (k = 0; k < ns_count; k++) {
        int rc = world_init(&worlds[k], o->tsc_hz, o->cal_ppm, all[k]);
        if (rc) {
            fprintf(stderr, "pvtimer demo: setting up %s: %s\n", all[k]->name,
                    pvt_strerror(rc));
            return 1;
        }
    }
    printf("%-10s", "uptime");
    for (k = 0; k < ns_count; k++)
        printf(" %16s", all[k]->name);
    printf("\n");
    for (i = 0; i < PVT_ARRAY_SIZE(uptimes_s); i++) {
        uint64_t t = (uint64_t)(uptimes_s[i] * 1e9);
        printf("%8.0f s", uptimes_s[i]);
        for (k = 0; k < ns_count; k++) {
            struct world *w = &worlds[k];
            struct pvt_clockevent *dev =
                all[k] == &pvt_strategy_coupled ? &w->lapic : &w->pv;
            int64_t deadline, aim;
            int rc;

            if (w->t < o->switch_ns && t >= o->switch_ns) {
                /* end of boot: pvclock becomes the clocksource */
                w->t = o->switch_ns;
                pvt_timekeeper_set_clocksource(&w->tk, &w->kvmclock.cs);
            }
            w->t = t;
            publish_pvclock(w); /* the hypervisor refreshes the page */
            deadline = pvt_timekeeper_now(&w->tk) + (int64_t)o->delta_ns;
            w->preempt_ns = preempt_ns;
            w->preempt_armed = preempt_ns != 0;
            rc = pvt_clockevent_program(dev, deadline, false);
            w->preempt_armed = false;
            if (rc) {
                printf(" %16s", pvt_strerror(rc));
                continue;
            }
            aim = guest_time_at(w, w->fire_t) - deadline;
            printf(" %13.3f us", (double)aim / 1e3);
        }
        printf("\n");
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (!s || !*s || *s == '-')
        return -1;
    x = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *v = x;
    return 0;
}

int pvt_cmd_demo(int argc, char **argv)
{
    struct demo_opts o = {
        .cal_ppm = -300,
        .tsc_hz = 2596128000ull,
        .delta_ns = PVT_NSEC_PER_MSEC,
        .switch_ns = 20 * PVT_NSEC_PER_SEC,
        .preempt_ns = 500 * PVT_NSEC_PER_USEC,
    };
    int i;

    /* every option but --help takes a value: they come in pairs */
    for (i = 1; i < argc; i += 2) {
        uint64_t v;
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: pvtimer demo [--cal-ppm N] [--delta-us N] "
                   "[--preempt-us N]\n\n"
                   "A guest boots on a TSC calibrated N ppm wrong (default "
                   "-300), switches to the\npvclock clocksource at 20 s, and "
                   "programs a timer delta ahead (default\n1000 us) at "
                   "several uptimes with each strategy; prints each "
                   "strategy's aim\nerror (guest time at which the device "
                   "deadline falls - the guest deadline),\nwithout and with "
                   "a preemption (default 500 us) right after the guest "
                   "reads\nits clock.\n");
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "pvtimer demo: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--cal-ppm") == 0) {
            char *end;
            long long p = strtoll(argv[i + 1], &end, 10);
            if (*end || p < -100000 || p > 100000) {
                fprintf(stderr, "pvtimer demo: --cal-ppm takes an integer in "
                                "[-100000, 100000]\n");
                return 2;
            }
            o.cal_ppm = p;
        } else if (strcmp(argv[i], "--delta-us") == 0 &&
                   parse_u64(argv[i + 1], &v) == 0 && v >= 1 && v <= 4000000) {
            o.delta_ns = v * 1000;
        } else if (strcmp(argv[i], "--preempt-us") == 0 &&
                   parse_u64(argv[i + 1], &v) == 0 && v <= 10000000) {
            o.preempt_ns = v * 1000;
        } else {
            fprintf(stderr, "pvtimer demo: bad option or value: %s %s\n",
                    argv[i], argv[i + 1]);
            return 2;
        }
    }

    printf("pvtimer demo: guest TSC %.6f GHz calibrated %+lld ppm wrong, "
           "hypervisor up 3 days,\npvclock clocksource from %.0f s; a timer "
           "%.0f us ahead; aim error per strategy\n(coupled: on the "
           "TSC-deadline timer; the others: the hypervisor timer).\n\n",
           (double)o.tsc_hz / 1e9, (long long)o.cal_ppm,
           (double)o.switch_ns / 1e9, (double)o.delta_ns / 1e3);
    if (run_table(&o, 0))
        return 1;
    printf("\nThe same, with the vCPU preempted %.0f us right after it reads "
           "the guest clock:\n\n",
           (double)o.preempt_ns / 1e3);
    return run_table(&o, o.preempt_ns);
}
