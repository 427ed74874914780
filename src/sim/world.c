/*
 * One simulated world: true time, the hypervisor, one vCPU, the guest's
 * oscillators and the guest kernel (the pvtimer core), run for one
 * strategy.
 *
 * Time. True time t counts ns from the guest's boot. The hypervisor clock
 * is H = h_offset + t (h_offset jumps at a migration). The TSC is
 * piecewise linear in t (its rate changes at a migration). Guest code runs
 * in zero time except where it reads a clock (guest_read_ns) or walks the
 * path to a hypercall (guest_path_ns); a preemption that begins during such
 * a step stops the vCPU until it ends, so a preemption can fall between any
 * two guest steps, including between reading the guest clock and the
 * hypercall that uses the reading.
 *
 * Events are timers in a pvtimer queue of their own, on a clock that reads
 * t: the hypervisor's timer firing, an interrupt being delivered, a
 * workload arrival, a cancellation, a migration. Ties run in the order they
 * were scheduled, so a run is deterministic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvtimer/hvtimer.h"
#include "rng.h"
#include "sim.h"
#include "workload.h"

#define LAT_TABLE 4096

/* A workload timer and the event that may cancel it. */
struct wtimer {
    struct pvt_timer t;      /* in the guest's queue */
    struct pvt_timer cancel; /* in the event queue */
    struct world *w;
    struct wtimer *free_next;
};

#define POOL_CHUNK 1024

struct pool_chunk {
    struct pool_chunk *next;
    struct wtimer items[POOL_CHUNK];
};

struct world {
    const struct pvt_sim_params *p;
    struct pvt_sim_result *r;
    bool peek; /* measuring: clock reads cost nothing, move nothing */

    /* true time and the event queue */
    uint64_t t;
    struct pvt_clocksource true_cs;
    struct pvt_timekeeper true_tk;
    struct pvt_timer_queue evq;
    struct pvt_timer ev_hv, ev_irq, ev_arrival, ev_migrate, ev_refresh;
    uint64_t t_cap; /* the run stops here whatever happens */
    uint64_t events_cap;
    bool stop;

    /* randomness: one stream per process, so that the workload and the
     * preemptions are the same in every strategy's world */
    struct pvt_sim_workload work;
    struct pvt_sim_preemptions pre;
    struct pvt_sim_rng rng_lat;
    double lat_table[LAT_TABLE + 1];

    /* the hypervisor */
    uint64_t h_offset;
    struct pvt_hv_vcpu_timer hvt;
    struct pvt_pvclock_vcpu_time_info page;
    uint64_t tsc_hz;       /* true TSC rate (per host) */
    uint64_t tsc_per_ns;   /* the same, 32.32 fixed point */
    uint64_t tsc_base_t;   /* the TSC is tsc_base at tsc_base_t ... */
    uint64_t tsc_base;     /* ... and runs at tsc_hz since */
    unsigned int irq_mask; /* interrupts raised, not yet delivered */
    uint64_t hv_asked;     /* the singleshot deadline the guest asked for */
    int64_t fired_target;  /* the guest target of the singleshot that fired */
    bool asked_after_boot; /* that programming was made after the switch */

    /* the vCPU: the current or next preemption is [pre_s, pre_e) */
    uint64_t pre_s, pre_e;
    bool in_program; /* inside a device programming (for the counter) */
    uint64_t program_t0;

    /* the guest */
    struct pvt_jiffies jiffies;
    struct pvt_clocksource tsc_cs;
    struct pvt_pvclock_guest pvg;
    struct pvt_pvclock_clocksource kvmclock;
    struct pvt_cs_registry reg;
    struct pvt_timekeeper tk;
    struct pvt_clockevent dev;    /* the singleshot timer: the strategies' */
    struct pvt_drift drift;       /* its estimator (only compensated uses it) */
    bool asked_locked;            /* the estimator was locked at that
                                     programming */
    struct pvt_clockevent hvtick; /* the periodic timer: the boot tick */
    struct pvt_timer_queue q;
    struct pvt_tick tick;
    struct pvt_timer ev_boot_end, ev_run_end, ev_drain_end;
    bool arrivals_on;
    bool after_boot;

    /* workload timers */
    struct pool_chunk *chunks;
    struct wtimer *free_list;
};

/* ---- time ------------------------------------------------------------ */

static uint64_t h_now(const struct world *w)
{
    return w->h_offset + w->t;
}

