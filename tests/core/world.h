/*
 * A tiny model world for the core's tests (freestanding, header-only):
 * true time, a hypervisor clock, a guest TSC that may be miscalibrated, a
 * hypervisor singleshot timer and a TSC-deadline timer whose programmings
 * are recorded, plus the guest's timekeeper. Everything the strategies are
 * checked against is computed here from the world's parameters.
 */
#ifndef PVTIMER_TESTS_WORLD_H
#define PVTIMER_TESTS_WORLD_H

#include "pvtimer/pvtimer.h"
#include "runner/test.h"

struct world {
    uint64_t t;      /* true ns since guest boot */
    uint64_t h0;     /* hypervisor clock at guest boot */
    uint64_t tsc_hz; /* true TSC frequency */
    uint64_t cal_hz; /* what the guest believes it is */

    /* a preemption of preempt_ns after the next guest clock read */
    uint64_t preempt_ns;
    bool preempt_armed;

    /* device recordings */
    uint64_t fire_t;      /* true ns the last programmed event fires at */
    uint64_t calls_abs;   /* set_next_abs calls */
    uint64_t calls_rel;   /* set_next_event calls */
    uint64_t last_value;  /* the last value handed to the device */
    int refuse;           /* refuse the next `refuse` programmings */
    int refuse_below;     /* refuse any relative delta below this (ticks) */
    uint64_t state_calls; /* set_state_* calls */
    uint64_t last_period;

    struct pvt_clocksource tsc; /* the guest's view of its TSC */
    struct pvt_timekeeper tk;
    struct pvt_clockevent pv;    /* hypervisor timer: H ns, abs + relative */
    struct pvt_clockevent lapic; /* TSC-deadline: guest TSC cycles */
    struct pvt_drift drift;      /* for compensated (world_attach) */
};

/* floor(t * hz / 1e9) without 128-bit division: t = q * 1e9 + r. */
static inline uint64_t world_scale(uint64_t t, uint64_t hz)
{
    uint64_t q = t / (uint64_t)PVT_NSEC_PER_SEC;
    uint64_t r = t % (uint64_t)PVT_NSEC_PER_SEC;
    return q * hz + r * hz / (uint64_t)PVT_NSEC_PER_SEC;
}

/* The smallest true ns at which the TSC has reached `cycles`. */
static inline uint64_t world_tsc_to_t(const struct world *w, uint64_t cycles)
{
    uint64_t q = cycles / w->tsc_hz, r = cycles % w->tsc_hz;
    /* r * 1e9 < 2^32 * 2^30: fits */
    return q * (uint64_t)PVT_NSEC_PER_SEC +
           (r * (uint64_t)PVT_NSEC_PER_SEC + w->tsc_hz - 1) / w->tsc_hz;
}

static inline uint64_t world_tsc(const struct world *w)
{
    return world_scale(w->t, w->tsc_hz);
}

static inline uint64_t world_h(const struct world *w)
{
    return w->h0 + w->t;
}

static inline uint64_t world_tsc_cs_read(struct pvt_clocksource *cs)
{
    struct world *w = cs->priv;
    uint64_t v = world_tsc(w);

    if (w->preempt_armed) {
        w->preempt_armed = false;
        w->t += w->preempt_ns;
    }
    return v;
}

static inline uint64_t world_pv_timebase(struct pvt_clockevent *dev)
{
    return world_h(dev->priv);
}

static inline bool world_refuses(struct world *w)
{
    if (w->refuse > 0) {
        w->refuse--;
        return true;
    }
    return w->refuse < 0; /* negative: refuse forever */
}

static inline int world_pv_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct world *w = dev->priv;

    w->calls_abs++;
    if (world_refuses(w))
        return -PVT_ETIME;
    w->last_value = when;
    /* the hypervisor fires a past deadline at once */
    w->fire_t = when > world_h(w) ? when - w->h0 : w->t;
    return 0;
}

static inline int world_pv_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    struct world *w = dev->priv;

    w->calls_rel++;
    if (world_refuses(w) || (int64_t)ticks < w->refuse_below)
        return -PVT_ETIME;
    w->last_value = ticks;
    /* the hypervisor adds its own now when it handles the call */
    w->fire_t = w->t + ticks;
    return 0;
}

static inline int world_set_shutdown(struct pvt_clockevent *dev)
{
    struct world *w = dev->priv;
    w->state_calls++;
    return 0;
}

static inline int world_set_oneshot(struct pvt_clockevent *dev)
{
    struct world *w = dev->priv;
    w->state_calls++;
    return 0;
}

static inline int world_set_periodic(struct pvt_clockevent *dev,
                                     uint64_t period_ns)
{
    struct world *w = dev->priv;
    w->state_calls++;
    w->last_period = period_ns;
    return 0;
}

