/*
 * A scenario run on several vCPUs under pvtimer's monitor: the `smp`
 * scenario for real. Contract in scenario.h.
 *
 * One guest clock for every vCPU: a timekeeper on the kvmclock
 * clocksource, which reads the calling vCPU's own pvclock page (each vCPU
 * registers its page with its own MSR write) through one last-value guard
 * for the guest, applied unless the pages' TSC_STABLE is honoured
 * (tsc_stable=1). Per vCPU: its pv-singleshot device (the monitor's timer
 * of that vCPU) programmed through the strategy under test, its timer
 * queue on the shared timekeeper, its drift estimator, its LAPIC
 * TSC-deadline timer and true-time queue that drive its share of the
 * workload. There is no boot phase: the guest clock is kvmclock from the
 * start (a clocksource switch on one vCPU while the others program their
 * devices is not what this run measures).
 *
 * The workload comes from the monitor as for one vCPU; item i belongs to
 * vCPU i mod N, which arms it on its own queue at its time, or, for about
 * remote_permille of them, on the next vCPU's queue (pvt_tq_arm_remote:
 * the remote enqueue plus a kick, an IPI, when the owner's device would
 * wake too late). Cancellations apply to the locally armed ones.
 *
 * After the workload the vCPUs run the clock check, Linux's TSC warp
 * check on the guest clock: they take turns at one lock, read the clock
 * inside it and compare with the last value any vCPU stored there,
 * counting reads earlier than it (clock_backwards), until warp_pairs reads
 * followed a read of another vCPU. Then each vCPU reports its samples and
 * summary, vCPU 0 the clock check, and vCPU 0 exits.
 *
 * Command line: `scenario strategy=NAME key=value...` with duration_us
 * drain_us tsc_cal_ppb tsc_stable remote_permille warp_pairs.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "guest.h"
#include "platform.h"
#include "pvtimer/pvexp.h"
#include "pvtimer/pvtimer.h"
#include "scenario.h"
#include "warp.h"
#include "workload.h"

#define MAX_TIMERS 16384u

struct params {
    const struct pvt_strategy *strategy;
    int64_t duration_us, drain_us;
    int64_t tsc_cal_ppb;
    int64_t tsc_stable;
    int64_t remote_permille;
    int64_t warp_pairs;
};

struct stimer {
    struct pvt_timer t;      /* on the target's queue (guest clock) */
    struct pvt_timer cancel; /* on the owner's true-time queue */
    struct pvt_timer arrive; /* on the owner's true-time queue */
    struct pvt_workload_item item;
    uint32_t owner, target;
    volatile bool armed;  /* armed and neither fired nor cancelled */
    volatile bool queued; /* was armed */
};

/* One vCPU's run. */
struct vrun {
    unsigned int index;
    struct pvt_guest_clocks clocks; /* its pvclock page */
    struct pvt_guest_devices dev;
    struct pvt_timekeeper true_tk; /* true time, on its LAPIC timer */
    struct pvt_timer_queue evq;
    struct pvt_timer ev_run_end, ev_drain_end;
    bool stop;
    struct pvt_timer_queue q; /* its queue, on the guest clock */
    struct pvt_drift drift;
    bool asked_locked;
    int64_t locked_at;
    uint64_t ipis;
    int64_t end_ns; /* the guest clock when its run stopped */
    struct pvt_result_summary sum;
    struct pvt_result_sample batch[PVT_RESULT_BATCH_MAX];
    uint32_t nbatch;
    volatile bool ready;
};

static struct params P;
static unsigned int ncpu;
static int nwork;
static struct vrun runs[PVT_CPU_MAX];
static struct stimer pool[MAX_TIMERS];

/* the guest clock, shared */
static struct pvt_pvclock_guest pvg;
static struct pvt_pvclock_clocksource kvmclock;
static struct pvt_timekeeper tk;

/* rendezvous of the vCPUs */
static volatile uint32_t arrived;
static volatile uint32_t turn;

/* the clock check */
static struct pvt_guest_warp W;

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* Waits until every vCPU arrived at rendezvous number `round` (1, 2, ...). */
static void barrier(uint32_t round)
{
    __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < round * ncpu)
        cpu_relax();
}

static uint64_t read_tsc(void *ctx)
{
    (void)ctx;
    return pvt_rdtsc_ordered();
}

/* The calling vCPU's pvclock page (the clocksource's page function). */
static const struct pvt_pvclock_vcpu_time_info *page_of(void *ctx)
{
    (void)ctx;
    return &runs[pvt_cpu_index()].clocks.page;
}

