/*
 * A scenario run on real virtualization: the simulator's seed-boot world
 * with the real kvmclock, the monitor's real timers and real interrupts.
 *
 * The guest boots on its boot clocksource (jiffies counted from the ticks
 * of the monitor's periodic timer, their length off by boot_drift_ppb, or
 * its TSC calibrated tsc_cal_ppb off), with its timers on the paravirtual
 * singleshot timer programmed through the strategy under test; at boot_us
 * it installs the kvmclock clocksource and the tick goes high-res. The
 * workload (when each timer is armed, for how long, when it is cancelled)
 * comes from the monitor, drawn with the simulator's distributions and
 * seed, and is driven in true time (the TSC) on the LAPIC TSC-deadline
 * timer, through a second timer queue: the same for every strategy, and
 * not moved by the strategy under test. Those LAPIC interrupts are also the
 * run's baseline: their lateness is the KVM in-kernel timer's.
 *
 * Measured as docs/design.md defines it: lateness per callback (guest clock),
 * device error per pv-singleshot interrupt (guest clock at the interrupt
 * minus the target), aim error = device error - (kvmclock at the interrupt
 * - the kvmclock deadline asked for). Samples go to the monitor in
 * batches (PVT_HC_RESULT), then a summary.
 *
 * Command line: `scenario strategy=NAME key=value...`, integers only (the
 * guest has no floating point): boot_us duration_us drain_us hz
 * boot_drift_ppb boot_clock (0 jiffies, 1 tsc) tsc_cal_ppb nohz pvclock.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "guest.h"
#include "platform.h"
#include "pvtimer/pvexp.h"
#include "pvtimer/pvtimer.h"
#include "scenario.h"
#include "workload.h"

#define MAX_TIMERS 16384u

struct params {
    const struct pvt_strategy *strategy;
    int64_t boot_us, duration_us, drain_us;
    int64_t hz;
    int64_t boot_drift_ppb;
    int64_t boot_clock;
    int64_t tsc_cal_ppb;
    int64_t nohz;
    int64_t pvclock;
};

struct wtimer {
    struct pvt_timer t;      /* on the guest's queue */
    struct pvt_timer cancel; /* on the true-time queue */
    struct pvt_timer arrive; /* on the true-time queue */
    struct pvt_workload_item item;
    bool armed;
};

struct run {
    struct params p;
    struct pvt_guest_clocks clocks;
    struct pvt_guest_devices dev;

    /* true time: the run's reference, on the LAPIC timer */
    struct pvt_timekeeper true_tk;
    struct pvt_timer_queue evq;
    struct pvt_timer ev_boot_end, ev_run_end, ev_drain_end;
    bool stop;

    /* the guest kernel under test */
    struct pvt_jiffies jiffies;
    struct pvt_cs_registry reg;
    struct pvt_timekeeper tk;
    struct pvt_timer_queue q;
    struct pvt_tick tick;
    bool after_boot;
    bool asked_after_boot;  /* the last pv programming was after the switch */
    struct pvt_drift drift; /* the singleshot's estimator (compensated's) */
    bool asked_locked;      /* the last pv programming was made locked */
    int64_t locked_at;      /* guest ns it last locked, or -1 */

    /* results */
    struct pvt_result_summary sum;
    struct pvt_result_sample batch[PVT_RESULT_BATCH_MAX];
    uint32_t nbatch;
    uint64_t ticks;
};

static struct run R;
static struct wtimer pool[MAX_TIMERS];

/* ---- results ---- */

static void flush(void)
{
    struct pvt_hc_result a = {0};

    if (R.nbatch == 0)
        return;
    a.type = PVT_RESULT_SAMPLES;
    a.count = R.nbatch;
    a.data = (uint64_t)(uintptr_t)R.batch;
    pvt_guest_hypercall(PVT_HC_RESULT, &a);
    if (a.ret < 0) {
        pvt_guest_printf("guest: the monitor refused samples (%d)\n",
                         (int)a.ret);
        pvt_guest_exit(3);
    }
    R.nbatch = 0;
}