/* TSC cycles per true ns as 32.32 fixed point: tsc_hz * 2^32 / 1e9. */
static void set_tsc_rate(struct world *w, uint64_t hz)
{
    w->tsc_hz = hz;
    w->tsc_per_ns =
        (uint64_t)(((unsigned __int128)hz << 32) / (uint64_t)PVT_NSEC_PER_SEC);
}

static uint64_t tsc_at(const struct world *w, uint64_t t)
{
    uint64_t d = t - w->tsc_base_t;
    return w->tsc_base +
           (uint64_t)(((unsigned __int128)d * w->tsc_per_ns) >> 32);
}

/* The next preemption interval after the current one. */
static void next_preemption(struct world *w, uint64_t from)
{
    if (!w->pre.on) {
        w->pre_s = w->pre_e = UINT64_MAX;
        return;
    }
    w->pre_s = from + (uint64_t)pvt_sim_preemptions_gap(&w->pre);
    w->pre_e = w->pre_s + (uint64_t)pvt_sim_preemptions_len(&w->pre);
}

/* When the vCPU can run at or after x; preemptions wholly before x are
 * consumed. */
static uint64_t vcpu_runs_at(struct world *w, uint64_t x)
{
    while (w->pre_e <= x)
        next_preemption(w, w->pre_e);
    return x >= w->pre_s ? w->pre_e : x;
}

/* The guest spends ns of its own time; a preemption may start meanwhile. */
static void guest_spend(struct world *w, uint64_t ns)
{
    uint64_t start;

    if (w->peek || ns == 0)
        return;
    start = vcpu_runs_at(w, w->t);
    w->t = start + ns;
    while (w->t > w->pre_s) {
        /* preempted part way: the rest of the step runs afterwards */
        uint64_t rest = w->t - w->pre_s;
        if (w->in_program)
            w->r->preempted_programmings++;
        w->t = w->pre_e + rest;
        next_preemption(w, w->pre_e);
    }
    if (w->t > w->t_cap) {
        /* the vCPU hardly runs: stop rather than simulate for ever */
        w->stop = true;
        w->r->truncated = true;
    }
}

/* ---- the guest's clocks ----------------------------------------------- */

static uint64_t guest_tsc_read(void *ctx)
{
    struct world *w = ctx;
    uint64_t v = tsc_at(w, w->t);

    guest_spend(w, (uint64_t)w->p->guest_read_ns);
    return v;
}

static uint64_t tsc_cs_read(struct pvt_clocksource *cs)
{
    return guest_tsc_read(cs->priv);
}

static uint64_t jiffies_cs_read(struct pvt_clocksource *cs)
{
    struct world *w = cs->priv;
    uint64_t v = w->jiffies.jiffies;

    guest_spend(w, (uint64_t)w->p->guest_read_ns);
    return v;
}

/* The guest clock at true time t, without side effects. */
static int64_t guest_clock_at(struct world *w, uint64_t t)
{
    /* what a read may change: the timekeeper's guard and anchor, the
     * pvclock clocksource's last value */
    struct pvt_timekeeper saved = w->tk;
    uint64_t saved_ns = w->kvmclock.last_ns;
    uint8_t saved_flags = w->kvmclock.last_flags;
    uint64_t saved_t = w->t;
    int64_t g;

    w->peek = true;
    w->t = t;
    w->tk.last_ns = 0; /* look past the monotonic guard */
    g = pvt_timekeeper_now(&w->tk);
    w->tk = saved;
    w->kvmclock.last_ns = saved_ns;
    w->kvmclock.last_flags = saved_flags;
    w->t = saved_t;
    w->peek = false;
    return g;
}

/* ---- the hypervisor ------------------------------------------------------ */

static void publish_pvclock(struct world *w)
{
    struct pvt_pvclock_params pp = {0};

    pvt_pvclock_time_scale(PVT_NSEC_PER_SEC, w->tsc_hz, &pp.shift, &pp.mul);
    pp.tsc_timestamp = tsc_at(w, w->t);
    pp.system_time = h_now(w);
    pp.flags = PVT_PVCLOCK_TSC_STABLE;
    pvt_pvclock_write(&w->page, &pp);
}

/* Keep the hypervisor-timer event at the vCPU timer's next fire. */
static void hv_reschedule(struct world *w)
{
    uint64_t fire = pvt_hv_next_fire(&w->hvt);

    if (fire == PVT_HV_NEVER) {
        pvt_tq_cancel(&w->evq, &w->ev_hv);
        return;
    }
    pvt_tq_arm(&w->evq, &w->ev_hv,
               fire > w->h_offset ? (int64_t)(fire - w->h_offset) : 0);
}