static inline uint64_t world_lapic_timebase(struct pvt_clockevent *dev)
{
    return world_tsc(dev->priv);
}

static inline int world_lapic_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct world *w = dev->priv;
    uint64_t t = world_tsc_to_t(w, when);

    w->calls_abs++;
    w->last_value = when;
    w->fire_t = t > w->t ? t : w->t;
    return 0;
}

/*
 * Boot a guest: TSC at tsc_hz, believed to be cal_hz; hypervisor up h0 ns.
 * The devices are filled in (not registered): pv in 1 ns ticks, 1 us to
 * u32 ns (Xen's limits); lapic in TSC cycles, coupled with the TSC.
 */
static inline void world_boot(struct world *w, uint64_t tsc_hz, uint64_t cal_hz,
                              uint64_t h0)
{
    *w = (struct world){0};
    w->tsc_hz = tsc_hz;
    w->cal_hz = cal_hz;
    w->h0 = h0;
    w->tsc = (struct pvt_clocksource){
        .name = "tsc",
        .read = world_tsc_cs_read,
        .priv = w,
        .mask = UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    ASSERT_OK(pvt_clocksource_init_hz(&w->tsc, cal_hz, 0));
    ASSERT_OK(pvt_timekeeper_init(&w->tk, &w->tsc, 0));
    ASSERT_OK(pvt_drift_init(&w->drift, NULL));
    w->pv = (struct pvt_clockevent){
        .name = "pv-singleshot",
        .features = PVT_CE_FEAT_ONESHOT | PVT_CE_FEAT_PERIODIC,
        .rating = 500,
        .set_next_event = world_pv_set_rel,
        .set_next_abs = world_pv_set_abs,
        .read_timebase = world_pv_timebase,
        .set_state_periodic = world_set_periodic,
        .set_state_oneshot = world_set_oneshot,
        .set_state_shutdown = world_set_shutdown,
        .priv = w,
    };
    ASSERT_OK(
        pvt_clockevent_config(&w->pv, PVT_NSEC_PER_SEC, 1000, UINT32_MAX));
    w->lapic = (struct pvt_clockevent){
        .name = "lapic-deadline",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 150,
        .set_next_abs = world_lapic_set_abs,
        .read_timebase = world_lapic_timebase,
        .set_state_shutdown = world_set_shutdown,
        .coupled_cs = &w->tsc,
        .priv = w,
    };
    ASSERT_OK(pvt_clockevent_config(&w->lapic, tsc_hz, 1000, 1ull << 62));
}

/* Register dev with the guest, give it strategy s (with the world's
 * estimator, which only compensated takes), put it in oneshot. */
static inline void world_attach(struct world *w, struct pvt_clockevent *dev,
                                const struct pvt_strategy *s)
{
    ASSERT_OK(pvt_clockevent_register(dev, &w->tk));
    ASSERT_OK(pvt_clockevent_set_strategy(dev, s, &w->drift));
    ASSERT_OK(pvt_clockevent_set_state(dev, PVT_CE_ONESHOT, 0));
}

/* What a strategy was told, counted by world_note() in its state (tests'
 * own strategies): told[PVT_CE_NOTIFY_MODE] mode changes, and so on. */
struct world_notes {
    unsigned int told[PVT_CE_NOTIFY_RESUME + 1];
};

static inline void world_note(struct pvt_clockevent *dev,
                              enum pvt_clockevent_notify what)
{
    struct world_notes *n = pvt_clockevent_strategy_state(dev);

    n->told[what]++;
}

/* The offset an offset strategy took on dev (which must have one). */
static inline struct pvt_clockevent_offset world_offset(
    const struct pvt_clockevent *dev)
{
    struct pvt_clockevent_offset o = {.valid = true};

    ASSERT_OK(pvt_clockevent_get_offset(dev, &o.guest_base, &o.device_base));
    return o;
}

/* A new, unregistered device with dev's driver fields, as a driver would
 * fill it in: the core's part starts zero (a registered device must not
 * be copied). */
static inline struct pvt_clockevent world_driver_copy(
    const struct pvt_clockevent *dev)
{
    struct pvt_clockevent c = *dev;

    c.core = (struct pvt_clockevent_core){0};
    return c;
}

/*
 * The guest clock at true time t, computed from the model (not through
 * the timekeeper): while the guest has kept time on the TSC from boot with
 * no switch, g(t) = floor(floor(t * tsc_hz / 1e9) * mult / 2^shift).
 */
static inline int64_t world_guest_at(const struct world *w, uint64_t t)
{
    return (int64_t)pvt_mul_u64_u32_shr(world_scale(t, w->tsc_hz), w->tsc.mult,
                                        w->tsc.shift);
}

#endif /* PVTIMER_TESTS_WORLD_H */