static void sample(uint32_t kind, uint32_t flags, int64_t value, int64_t t)
{
    struct pvt_result_sample *s = &R.batch[R.nbatch++];

    s->kind = kind;
    s->flags = flags;
    s->value = value;
    s->t_ns = t;
    if (R.nbatch == PVT_RESULT_BATCH_MAX)
        flush();
}

/* ---- the guest kernel's work, with tickless idle around it ---- */

static void work_enter(void)
{
    if (R.p.nohz)
        pvt_tick_idle_exit(&R.tick);
}

static void work_leave(void)
{
    if (R.p.nohz && R.tick.mode == PVT_TICK_HIGHRES)
        pvt_tick_idle_enter(&R.tick);
}

static void wt_fired(struct pvt_timer *t)
{
    struct wtimer *x = t->data;
    int64_t now = pvt_timekeeper_now(&R.tk);

    R.sum.fired++;
    if (now < t->expires)
        R.sum.early_callbacks++;
    x->armed = false;
    pvt_tq_cancel(&R.evq, &x->cancel);
    sample(PVT_SAMPLE_LATENESS, R.after_boot ? PVT_SAMPLE_AFTER_SWITCH : 0,
           now - t->expires, now);
}

static void ev_cancel(struct pvt_timer *ev)
{
    struct wtimer *x = ev->data;

    work_enter();
    if (pvt_tq_cancel(&R.q, &x->t) == 1) {
        R.sum.cancelled++;
        x->armed = false;
    }
    work_leave();
}

static void ev_arrive(struct pvt_timer *ev)
{
    struct wtimer *x = ev->data;

    if (R.stop)
        return;
    work_enter();
    R.sum.timers++;
    x->armed = true;
    pvt_tq_arm_after(&R.q, &x->t, (int64_t)x->item.delta_ns);
    if (x->item.cancel_after_ns)
        pvt_tq_arm(&R.evq, &x->cancel,
                   pvt_timekeeper_now(&R.true_tk) +
                       (int64_t)x->item.cancel_after_ns);
    work_leave();
}

static void ev_boot_end(struct pvt_timer *ev)
{
    (void)ev;
    /* the paravirtual clocksource: the registry picks it, the timekeeper
     * takes over continuously, the tick goes high-res */
    work_enter();
    pvt_cs_registry_add(&R.reg, &R.clocks.kvmclock.cs);
    R.after_boot = true;
    work_leave();
}

static void ev_run_end(struct pvt_timer *ev)
{
    unsigned int i;

    (void)ev;
    for (i = 0; i < MAX_TIMERS; i++)
        pvt_tq_cancel(&R.evq, &pool[i].arrive);
}

static void ev_drain_end(struct pvt_timer *ev)
{
    (void)ev;
    R.stop = true;
}

/* ---- interrupts ---- */

static void on_singleshot(const struct pvt_irq_state *st)
{
    /* the two clocks paired: the guest clock read between two kvmclock
     * reads, taken at their midpoint; both moved back to when the
     * interrupt arrived (the handler's TSC), which is when docs/design.md
     * measures a device event, not when this loop got to it */
    uint64_t hv1 = pvt_guest_kvmclock_ns(&R.clocks);
    int64_t now = pvt_timekeeper_now(&R.tk);
    uint64_t hv2 = pvt_guest_kvmclock_ns(&R.clocks);
    uint64_t tsc = pvt_rdtsc();
    uint64_t arrived = st->tsc[PVT_IRQ_SINGLESHOT];
    uint64_t hv = hv1 + (hv2 - hv1) / 2;
    uint64_t since =
        tsc > arrived ? (tsc - arrived) * 1000000 / R.clocks.tsc_khz : 0;
    const struct pvt_guest_pv_last *l = &R.dev.last;

    /* an arrival before the last programming was made was not its event */
    if (since > hv - l->hv_at_set)
        since = 0;
    now -= (int64_t)since;
    hv -= since;
    R.sum.device_interrupts++;
    /* an interrupt for a programming that was since replaced finds the
     * hypervisor clock before the new deadline: no error to measure */
    if (hv >= l->hv_deadline) {
        uint32_t fl = (R.asked_after_boot ? PVT_SAMPLE_AFTER_SWITCH : 0) |
                      (R.asked_locked ? PVT_SAMPLE_LOCKED : 0);
        int64_t target = pvt_clockevent_last(&R.dev.single)->target;
        int64_t dev_err = now - target;
        int64_t aim = dev_err - (int64_t)(hv - l->hv_deadline);
        uint64_t cyc;

        /* On the kvmclock clocksource the guest clock is a function of
         * the hypervisor's: where the deadline falls in guest time is
         * exact, without the pairing above (whose reads cost hundreds of
         * microseconds in this machine's guest). */
        if (R.tk.cs == &R.clocks.kvmclock.cs && target > R.tk.base_ns &&
            pvt_timekeeper_ns_to_cycles(&R.tk, target, &cyc) == 0)
            aim = (int64_t)(l->hv_deadline - cyc);
        sample(PVT_SAMPLE_DEVICE_ERROR, fl, dev_err, now);
        sample(PVT_SAMPLE_AIM_ERROR, fl, aim, now);
        /* the host matches it to its injection (the path's last stage) */
        sample(PVT_SAMPLE_ARRIVAL, fl, (int64_t)hv, (int64_t)l->hv_deadline);
    }
    pvt_clockevent_event(&R.dev.single);
}