/* ---- results ---- */

static void flush(struct vrun *r)
{
    struct pvt_hc_result a = {0};

    if (r->nbatch == 0)
        return;
    a.type = PVT_RESULT_SAMPLES;
    a.count = r->nbatch;
    a.data = (uint64_t)(uintptr_t)r->batch;
    pvt_guest_hypercall(PVT_HC_RESULT, &a);
    if (a.ret < 0) {
        pvt_guest_printf("guest: vCPU %u: the monitor refused samples (%d)\n",
                         r->index, (int)a.ret);
        pvt_guest_exit(3);
    }
    r->nbatch = 0;
}

static void sample(struct vrun *r, uint32_t kind, uint32_t flags, int64_t value,
                   int64_t t)
{
    struct pvt_result_sample *s = &r->batch[r->nbatch++];

    s->kind = kind;
    s->flags = flags;
    s->value = value;
    s->t_ns = t;
    if (r->nbatch == PVT_RESULT_BATCH_MAX)
        flush(r);
}

/* ---- the workload ---- */

static void st_fired(struct pvt_timer *t)
{
    struct stimer *x = t->data;
    struct vrun *r = &runs[x->target];
    int64_t now = pvt_timekeeper_now(&tk);

    r->sum.fired++;
    if (now < t->expires)
        r->sum.early_callbacks++;
    x->armed = false;
    if (x->owner == x->target)
        pvt_tq_cancel(&r->evq, &x->cancel);
    sample(r, PVT_SAMPLE_LATENESS, PVT_SAMPLE_AFTER_SWITCH, now - t->expires,
           now);
}

static void ev_cancel(struct pvt_timer *ev)
{
    struct stimer *x = ev->data;
    struct vrun *r = &runs[x->owner];

    if (pvt_tq_cancel(&r->q, &x->t) == 1) {
        r->sum.cancelled++;
        x->armed = false;
    }
}

static void ev_arrive(struct pvt_timer *ev)
{
    struct stimer *x = ev->data;
    struct vrun *r = &runs[x->owner];
    int64_t expires;

    if (r->stop)
        return;
    x->queued = true;
    x->armed = true;
    if (x->target != x->owner) {
        expires = pvt_timekeeper_now(&tk) + (int64_t)x->item.delta_ns;
        if (pvt_tq_arm_remote(&runs[x->target].q, &x->t, expires) < 0)
            x->armed = false;
        return;
    }
    pvt_tq_arm_after(&r->q, &x->t, (int64_t)x->item.delta_ns);
    if (x->item.cancel_after_ns)
        pvt_tq_arm(&r->evq, &x->cancel,
                   pvt_timekeeper_now(&r->true_tk) +
                       (int64_t)x->item.cancel_after_ns);
}

static void ev_run_end(struct pvt_timer *ev)
{
    struct vrun *r = ev->data;
    int i;

    for (i = 0; i < nwork; i++)
        if (pool[i].owner == r->index)
            pvt_tq_cancel(&r->evq, &pool[i].arrive);
}

static void ev_drain_end(struct pvt_timer *ev)
{
    struct vrun *r = ev->data;

    r->stop = true;
}

static void kick(struct pvt_timer_queue *q, void *ctx)
{
    (void)q;
    pvt_cpu_send_ipi((unsigned int)(uintptr_t)ctx, GUEST_VEC_IPI);
}

/* ---- interrupts (as guest/scenario.c measures them) ---- */

static void on_singleshot(struct vrun *r, const struct pvt_irq_state *st)
{
    uint64_t hv1 = pvt_guest_kvmclock_ns(&r->clocks);
    int64_t now = pvt_timekeeper_now(&tk);
    uint64_t hv2 = pvt_guest_kvmclock_ns(&r->clocks);
    uint64_t tsc = pvt_rdtsc();
    uint64_t arrived_tsc = st->tsc[PVT_IRQ_SINGLESHOT];
    uint64_t hv = hv1 + (hv2 - hv1) / 2;
    uint64_t since = tsc > arrived_tsc
                         ? (tsc - arrived_tsc) * 1000000 / r->clocks.tsc_khz
                         : 0;
    const struct pvt_guest_pv_last *l = &r->dev.last;

    if (since > hv - l->hv_at_set)
        since = 0;
    now -= (int64_t)since;
    hv -= since;
    r->sum.device_interrupts++;
    if (hv >= l->hv_deadline) {
        uint32_t fl =
            PVT_SAMPLE_AFTER_SWITCH | (r->asked_locked ? PVT_SAMPLE_LOCKED : 0);
        int64_t target = pvt_clockevent_last(&r->dev.single)->target;
        int64_t dev_err = now - target;
        int64_t aim = dev_err - (int64_t)(hv - l->hv_deadline);
        uint64_t cyc;

        /* the guest clock is a function of the hypervisor's here: where
         * the deadline falls in guest time is exact */
        if (pvt_timekeeper_ns_to_cycles(&tk, target, &cyc) == 0)
            aim = (int64_t)(l->hv_deadline - cyc);
        sample(r, PVT_SAMPLE_DEVICE_ERROR, fl, dev_err, now);
        sample(r, PVT_SAMPLE_AIM_ERROR, fl, aim, now);
        /* the host matches it to its injection (the path's last stage) */
        sample(r, PVT_SAMPLE_ARRIVAL, fl, (int64_t)hv, (int64_t)l->hv_deadline);
    }
    pvt_clockevent_event(&r->dev.single);
}