/*
 * Delivery latency: log-normal, drawn by inverting a table of its
 * quantiles (LAT_TABLE equal-probability steps, linear in between), which
 * is exact at the table's points and costs no libm call per interrupt.
 */
static void latency_table_init(struct world *w)
{
    const struct pvt_sim_params *p = w->p;
    unsigned int i;

    for (i = 0; i <= LAT_TABLE; i++) {
        /* the quantile at probability (i + 0.5) / (LAT_TABLE + 1) */
        double u = ((double)i + 0.5) / (LAT_TABLE + 1);
        double z = pvt_sim_normal_quantile(u);
        w->lat_table[i] =
            p->latency_median_us * 1e3 * exp(p->latency_sigma * z);
    }
}

static uint64_t draw_latency(struct world *w)
{
    double x = pvt_sim_rng_unit(&w->rng_lat) * LAT_TABLE;
    unsigned int i = (unsigned int)x;
    double f = x - i;

    return (uint64_t)(w->lat_table[i] +
                      f * (w->lat_table[i + 1] - w->lat_table[i]));
}

static void raise_irq(struct world *w, unsigned int mask)
{
    int64_t at = (int64_t)(w->t + draw_latency(w));

    if (w->irq_mask && w->ev_irq.expires <= at) {
        w->irq_mask |= mask; /* already on its way, sooner */
        return;
    }
    w->irq_mask |= mask;
    pvt_tq_arm(&w->evq, &w->ev_irq, at);
}

static void ev_hv_fire(struct pvt_timer *ev)
{
    struct world *w = ev->data;
    uint64_t deadline = w->hv_asked; /* as asked, before "past fires now" */
    unsigned int fired = pvt_hv_expire(&w->hvt, h_now(w));

    w->r->events++;
    if (fired & PVT_HV_SINGLESHOT) {
        /* aim error: where the hypervisor deadline falls in guest time,
         * minus the guest deadline the strategy aimed at */
        /* the true time of the deadline; before boot (negative) when a
         * stale offset aims into another host's past */
        int64_t td = (int64_t)(deadline - w->h_offset);
        int64_t g, aim;
        struct pvt_sim_bin *b;
        double gs;

        if (td >= (int64_t)w->t) {
            g = guest_clock_at(w, (uint64_t)td);
        } else {
            /* a deadline that was already past when set (fired at once):
             * the guest clock cannot be read backwards across the switches
             * it went through since, so extrapolate from now at the
             * hypervisor's rate (the drift over that short span is far
             * below a nanosecond per microsecond) */
            g = guest_clock_at(w, w->t) - ((int64_t)w->t - td);
        }
        aim = g - pvt_clockevent_last(&w->dev)->target;
        gs = (double)pvt_clockevent_last(&w->dev)->target / 1e9;
        pvt_sim_hist_add(&w->r->aim_error, aim);
        pvt_sim_hist_add(w->asked_after_boot ? &w->r->aim_error_after
                                             : &w->r->aim_error_boot,
                         aim);
        if (w->asked_locked) {
            pvt_sim_hist_add(&w->r->aim_error_locked, aim);
            if (w->asked_after_boot)
                pvt_sim_hist_add(&w->r->aim_error_after_locked, aim);
        }
        b = &w->r->bins[gs / w->r->bin_s < PVT_SIM_SERIES_BINS
                            ? (size_t)(gs / w->r->bin_s)
                            : PVT_SIM_SERIES_BINS - 1];
        b->programs++;
        b->aim_sum += (double)aim;
        if (llabs(aim) > b->aim_max_abs)
            b->aim_max_abs = llabs(aim);
    }
    if (fired & PVT_HV_SINGLESHOT) /* what this event was for */
        w->fired_target = pvt_clockevent_last(&w->dev)->target;
    if (fired)
        raise_irq(w, fired);
    hv_reschedule(w);
}

/* ---- the guest's device: hypercalls to the hypervisor timer --------------- */

static uint64_t dev_timebase(struct pvt_clockevent *dev)
{
    struct world *w = dev->priv;
    uint64_t ns = 0;

    /* the guest reads the hypervisor clock through the pvclock page */
    pvt_pvclock_read(&w->pvg, &w->page, guest_tsc_read, w, &ns, NULL);
    return ns;
}