static void on_lapic(const struct pvt_irq_state *st)
{
    uint64_t want = pvt_clockevent_last(&R.dev.lapic)->value;
    uint64_t at = st->tsc[PVT_IRQ_LAPIC_TIMER];

    if (at >= want)
        sample(PVT_SAMPLE_TSC_DEADLINE, 0,
               (int64_t)((at - want) * 1000000 / R.clocks.tsc_khz),
               pvt_timekeeper_now(&R.tk));
    pvt_clockevent_event(&R.dev.lapic);
}

/* The monitor wants a SUSPEND call: a migration. After it, the guest's
 * resume path: forget the pvclock last value, continue the clock from
 * where it was, re-program the singleshot timer the move cancelled. */
static void on_control(void)
{
    struct pvt_hc_suspend a = {0};

    pvt_guest_hypercall(PVT_HC_SUSPEND, &a);
    if (a.ret != 1)
        return;
    R.sum.resumes++;
    work_enter();
    pvt_pvclock_guest_resume(&R.clocks.pvg);
    pvt_timekeeper_resume(&R.tk);
    pvt_tq_reprogram(&R.q);
    work_leave();
}

/* ---- setup ---- */

static int parse(const char *args, struct params *p)
{
    static const char *const keys[] = {
        "boot_us",    "duration_us", "drain_us", "hz",      "boot_drift_ppb",
        "boot_clock", "tsc_cal_ppb", "nohz",     "pvclock",
    };
    int64_t *dst[] = {
        &p->boot_us,     &p->duration_us,    &p->drain_us,
        &p->hz,          &p->boot_drift_ppb, &p->boot_clock,
        &p->tsc_cal_ppb, &p->nohz,           &p->pvclock,
    };

    /* defaults: the simulator's seed-boot, shortened */
    p->boot_us = 2000000;
    p->duration_us = 8000000;
    p->drain_us = 1000000;
    p->hz = 250;
    p->boot_drift_ppb = -300000;
    p->boot_clock = 0;
    p->tsc_cal_ppb = 0;
    p->nohz = 0;
    p->pvclock = 1;
    if (pvt_guest_scenario_args(args, keys, dst, sizeof(keys) / sizeof(keys[0]),
                                &p->strategy) < 0)
        return -1;
    if (p->hz < 1 || p->hz > 1000 || p->duration_us <= 0 || p->boot_us < 0 ||
        p->drain_us < 0 || p->boot_clock < 0 || p->boot_clock > 1 ||
        p->boot_drift_ppb <= -1000000000 || p->boot_drift_ppb >= 1000000000 ||
        p->tsc_cal_ppb <= -1000000000 || p->tsc_cal_ppb >= 1000000000) {
        pvt_guest_printf("guest: scenario: a parameter is out of range\n");
        return -1;
    }
    return 0;
}

static void store_item(void *ctx, uint32_t i,
                       const struct pvt_workload_item *it)
{
    (void)ctx;
    pool[i].item = *it;
}