static void on_lapic(struct vrun *r, const struct pvt_irq_state *st)
{
    uint64_t want = pvt_clockevent_last(&r->dev.lapic)->value;
    uint64_t at = st->tsc[PVT_IRQ_LAPIC_TIMER];

    if (at >= want)
        sample(r, PVT_SAMPLE_TSC_DEADLINE, 0,
               (int64_t)((at - want) * 1000000 / r->clocks.tsc_khz),
               pvt_timekeeper_now(&tk));
    pvt_clockevent_event(&r->dev.lapic);
}

/* ---- the clock check ---- */

static int64_t guest_now(void *ctx)
{
    (void)ctx;
    return pvt_timekeeper_now(&tk);
}

/* ---- setup and end ---- */

#define CHECK(what, expr)                                                      \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_ < 0) {                                                         \
            pvt_guest_printf("guest: vCPU %u: %s: %s\n", r->index, what,       \
                             pvt_strerror(rc_));                               \
            pvt_guest_exit(3);                                                 \
        }                                                                      \
    } while (0)

/* Registers r's devices with the shared timekeeper: one vCPU at a time
 * (registration is serialised work). */
static void setup_shared(struct vrun *r)
{
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != r->index)
        cpu_relax();
    CHECK("pv-singleshot", pvt_clockevent_register(&r->dev.single, &tk));
    CHECK("drift estimator", pvt_drift_init(&r->drift, NULL));
    CHECK("pv-singleshot",
          pvt_clockevent_set_strategy(&r->dev.single, P.strategy, &r->drift));
    CHECK("queue", pvt_tq_init(&r->q, &tk));
    CHECK("queue", pvt_tq_set_device(&r->q, &r->dev.single));
    CHECK("queue", pvt_tq_set_kick(&r->q, kick, (void *)(uintptr_t)r->index));
    __atomic_store_n(&turn, r->index + 1, __ATOMIC_RELEASE);
}

static void setup_own(struct vrun *r)
{
    int i;

    CHECK("true time",
          pvt_timekeeper_init(&r->true_tk, &r->clocks.true_tsc, 0));
    CHECK("true time", pvt_tq_init(&r->evq, &r->true_tk));
    CHECK("lapic", pvt_clockevent_register(&r->dev.lapic, &r->true_tk));
    CHECK("lapic", pvt_clockevent_set_strategy(&r->dev.lapic,
                                               &pvt_strategy_coupled, NULL));
    CHECK("lapic", pvt_tq_set_device(&r->evq, &r->dev.lapic));
    r->locked_at = -1;
    for (i = 0; i < nwork; i++) {
        struct stimer *x = &pool[i];

        if (x->owner != r->index)
            continue;
        pvt_tq_arm(&r->evq, &x->arrive, (int64_t)x->item.at_ns);
    }
    pvt_timer_init(&r->ev_run_end, ev_run_end, r);
    pvt_timer_init(&r->ev_drain_end, ev_drain_end, r);
    pvt_tq_arm(&r->evq, &r->ev_run_end, P.duration_us * 1000);
    pvt_tq_arm(&r->evq, &r->ev_drain_end, (P.duration_us + P.drain_us) * 1000);
}

/* Accounts r's timers as of the end of its run (not of the clock check
 * after it, in which nothing fires). */