static int dev_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct world *w = dev->priv;

    w->in_program = true;
    guest_spend(w, (uint64_t)w->p->guest_path_ns);
    w->in_program = false;
    if (when <= h_now(w))
        w->r->hv_past_sets++;
    w->hv_asked = when;
    w->asked_after_boot = w->after_boot;
    if (w->drift.state >= PVT_DRIFT_LOCKED && !w->asked_locked)
        w->r->locked_at_s = (double)w->t / 1e9;
    w->asked_locked = w->drift.state >= PVT_DRIFT_LOCKED;
    pvt_hv_set_singleshot(&w->hvt, when, h_now(w));
    hv_reschedule(w);
    return 0;
}

static int dev_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    struct world *w = dev->priv;

    w->in_program = true;
    guest_spend(w, (uint64_t)w->p->guest_path_ns);
    w->in_program = false;
    /* the hypervisor adds its own now, when the call arrives */
    w->hv_asked = pvt_add_sat_u64(h_now(w), ticks);
    w->asked_after_boot = w->after_boot;
    w->asked_locked = false;
    pvt_hv_set_relative(&w->hvt, ticks, h_now(w));
    hv_reschedule(w);
    return 0;
}

/* The periodic timer as the boot tick: the guest sets its period to one
 * tick, and stops it when the tick goes high-res. */
static int hvtick_periodic(struct pvt_clockevent *dev, uint64_t period_ns)
{
    struct world *w = dev->priv;
    int rc = pvt_hv_set_periodic(&w->hvt, period_ns, h_now(w));

    hv_reschedule(w);
    return rc;
}

static int hvtick_shutdown(struct pvt_clockevent *dev)
{
    struct world *w = dev->priv;

    pvt_hv_set_periodic(&w->hvt, 0, h_now(w));
    hv_reschedule(w);
    return 0;
}

static int dev_shutdown(struct pvt_clockevent *dev)
{
    struct world *w = dev->priv;

    pvt_hv_stop_singleshot(&w->hvt);
    hv_reschedule(w);
    return 0;
}

/* ---- running guest code ---------------------------------------------------- */

/*
 * The guest wakes at x (or when the vCPU next runs). With work to do (a
 * workload arrival, a resume) it leaves idle and restarts the tick; an
 * interrupt alone is handled from idle, and the tick stays stopped, as a
 * tickless kernel does.
 */
static void guest_enter(struct world *w, uint64_t x, bool work)
{
    w->t = vcpu_runs_at(w, x > w->t ? x : w->t);
    if (work && w->p->nohz)
        pvt_tick_idle_exit(&w->tick);
}

static void guest_leave(struct world *w)
{
    if (w->p->nohz && w->tick.mode == PVT_TICK_HIGHRES)
        pvt_tick_idle_enter(&w->tick);
}

static void ev_irq_deliver(struct pvt_timer *ev)
{
    struct world *w = ev->data;
    unsigned int mask;
    uint64_t at = w->t;

    w->r->events++;
    /* interrupts wait for the vCPU */
    if (vcpu_runs_at(w, at) != at) {
        pvt_tq_arm(&w->evq, &w->ev_irq, (int64_t)vcpu_runs_at(w, at));
        return;
    }
    mask = w->irq_mask;
    w->irq_mask = 0;
    guest_enter(w, at, false);
    if (mask & PVT_HV_SINGLESHOT) {
        int64_t now = pvt_timekeeper_now(&w->tk);
        struct pvt_sim_bin *b;
        double gs = (double)now / 1e9;
        int64_t err = now - w->fired_target;

        w->r->device_interrupts++;
        pvt_sim_hist_add(&w->r->device_error, err);
        b = &w->r->bins[gs / w->r->bin_s < PVT_SIM_SERIES_BINS
                            ? (size_t)(gs / w->r->bin_s)
                            : PVT_SIM_SERIES_BINS - 1];
        b->interrupts++;
        if (llabs(err) > b->dev_max_abs)
            b->dev_max_abs = llabs(err);
        pvt_clockevent_event(&w->dev);
    }
    if ((mask & PVT_HV_PERIODIC) &&
        pvt_clockevent_get_state(&w->hvtick) == PVT_CE_PERIODIC)
        pvt_clockevent_event(&w->hvtick);
    guest_leave(w);
}

/* ---- the workload ---------------------------------------------------------- */

static struct wtimer *wt_alloc(struct world *w)
{
    struct wtimer *x = w->free_list;

    if (!x) {
        struct pool_chunk *c = calloc(1, sizeof(*c));
        size_t i;
        if (!c)
            return NULL;
        c->next = w->chunks;
        w->chunks = c;
        for (i = 0; i < POOL_CHUNK; i++) {
            c->items[i].free_next = w->free_list;
            w->free_list = &c->items[i];
        }
        x = w->free_list;
    }
    w->free_list = x->free_next;
    return x;
}