static int load_workload(void)
{
    return pvt_guest_workload_fetch(MAX_TIMERS, store_item, NULL);
}

#define CHECK(what, expr)                                                      \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_ < 0) {                                                         \
            pvt_guest_printf("guest: %s: %s\n", what, pvt_strerror(rc_));      \
            return 3;                                                          \
        }                                                                      \
    } while (0)

/* In user mode: the core's setup. */
static int setup(int n)
{
    struct params *p = &R.p;
    struct pvt_clocksource *boot_cs;
    int i;

    /* true time: the LAPIC timer, converted exactly (coupled) */
    CHECK("true time", pvt_timekeeper_init(&R.true_tk, &R.clocks.true_tsc, 0));
    CHECK("true time", pvt_tq_init(&R.evq, &R.true_tk));
    CHECK("lapic", pvt_clockevent_register(&R.dev.lapic, &R.true_tk));
    CHECK("lapic", pvt_clockevent_set_strategy(&R.dev.lapic,
                                               &pvt_strategy_coupled, NULL));
    CHECK("lapic", pvt_tq_set_device(&R.evq, &R.dev.lapic));

    /* the guest kernel */
    CHECK("jiffies", pvt_jiffies_init(&R.jiffies, (uint32_t)p->hz));
    /* the boot clock's drift: its idea of a tick's length is off */
    R.jiffies.cs.mult =
        (uint32_t)((int64_t)R.jiffies.cs.mult +
                   (int64_t)R.jiffies.cs.mult * p->boot_drift_ppb / 1000000000);
    CHECK("jiffies", pvt_clocksource_init(&R.jiffies.cs));
    boot_cs = p->boot_clock ? &R.clocks.tsc : &R.jiffies.cs;
    CHECK("timekeeper", pvt_timekeeper_init(&R.tk, boot_cs, 0));
    CHECK("registry",
          pvt_cs_registry_init(&R.reg, pvt_timekeeper_follow, &R.tk));
    CHECK("registry", pvt_cs_registry_add(&R.reg, boot_cs));
    CHECK("pv-singleshot", pvt_clockevent_register(&R.dev.single, &R.tk));
    /* the estimator compensated reads (the others ignore it) */
    CHECK("drift estimator", pvt_drift_init(&R.drift, NULL));
    CHECK("pv-singleshot",
          pvt_clockevent_set_strategy(&R.dev.single, p->strategy, &R.drift));
    R.locked_at = -1;
    CHECK("pv-periodic", pvt_clockevent_register(&R.dev.periodic, &R.tk));
    CHECK("queue", pvt_tq_init(&R.q, &R.tk));
    CHECK("queue", pvt_tq_set_device(&R.q, &R.dev.single));
    CHECK("tick", pvt_tick_init(&R.tick, &R.tk, &R.q, &R.dev.periodic,
                                &R.jiffies, &R.reg));

    for (i = 0; i < n; i++) {
        struct wtimer *x = &pool[i];

        pvt_timer_init(&x->t, wt_fired, x);
        pvt_timer_init(&x->cancel, ev_cancel, x);
        pvt_timer_init(&x->arrive, ev_arrive, x);
        pvt_tq_arm(&R.evq, &x->arrive, (int64_t)x->item.at_ns);
    }
    pvt_timer_init(&R.ev_boot_end, ev_boot_end, NULL);
    pvt_timer_init(&R.ev_run_end, ev_run_end, NULL);
    pvt_timer_init(&R.ev_drain_end, ev_drain_end, NULL);
    if (p->pvclock) {
        if (p->boot_us > 0)
            pvt_tq_arm(&R.evq, &R.ev_boot_end, p->boot_us * 1000);
        else
            ev_boot_end(&R.ev_boot_end);
    }
    pvt_tq_arm(&R.evq, &R.ev_run_end, p->duration_us * 1000);
    pvt_tq_arm(&R.evq, &R.ev_drain_end, (p->duration_us + p->drain_us) * 1000);
    return 0;
}