static void finish(struct vrun *r)
{
    int64_t end = r->end_ns;
    const char *name = P.strategy->name;
    uint64_t accounted;
    int i;

    for (i = 0; i < nwork; i++) {
        const struct stimer *x = &pool[i];

        if (x->target != r->index || !x->queued)
            continue;
        r->sum.timers++;
        if (x->owner != x->target)
            r->sum.remote_armed++;
        if (!x->armed)
            continue;
        if (x->t.expires < end - (int64_t)PVT_NSEC_PER_SEC)
            r->sum.lost++;
        else
            r->sum.pending++;
    }
    accounted = r->sum.fired + r->sum.cancelled + r->sum.pending + r->sum.lost;
    if (r->sum.timers > accounted)
        r->sum.lost += r->sum.timers - accounted;
    for (i = 0; name[i] && i < (int)sizeof(r->sum.strategy) - 1; i++)
        r->sum.strategy[i] = name[i];
    r->sum.spurious_interrupts = r->q.stats.spurious;
    r->sum.splits = r->q.stats.splits;
    r->sum.hangs = r->q.stats.hangs;
    r->sum.hv_past_sets = r->dev.last.past_sets;
    r->sum.highres_at_ns = 0; /* kvmclock from the start */
    r->sum.end_ns = end;
    r->sum.tsc_khz = r->clocks.tsc_khz;
    r->sum.ipis = r->ipis;
    r->sum.drift_locked_at_ns = r->locked_at;
    {
        struct pvt_drift_estimate e;

        if (pvt_drift_get(&r->drift, &e) == 0) {
            r->sum.drift_steps = e.steps;
            r->sum.drift_ppb = e.freq_ppb;
        }
    }
}

static void report(struct vrun *r)
{
    struct pvt_hc_result a = {0};

    flush(r);
    a.type = PVT_RESULT_SUMMARY;
    a.count = 1;
    a.data = (uint64_t)(uintptr_t)&r->sum;
    pvt_guest_hypercall(PVT_HC_RESULT, &a);
    if (a.ret < 0) {
        pvt_guest_printf("guest: vCPU %u: the monitor refused the summary "
                         "(%d)\n",
                         r->index, (int)a.ret);
        pvt_guest_exit(3);
    }
    if (r->index == 0) {
        static struct pvt_result_clock c;

        c.reads = W.reads;
        c.cross_pairs = W.pairs;
        c.backwards = W.backwards;
        c.backwards_max_ns = W.backwards_max;
        pvt_pvclock_guest_get_clamped(&pvg, &c.guard_clamps);
        c.tsc_stable = P.tsc_stable != 0;
        a.type = PVT_RESULT_CLOCK;
        a.count = 1;
        a.data = (uint64_t)(uintptr_t)&c;
        pvt_guest_hypercall(PVT_HC_RESULT, &a);
        if (a.ret < 0) {
            pvt_guest_printf("guest: the monitor refused the clock check "
                             "(%d)\n",
                             (int)a.ret);
            pvt_guest_exit(3);
        }
    }
}

/* Each vCPU's run, in user mode (cpu.h says why). */
static void run_user(void *arg)
{
    struct vrun *r = arg;
    struct pvt_irq_state st;

    setup_shared(r);
    barrier(1);
    setup_own(r);
    barrier(2);
    while (!r->stop) {
        pvt_cpu_wait(&st);
        if (st.pending & (1u << PVT_IRQ_IPI)) {
            r->ipis++;
            pvt_tq_kicked(&r->q);
        }
        if (st.pending & (1u << PVT_IRQ_SINGLESHOT))
            on_singleshot(r, &st);
        if (st.pending & (1u << PVT_IRQ_LAPIC_TIMER))
            on_lapic(r, &st);
        if (r->drift.state >= PVT_DRIFT_LOCKED && !r->asked_locked)
            r->locked_at = pvt_timekeeper_now(&tk);
        r->asked_locked = r->drift.state >= PVT_DRIFT_LOCKED;
    }
    r->end_ns = pvt_timekeeper_now(&tk);
    barrier(3);
    pvt_guest_warp_run(&W, r->index, (uint64_t)P.warp_pairs, guest_now, NULL);
    barrier(4);
    finish(r);
    report(r);
    barrier(5);
    if (r->index == 0)
        pvt_guest_exit(0);
    pvt_cpu_stop(false);
}

/* What needs ring 0 on vCPU index: its APIC, its kvmclock page, its LAPIC
 * timer's mode; the default periodic timer stopped (no tick here). */