static void wt_free(struct world *w, struct wtimer *x)
{
    x->free_next = w->free_list;
    w->free_list = x;
}

static void wt_fired(struct pvt_timer *t)
{
    struct wtimer *x = t->data;
    struct world *w = x->w;
    int64_t now = pvt_timekeeper_now(&w->tk);
    double gs = (double)now / 1e9;

    w->r->fired++;
    if (now < t->expires)
        w->r->early_callbacks++;
    pvt_sim_hist_add(&w->r->lateness, now - t->expires);
    w->r->bins[gs / w->r->bin_s < PVT_SIM_SERIES_BINS
                   ? (size_t)(gs / w->r->bin_s)
                   : PVT_SIM_SERIES_BINS - 1]
        .fired++;
    pvt_tq_cancel(&w->evq, &x->cancel);
    wt_free(w, x);
}

static void ev_cancel(struct pvt_timer *ev)
{
    struct wtimer *x = ev->data;
    struct world *w = x->w;

    w->r->events++;
    guest_enter(w, w->t, true);
    if (pvt_tq_cancel(&w->q, &x->t) == 1) {
        w->r->cancelled++;
        wt_free(w, x);
    }
    guest_leave(w);
}

static void ev_arrival(struct pvt_timer *ev)
{
    struct world *w = ev->data;
    struct pvt_sim_arrival a;
    uint64_t scheduled = (uint64_t)ev->expires;
    struct wtimer *x;

    pvt_sim_workload_next(&w->work, &a);
    w->r->events++;
    if (!w->arrivals_on)
        return;
    /* the next arrival is drawn now, so the workload does not depend on
     * when this one could run */
    pvt_tq_arm(&w->evq, &w->ev_arrival,
               (int64_t)(scheduled + (uint64_t)a.gap_ns));
    x = wt_alloc(w);
    if (!x) {
        w->stop = true;
        return;
    }
    guest_enter(w, w->t, true);
    pvt_timer_init(&x->t, wt_fired, x);
    pvt_timer_init(&x->cancel, ev_cancel, x);
    x->w = w;
    w->r->timers++;
    pvt_tq_arm_after(&w->q, &x->t, (int64_t)a.delta_ns);
    if (a.cancel)
        pvt_tq_arm(&w->evq, &x->cancel,
                   (int64_t)(w->t + (uint64_t)a.cancel_after_ns));
    guest_leave(w);
}

/* ---- milestones ----------------------------------------------------------------
 *
 * In the model's true time, the same in every strategy's world: the
 * workload ends, and the run ends, at the same moment whatever the strategy
 * under test does with the guest's timers (a milestone kept in the guest's
 * own queue would fire as late as the strategy makes it). The guest's clock
 * differs from true time only by its drift.
 */

static void ev_boot_end(struct pvt_timer *ev)
{
    struct world *w = ev->data;

    w->r->events++;
    /* the paravirtual clocksource arrives; the registry picks it, the
     * timekeeper takes over continuously, the tick goes high-res */
    guest_enter(w, w->t, true);
    pvt_cs_registry_add(&w->reg, &w->kvmclock.cs);
    w->after_boot = true;
    guest_leave(w);
}

static void ev_run_end(struct pvt_timer *ev)
{
    struct world *w = ev->data;

    w->r->events++;
    w->arrivals_on = false;
    pvt_tq_cancel(&w->evq, &w->ev_arrival);
}

static void ev_drain_end(struct pvt_timer *ev)
{
    struct world *w = ev->data;

    w->r->events++;
    w->stop = true;
}

/* The hypervisor refreshes the pvclock page now and then (as KVM does on
 * its master-clock updates): a new snapshot, a new version, the same
 * scale; the guest's reads must stay consistent through it. */
#define PVCLOCK_REFRESH_NS (1000 * PVT_NSEC_PER_MSEC)

static void ev_refresh(struct pvt_timer *ev)
{
    struct world *w = ev->data;

    w->r->events++;
    publish_pvclock(w);
    pvt_tq_arm(&w->evq, &w->ev_refresh,
               pvt_add_sat_s64(ev->expires, PVCLOCK_REFRESH_NS));
}