static void finish(int n)
{
    int64_t end = pvt_timekeeper_now(&R.tk);
    const char *name = R.p.strategy->name;
    uint64_t accounted;
    int i;

    for (i = 0; i < n; i++) {
        if (!pool[i].armed)
            continue;
        if (pool[i].t.expires < end - (int64_t)PVT_NSEC_PER_SEC)
            R.sum.lost++;
        else
            R.sum.pending++;
    }
    accounted = R.sum.fired + R.sum.cancelled + R.sum.pending + R.sum.lost;
    if (R.sum.timers > accounted)
        R.sum.lost += R.sum.timers - accounted;
    for (i = 0; name[i] && i < (int)sizeof(R.sum.strategy) - 1; i++)
        R.sum.strategy[i] = name[i];
    R.sum.spurious_interrupts = R.q.stats.spurious;
    R.sum.splits = R.q.stats.splits;
    R.sum.hangs = R.q.stats.hangs;
    R.sum.hv_past_sets = R.dev.last.past_sets;
    R.sum.highres_at_ns = R.tick.highres_at;
    R.sum.end_ns = end;
    R.sum.ticks = R.jiffies.jiffies;
    R.sum.tsc_khz = R.clocks.tsc_khz;
    {
        struct pvt_drift_estimate e;

        R.sum.drift_locked_at_ns = R.locked_at;
        if (pvt_drift_get(&R.drift, &e) == 0) {
            R.sum.drift_steps = e.steps;
            R.sum.drift_ppb = e.freq_ppb;
        }
    }
}

static int nworkload;

/* The run, in user mode (see cpu.h): it ends with pvt_guest_exit. */
static _Noreturn void run_user(void *arg)
{
    struct pvt_hc_result a = {0};
    struct pvt_irq_state st;
    int n = nworkload, rc;

    (void)arg;
    if ((rc = setup(n)) != 0)
        pvt_guest_exit(rc);

    while (!R.stop) {
        pvt_cpu_wait(&st);
        if (st.pending & (1u << PVT_IRQ_CONTROL))
            on_control();
        if (st.pending & (1u << PVT_IRQ_SINGLESHOT))
            on_singleshot(&st);
        if ((st.pending & (1u << PVT_IRQ_PERIODIC)) &&
            pvt_clockevent_get_state(&R.dev.periodic) == PVT_CE_PERIODIC)
            pvt_clockevent_event(&R.dev.periodic);
        if (st.pending & (1u << PVT_IRQ_LAPIC_TIMER))
            on_lapic(&st);
        /* what the programmings just made were made under */
        R.asked_after_boot = R.after_boot;
        if (R.drift.state >= PVT_DRIFT_LOCKED && !R.asked_locked)
            R.locked_at = pvt_timekeeper_now(&R.tk);
        R.asked_locked = R.drift.state >= PVT_DRIFT_LOCKED;
    }
    finish(n);
    flush();
    a.type = PVT_RESULT_SUMMARY;
    a.count = 1;
    a.data = (uint64_t)(uintptr_t)&R.sum;
    pvt_guest_hypercall(PVT_HC_RESULT, &a);
    if (a.ret < 0) {
        pvt_guest_printf("guest: the monitor refused the summary (%d)\n",
                         (int)a.ret);
        pvt_guest_exit(3);
    }
    pvt_guest_exit(0);
}

static void run_user_entry(void *arg)
{
    run_user(arg);
}

/* Contract in scenario.h. */
int pvt_guest_scenario(const char *args)
{
    const char *why = "";

    if (parse(args, &R.p) < 0)
        return 2;
    nworkload = load_workload();
    if (nworkload < 0) {
        pvt_guest_printf("guest: no workload from the monitor\n");
        return 3;
    }
    /* what needs ring 0: descriptor tables, the APIC, the kvmclock MSR,
     * the LAPIC timer's mode */
    pvt_cpu_init_idt();
    if (!pvt_cpu_init_x2apic()) {
        pvt_guest_printf("guest: no x2APIC\n");
        return 3;
    }
    if (pvt_guest_clocks_init(&R.clocks, R.p.tsc_cal_ppb, &why) < 0 ||
        pvt_guest_devices_init(&R.dev, &R.clocks, true, &why) < 0) {
        pvt_guest_printf("guest: %s\n", why);
        return 3;
    }
    pvt_cpu_run_user(run_user_entry, NULL);
}