static int setup_kernel(unsigned int index)
{
    struct vrun *r = &runs[index];
    struct pvt_hc_timer_periodic per = {0};
    const char *why = "";

    r->index = index;
    if (!pvt_cpu_init_x2apic()) {
        pvt_guest_printf("guest: vCPU %u: no x2APIC\n", index);
        return -1;
    }
    if (pvt_guest_clocks_init(&r->clocks, P.tsc_cal_ppb, &why) < 0 ||
        pvt_guest_devices_init(&r->dev, &r->clocks, true, &why) < 0) {
        pvt_guest_printf("guest: vCPU %u: %s\n", index, why);
        return -1;
    }
    /* one clock for the guest: the shared kvmclock is the device's */
    r->dev.single.coupled_cs = &kvmclock.cs;
    pvt_guest_hypercall(PVT_HC_TIMER_PERIODIC, &per);
    return 0;
}

static void ap_kernel(unsigned int index, void *arg)
{
    (void)arg;
    if (setup_kernel(index) < 0)
        pvt_guest_exit(3);
    runs[index].ready = true;
    pvt_cpu_run_user(run_user, &runs[index]);
}

static int parse(const char *args)
{
    static const char *const keys[] = {
        "duration_us", "drain_us",        "tsc_cal_ppb",
        "tsc_stable",  "remote_permille", "warp_pairs",
    };
    int64_t *dst[] = {
        &P.duration_us, &P.drain_us,        &P.tsc_cal_ppb,
        &P.tsc_stable,  &P.remote_permille, &P.warp_pairs,
    };

    P.duration_us = 8000000;
    P.drain_us = 1000000;
    P.tsc_cal_ppb = 0;
    P.tsc_stable = 0;
    P.remote_permille = 100;
    P.warp_pairs = 1000000;
    if (pvt_guest_scenario_args(args, keys, dst, sizeof(keys) / sizeof(keys[0]),
                                &P.strategy) < 0)
        return -1;
    if (P.duration_us <= 0 || P.drain_us < 0 || P.tsc_stable < 0 ||
        P.tsc_stable > 1 || P.remote_permille < 0 || P.remote_permille > 1000 ||
        P.warp_pairs < 1 || P.warp_pairs > 1000000000 ||
        P.tsc_cal_ppb <= -1000000000 || P.tsc_cal_ppb >= 1000000000) {
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

/* Which items are armed remotely: a fixed hash of the index, so every
 * strategy's run arms the same ones. */
static bool remote_item(uint32_t i)
{
    uint32_t h = i * 2654435761u;

    return (h >> 16) % 1000 < (uint32_t)P.remote_permille;
}

/* Contract in scenario.h. */
int pvt_guest_scenario_smp(const char *args, unsigned int vcpus)
{
    unsigned int i;
    int k;

    if (vcpus < 2 || vcpus > PVT_CPU_MAX) {
        pvt_guest_printf("guest: %u vCPUs: the guest takes 2 to %u\n", vcpus,
                         PVT_CPU_MAX);
        return 2;
    }
    ncpu = vcpus;
    if (parse(args) < 0)
        return 2;
    nwork = load_workload();
    if (nwork < 0) {
        pvt_guest_printf("guest: no workload from the monitor\n");
        return 3;
    }
    for (k = 0; k < nwork; k++) {
        struct stimer *x = &pool[k];

        x->owner = (uint32_t)k % ncpu;
        x->target = remote_item((uint32_t)k) ? (x->owner + 1) % ncpu : x->owner;
        if (x->target != x->owner)
            x->item.cancel_after_ns = 0; /* the owner cancels its own only */
        pvt_timer_init(&x->t, st_fired, x);
        pvt_timer_init(&x->cancel, ev_cancel, x);
        pvt_timer_init(&x->arrive, ev_arrive, x);
    }
    pvt_cpu_init_idt();
    /* the guest clock: one clocksource reading each vCPU's own page */
    if (pvt_pvclock_guest_init(&pvg,
                               P.tsc_stable ? PVT_PVCLOCK_TSC_STABLE : 0) < 0 ||
        setup_kernel(0) < 0 ||
        pvt_pvclock_clocksource_init(&kvmclock, "kvm-clock", &pvg,
                                     &runs[0].clocks.page, read_tsc,
                                     NULL) < 0 ||
        pvt_pvclock_clocksource_set_page_fn(&kvmclock, page_of, NULL) < 0 ||
        pvt_timekeeper_init(&tk, &kvmclock.cs, 0) < 0) {
        pvt_guest_printf("guest: the guest clock cannot be set up\n");
        return 3;
    }
    for (i = 1; i < ncpu; i++)
        if (pvt_cpu_start_ap(i, ap_kernel, NULL) < 0) {
            pvt_guest_printf("guest: the monitor did not start vCPU %u\n", i);
            return 3;
        }
    for (i = 1; i < ncpu; i++)
        while (!runs[i].ready)
            cpu_relax();
    pvt_cpu_run_user(run_user, &runs[0]);
}