static void ev_migrate(struct pvt_timer *ev)
{
    struct world *w = ev->data;
    const struct pvt_sim_params *p = w->p;
    uint64_t tsc_now = tsc_at(w, w->t);

    w->r->events++;
    /* the new host: its clock jump_s ahead, its TSC faster or slower */
    w->h_offset =
        (uint64_t)((int64_t)w->h_offset + (int64_t)(p->migrate_jump_s * 1e9));
    w->tsc_base = tsc_now;
    w->tsc_base_t = w->t;
    set_tsc_rate(
        w, (uint64_t)((double)w->tsc_hz * (1 + p->migrate_tsc_ppm * 1e-6)));
    publish_pvclock(w);
    /* the singleshot does not migrate (the guest re-arms it on resume); the
     * periodic timer restarts on the new host's clock */
    pvt_hv_stop_singleshot(&w->hvt);
    if (w->hvt.period)
        pvt_hv_set_periodic(&w->hvt, w->hvt.period, h_now(w));
    hv_reschedule(w);

    /* the guest's resume path: forget the last-value guard, continue its
     * own clock from where it was, re-program the device */
    guest_enter(w, w->t, true);
    pvt_pvclock_guest_resume(&w->pvg);
    pvt_timekeeper_resume(&w->tk);
    pvt_tq_reprogram(&w->q); /* the queue owns the singleshot from boot */
    guest_leave(w);
}

/* ---- setup and the run ---------------------------------------------------------- */

static uint64_t true_read(struct pvt_clocksource *cs)
{
    const struct world *w = cs->priv;
    return w->t;
}

static int fail(char *err, size_t errlen, const char *what, int rc)
{
    snprintf(err, errlen, "simulator setup: %s: %s", what, pvt_strerror(rc));
    return -1;
}

static int world_init(struct world *w, const struct pvt_sim_params *p,
                      uint64_t seed, const struct pvt_strategy *s,
                      struct pvt_sim_result *r, char *err, size_t errlen)
{
    struct pvt_hv_timer_config hcfg = PVT_HV_TIMER_CONFIG_XEN;
    struct pvt_clocksource *boot_cs;
    int rc;

    memset(w, 0, sizeof(*w));
    w->p = p;
    w->r = r;
    /* whatever a strategy does, the run ends */
    w->t_cap = (uint64_t)((2 * (p->duration_s + p->drain_s) +
                           fabs(p->migrate_jump_s) + 60) *
                          1e9);

    pvt_sim_workload_init(&w->work, p, seed);
    pvt_sim_preemptions_init(&w->pre, p, seed);
    pvt_sim_rng_seed(&w->rng_lat, seed, 3);
    latency_table_init(w);

    /* the event queue runs on true time */
    w->true_cs = (struct pvt_clocksource){
        .name = "true-time",
        .read = true_read,
        .priv = w,
        .mask = UINT64_MAX,
        .mult = 1,
        .shift = 0,
        .rating = 1,
    };
    if ((rc = pvt_clocksource_init(&w->true_cs)) ||
        (rc = pvt_timekeeper_init(&w->true_tk, &w->true_cs, 0)) ||
        (rc = pvt_tq_init(&w->evq, &w->true_tk)))
        return fail(err, errlen, "event queue", rc);
    pvt_timer_init(&w->ev_hv, ev_hv_fire, w);
    pvt_timer_init(&w->ev_irq, ev_irq_deliver, w);
    pvt_timer_init(&w->ev_arrival, ev_arrival, w);
    pvt_timer_init(&w->ev_migrate, ev_migrate, w);
    pvt_timer_init(&w->ev_refresh, ev_refresh, w);
    pvt_tq_arm(&w->evq, &w->ev_refresh, PVCLOCK_REFRESH_NS);

    /* the hypervisor and the vCPU */
    w->h_offset = (uint64_t)(p->hv_uptime_s * 1e9);
    set_tsc_rate(w, (uint64_t)(p->tsc_ghz * 1e9));
    w->tsc_base = (uint64_t)(p->hv_uptime_s * (double)w->tsc_hz);
    hcfg.slop_ns = (uint64_t)(p->slop_us * 1e3);
    if ((rc = pvt_hv_timer_init(&w->hvt, &hcfg, h_now(w))))
        return fail(err, errlen, "hypervisor timer", rc);
    publish_pvclock(w);
    next_preemption(w, 0);

    /* the guest's clocksources */
    if ((rc = pvt_jiffies_init(&w->jiffies, (uint32_t)p->hz)))
        return fail(err, errlen, "jiffies", rc);
    w->jiffies.cs.read = jiffies_cs_read;
    w->jiffies.cs.priv = w;
    /* the boot clock's drift: its idea of a tick's length is off */
    w->jiffies.cs.mult = (uint32_t)llround((double)w->jiffies.cs.mult *
                                           (1 + p->boot_drift_ppm * 1e-6));
    if ((rc = pvt_clocksource_init(&w->jiffies.cs)))
        return fail(err, errlen, "jiffies clocksource", rc);
    w->tsc_cs = (struct pvt_clocksource){
        .name = "tsc",
        .read = tsc_cs_read,
        .priv = w,
        .mask = UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    if ((rc = pvt_clocksource_init_hz(
             &w->tsc_cs,
             (uint64_t)((double)w->tsc_hz * (1 + p->tsc_cal_ppm * 1e-6)), 0)))
        return fail(err, errlen, "tsc clocksource", rc);
    if ((rc = pvt_pvclock_guest_init(&w->pvg, PVT_PVCLOCK_TSC_STABLE)) ||
        (rc = pvt_pvclock_clocksource_init(&w->kvmclock, "kvm-clock", &w->pvg,
                                           &w->page, guest_tsc_read, w)))
        return fail(err, errlen, "pvclock clocksource", rc);

    boot_cs = p->boot_clock == PVT_SIM_BOOT_TSC ? &w->tsc_cs : &w->jiffies.cs;
    if ((rc = pvt_timekeeper_init(&w->tk, boot_cs, 0)) ||
        (rc = pvt_cs_registry_init(&w->reg, pvt_timekeeper_follow, &w->tk)) ||
        (rc = pvt_cs_registry_add(&w->reg, boot_cs)))
        return fail(err, errlen, "timekeeping", rc);

    /* the paravirtual singleshot timer: 1 ns ticks up to 2^32 - 1 ns */
    w->dev = (struct pvt_clockevent){
        .name = "pv-singleshot",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 500,
        .set_next_event = dev_set_rel,
        .set_next_abs = dev_set_abs,
        .read_timebase = dev_timebase,
        .set_state_shutdown = dev_shutdown,
        .coupled_cs = &w->kvmclock.cs,
        .priv = w,
    };
    /* the estimator, with its defaults; strategies other than compensated
     * are not given it, so it stays unlocked in their worlds */
    if ((rc = pvt_drift_init(&w->drift, NULL)))
        return fail(err, errlen, "drift estimator", rc);
    if ((rc = pvt_clockevent_config(&w->dev, PVT_NSEC_PER_SEC, 1000,
                                    UINT32_MAX)) ||
        (rc = pvt_clockevent_register(&w->dev, &w->tk)) ||
        (rc = pvt_clockevent_set_strategy(&w->dev, s, &w->drift)))
        return fail(err, errlen, "clockevent device", rc);
    /* the hypervisor's periodic timer, which every vCPU starts with */
    w->hvtick = (struct pvt_clockevent){
        .name = "pv-periodic",
        .features = PVT_CE_FEAT_PERIODIC,
        .rating = 100,
        .set_state_periodic = hvtick_periodic,
        .set_state_shutdown = hvtick_shutdown,
        .priv = w,
    };
    if ((rc = pvt_clockevent_config(&w->hvtick, PVT_NSEC_PER_SEC, 1000,
                                    UINT32_MAX)) ||
        (rc = pvt_clockevent_register(&w->hvtick, &w->tk)))
        return fail(err, errlen, "periodic device", rc);
    /* The timers own the singleshot timer from boot; the tick runs on the
     * periodic timer until the switch to high-res. (A tick emulated on the
     * singleshot timer would be programmed through the strategy, and an
     * absolute strategy would then lock jiffies to the hypervisor clock:
     * the boot clock would not drift, and the failure this experiment
     * shows would be hidden. Xen guests ran their tick from this periodic
     * timer.) */
    if ((rc = pvt_tq_init(&w->q, &w->tk)) ||
        (rc = pvt_tq_set_device(&w->q, &w->dev)) ||
        (rc = pvt_tick_init(&w->tick, &w->tk, &w->q, &w->hvtick, &w->jiffies,
                            &w->reg)))
        return fail(err, errlen, "tick", rc);

    /* milestones */
    pvt_timer_init(&w->ev_boot_end, ev_boot_end, w);
    pvt_timer_init(&w->ev_run_end, ev_run_end, w);
    pvt_timer_init(&w->ev_drain_end, ev_drain_end, w);
    if (p->pvclock) {
        if (p->boot_s > 0)
            pvt_tq_arm(&w->evq, &w->ev_boot_end, (int64_t)(p->boot_s * 1e9));
        else
            ev_boot_end(&w->ev_boot_end);
    }
    pvt_tq_arm(&w->evq, &w->ev_run_end, (int64_t)(p->duration_s * 1e9));
    pvt_tq_arm(&w->evq, &w->ev_drain_end,
               (int64_t)((p->duration_s + p->drain_s) * 1e9));

    w->arrivals_on = p->timer_rate_hz > 0;
    if (w->arrivals_on)
        pvt_tq_arm(&w->evq, &w->ev_arrival,
                   (int64_t)pvt_sim_workload_first(&w->work));
    if (p->migrate_at_s >= 0)
        pvt_tq_arm(&w->evq, &w->ev_migrate, (int64_t)(p->migrate_at_s * 1e9));
    /* an interrupt storm is bounded by the delivery latency; allow a
     * generous multiple of the work the parameters ask for */
    w->events_cap = (uint64_t)(200 * (p->timer_rate_hz + p->hz + 100) *
                               (p->duration_s + p->drain_s)) +
                    10000000;
    return 0;
}

static void world_free(struct world *w)
{
    while (w->chunks) {
        struct pool_chunk *c = w->chunks;
        w->chunks = c->next;
        free(c);
    }
}

int pvt_sim_result_init(struct pvt_sim_result *r,
                        const struct pvt_sim_params *p,
                        const struct pvt_strategy *strategy)
{
    size_t i;

    if (r == NULL || p == NULL)
        return -1;
    memset(r, 0, sizeof(*r));
    r->strategy = strategy;
    r->highres_at_s = -1;
    r->locked_at_s = -1;
    r->bin_s = (p->duration_s + p->drain_s) / PVT_SIM_SERIES_BINS;
    for (i = 0; i < PVT_SIM_SERIES_BINS; i++)
        r->bins[i].t_s = (double)i * r->bin_s;
    return 0;
}

int pvt_sim_run(const struct pvt_sim_params *p, uint64_t seed,
                const struct pvt_strategy *strategy, struct pvt_sim_result *r,
                pvt_sim_progress_fn progress, void *progress_ctx, char *err,
                size_t errlen)
{
    struct world *w = calloc(1, sizeof(*w));
    struct pool_chunk *c;
    int64_t end_guest;
    size_t i;

    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pvt_sim_result_init(r, p, strategy);
    if (world_init(w, p, seed, strategy, r, err, errlen)) {
        world_free(w);
        free(w);
        return -1;
    }

    while (!w->stop) {
        int64_t next = pvt_tq_earliest(&w->evq);
        if (next == PVT_TIME_MAX || (uint64_t)next > w->t_cap)
            break;
        if (progress && (r->events & 0xfffff) == 0)
            progress(progress_ctx, fmin(1.0, (double)w->t / 1e9 /
                                                 (p->duration_s + p->drain_s)));
        if (r->events > w->events_cap) {
            r->truncated = true; /* an interrupt storm that never ends */
            break;
        }
        if ((uint64_t)next > w->t)
            w->t = (uint64_t)next;
        pvt_tq_run_expired(&w->evq);
    }

    r->guest_expiries = w->q.stats.fired;
    {
        struct pvt_drift_estimate e;
        if (pvt_drift_get(&w->drift, &e) == 0) {
            r->drift_steps = e.steps;
            r->drift_ppb = e.freq_ppb;
        }
    }
    end_guest = pvt_timekeeper_now(&w->tk);
    /* Still armed at the end: pending when not yet due, lost when due more
     * than a second ago (the drain is long enough for every honest timer;
     * a strategy aiming far past its deadlines loses them). Anything armed
     * and neither fired, cancelled nor armed would be lost too. */
    for (c = w->chunks; c; c = c->next) {
        for (i = 0; i < POOL_CHUNK; i++) {
            const struct pvt_timer *t = &c->items[i].t;
            if (!pvt_timer_pending(t))
                continue;
            if (t->expires < end_guest - (int64_t)PVT_NSEC_PER_SEC)
                r->lost++;
            else
                r->pending++;
        }
    }
    r->lost += r->timers - r->fired - r->cancelled - r->pending - r->lost;
    r->spurious_interrupts = w->q.stats.spurious;
    r->splits = w->q.stats.splits;
    r->hangs = w->q.stats.hangs;
    r->highres_at_s =
        w->tick.highres_at >= 0 ? (double)w->tick.highres_at / 1e9 : -1;
    r->end_guest_s = (double)end_guest / 1e9;
    world_free(w);
    free(w);
    return 0;
}
