/*
 * One simulated world: true time, the hypervisor, the vCPUs, the guest's
 * oscillators and the guest kernel (the pvtimer core), run for one
 * strategy.
 *
 * Time. True time t counts ns from the guest's boot. The hypervisor clock
 * is H = h_offset + t (h_offset jumps at a migration). The TSC is
 * piecewise linear in t (its rate changes at a migration); a vCPU's TSC is
 * off it by a constant error (tsc_skew_ns). Guest code runs in zero time
 * except where it reads a clock (guest_read_ns) or walks the path to a
 * hypercall (guest_path_ns); a preemption that begins during such a step
 * stops the vCPU until it ends, so a preemption can fall between any two
 * guest steps, including between reading the guest clock and the
 * hypercall that uses the reading.
 *
 * Events are in a queue of their own (events.h), in true time t: the
 * hypervisor's timer firing, an interrupt being delivered, a workload
 * arrival, a cancellation, a migration. Ties run in the order they were
 * scheduled, so a run is deterministic.
 *
 * Several vCPUs. Each vCPU has its own time (how far its guest code has
 * got), preemptions, TSC error, pvclock page, hypervisor timer, singleshot
 * device and timer queue; the guest has one timekeeper, whose clocksource
 * reads the pvclock page of the vCPU it runs on, and one pvclock guest
 * state (the last-value guard). With one vCPU its time is the model's and
 * a handler runs to its end, as it always did. With several, guest code
 * runs on a coroutine per vCPU, and a vCPU whose time passes the next
 * event of the model (a step, a preemption) yields until the model has
 * caught up with it: every guest clock read happens in the model's true
 * order, which is what clock_backwards and the shared guard need.
 */
#define _XOPEN_SOURCE 700 /* ucontext */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

/* Under valgrind, a coroutine's stack is registered so that its switches
 * are not taken for stack overflows (valgrind's own header, where the
 * machine has it; without it the macros are no-ops). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef VALGRIND_STACK_REGISTER
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id)   ((void)(id))
#endif

#include "events.h"
#include "pvtimer/hvtimer.h"
#include "rng.h"
#include "sim.h"
#include "workload.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define SIM_ASAN 1
#endif

#define LAT_TABLE 4096

/* The event queue's first room (it grows when a workload needs more). */
#define EVQ_START 256

/* A coroutine's stack: guest code with the core under it, sanitizers
 * included. */
#define CORO_STACK (256 * 1024)

struct world;
struct vcpu;

/* A pvclock read completed at t, when the highest value read was max. */
struct read_done {
    uint64_t t, max;
};

#define READ_RING 1024

/* A workload timer and the event that may cancel it. */
struct wtimer {
    struct pvt_timer t;          /* in the owner's queue */
    struct pvt_sim_event cancel; /* in the event queue */
    struct pvt_sim_event start;  /* several vCPUs: the arrival, waiting
                                    for its vCPU */
    struct world *w;
    struct vcpu *owner; /* whose queue it is on (maybe in its inbox) */
    struct vcpu *armer; /* who arms it */
    double delta_ns;    /* the arrival, as drawn */
    double cancel_after_ns;
    bool cancels;
    struct wtimer *free_next;
};

#define POOL_CHUNK 1024

struct pool_chunk {
    struct pool_chunk *next;
    struct wtimer items[POOL_CHUNK];
};

/* Guest work on a vCPU: what an event asks it to do. */
typedef void (*guest_fn)(struct vcpu *v, struct pvt_sim_event *ev);

struct vcpu {
    struct world *w;
    unsigned int id;
    struct pvt_sim_vcpu_result *r;
    uint64_t t; /* how far its guest code has got (one vCPU: the model's) */

    /* randomness */
    struct pvt_sim_workload work;
    struct pvt_sim_preemptions pre;
    struct pvt_sim_rng rng_lat;

    /* the hypervisor's side of it */
    struct pvt_hv_vcpu_timer hvt;
    struct pvt_pvclock_vcpu_time_info page;
    uint64_t tsc_err;      /* cycles its TSC runs ahead (mod 2^64) */
    unsigned int irq_mask; /* interrupts raised, not yet delivered */
    uint64_t hv_asked;     /* the singleshot deadline the guest asked for */
    int64_t fired_target;  /* the guest target of the singleshot that fired */
    bool asked_after_boot; /* that programming was made after the switch */
    bool asked_locked;     /* the estimator was locked at that programming */
    struct pvt_sim_event ev_hv, ev_irq, ev_arrival, ev_ipi, ev_resume,
        ev_migrated;

    /* the current or next preemption is [pre_s, pre_e) */
    uint64_t pre_s, pre_e;
    /* a guest step that ends by here is an addition alone (guest_spend):
     * the next preemption's start or the cap, whichever is first, with
     * one vCPU and not measuring; 0 otherwise */
    uint64_t spend_limit;
    bool in_program;   /* inside a device programming (for the counter) */
    uint64_t sample_t; /* when its last TSC read sampled */
    int64_t seen;      /* the highest guest clock the model read on it */

    /* the guest's per-vCPU objects */
    struct pvt_pvclock_guest own_pvg; /* pvclock_guard=0: its own guard */
    struct pvt_pvclock_guest *pvg;    /* the guard its reads go through */
    struct pvt_pvclock_clocksource kvmclock; /* on its page */
    struct pvt_clockevent dev; /* the singleshot timer: the strategies' */
    struct pvt_drift drift;    /* its estimator (only compensated uses it) */
    struct pvt_timer_queue q;

    /* its coroutine (several vCPUs) */
    ucontext_t ctx;
    void *stack;
    unsigned int stack_id; /* valgrind's name for it */
    bool started;          /* the coroutine exists */
    bool busy;             /* inside guest work (maybe waiting to resume) */
    guest_fn job;
    struct pvt_sim_event *job_ev;
#ifdef SIM_ASAN
    void *fake_stack;
#endif
};

struct world {
    const struct pvt_sim_params *p;
    struct pvt_sim_result *r;
    bool peek; /* measuring: clock reads cost nothing, move nothing */

    /* true time and the event queue; *tnow is the model's time: the one
     * vCPU's own, or `now` with several */
    uint64_t now;
    uint64_t *tnow;
    struct pvt_sim_evq evq;
    struct pvt_sim_event ev_migrate, ev_refresh, ev_hv_step;
    uint64_t t_cap; /* the run stops here whatever happens */
    uint64_t events_cap;
    bool stop;
    double lat_table[LAT_TABLE + 1];

    /* the hypervisor (the host's TSC; each vCPU's is off it) */
    uint64_t h_offset;
    uint64_t tsc_hz;     /* true TSC rate (per host) */
    uint64_t tsc_per_ns; /* the same, 32.32 fixed point */
    uint64_t tsc_base_t; /* the TSC is tsc_base at tsc_base_t ... */
    uint64_t tsc_base;   /* ... and runs at tsc_hz since */
    /* p's guest_read_ns and guest_path_ns as every step spends them */
    uint64_t read_ns, path_ns;

    /* the vCPUs; cur is the one guest code runs on */
    unsigned int nv;
    bool smp;
    struct vcpu *v;
    struct vcpu *cur;
    struct vcpu *in_coro; /* the coroutine running now, or NULL (main) */
    ucontext_t main_ctx;
#ifdef SIM_ASAN
    const void *main_bottom;
    size_t main_size;
#endif

    /* the guest: one clock, one guard, the boot tick on vCPU 0 */
    struct pvt_jiffies jiffies;
    struct pvt_clocksource tsc_cs;
    struct pvt_clocksource kvm_cs; /* reads the current vCPU's kvmclock */
    struct pvt_pvclock_guest pvg;
    struct pvt_cs_registry reg;
    struct pvt_timekeeper tk;
    struct pvt_clockevent hvtick; /* the periodic timer: the boot tick */
    struct pvt_tick tick;
    struct pvt_sim_event ev_boot_end, ev_run_end, ev_drain_end;
    bool arrivals_on;
    bool after_boot;

    /* pvclock reads completed: the highest value, recent completions */
    uint64_t read_max;
    struct read_done ring[READ_RING];
    unsigned int ring_head, ring_n;

    /* workload timers */
    struct pool_chunk *chunks;
    struct wtimer *free_list;
};

/* ---- time ------------------------------------------------------------ */

static uint64_t h_at(const struct world *w, uint64_t t)
{
    return w->h_offset + t;
}

static uint64_t h_now(const struct world *w)
{
    return h_at(w, *w->tnow);
}

/* TSC cycles per true ns as 32.32 fixed point: tsc_hz * 2^32 / 1e9. */
static void set_tsc_rate(struct world *w, uint64_t hz)
{
    w->tsc_hz = hz;
    w->tsc_per_ns =
        (uint64_t)(((unsigned __int128)hz << 32) / (uint64_t)PVT_NSEC_PER_SEC);
}

/* The host's TSC at t: what the hypervisor believes every vCPU's reads. */
static uint64_t tsc_at(const struct world *w, uint64_t t)
{
    uint64_t d = t - w->tsc_base_t;
    return w->tsc_base +
           (uint64_t)(((unsigned __int128)d * w->tsc_per_ns) >> 32);
}

/* The next preemption interval after the current one. */
static void next_preemption(struct vcpu *v, uint64_t from)
{
    const struct world *w = v->w;

    if (!v->pre.on) {
        v->pre_s = v->pre_e = UINT64_MAX;
    } else {
        v->pre_s = from + (uint64_t)pvt_sim_preemptions_gap(&v->pre);
        v->pre_e = v->pre_s + (uint64_t)pvt_sim_preemptions_len(&v->pre);
    }
    v->spend_limit = w->smp ? 0 : v->pre_s < w->t_cap ? v->pre_s : w->t_cap;
}

/* vcpu_runs_at's rare part: preemptions wholly before x consumed. */
static __attribute__((noinline)) void consume_preemptions(struct vcpu *v,
                                                          uint64_t x)
{
    while (v->pre_e <= x)
        next_preemption(v, v->pre_e);
}

/* When the vCPU can run at or after x; preemptions wholly before x are
 * consumed. (Inline: every guest step asks.) */
static inline uint64_t vcpu_runs_at(struct vcpu *v, uint64_t x)
{
    if (v->pre_e <= x)
        consume_preemptions(v, x);
    return x >= v->pre_s ? v->pre_e : x;
}

/* Arm a model event; with no memory left to queue it, the run stops. */
static void ev_arm(struct world *w, struct pvt_sim_event *ev, int64_t at)
{
    if (pvt_sim_evq_arm(&w->evq, ev, at))
        w->stop = true;
}

/* ---- coroutines (several vCPUs) -------------------------------------- */

static _Thread_local struct vcpu *coro_starting;

static void coro_switch_in(struct vcpu *v)
{
    struct world *w = v->w;
#ifdef SIM_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, v->stack, CORO_STACK);
#endif
    w->cur = v;
    w->in_coro = v;
    swapcontext(&w->main_ctx, &v->ctx);
    w->in_coro = NULL;
#ifdef SIM_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

static void coro_switch_out(struct vcpu *v)
{
    struct world *w = v->w;
#ifdef SIM_ASAN
    __sanitizer_start_switch_fiber(&v->fake_stack, w->main_bottom,
                                   w->main_size);
#endif
    swapcontext(&v->ctx, &w->main_ctx);
#ifdef SIM_ASAN
    __sanitizer_finish_switch_fiber(v->fake_stack, &w->main_bottom,
                                    &w->main_size);
#endif
    w->cur = v;
    w->in_coro = v;
}

static void coro_main(void)
{
    struct vcpu *v = coro_starting;

#ifdef SIM_ASAN
    __sanitizer_finish_switch_fiber(NULL, &v->w->main_bottom, &v->w->main_size);
#endif
    for (;;) {
        v->job(v, v->job_ev);
        v->busy = false;
        coro_switch_out(v);
    }
}

/*
 * Several vCPUs: the vCPU's time has passed what the model has run to;
 * let the model run everything before it first (other vCPUs, the
 * hypervisor), then go on. Only from the vCPU's coroutine.
 */
static void vcpu_sync(struct vcpu *v)
{
    struct world *w = v->w;

    if (w->in_coro != v || v->t <= w->now)
        return;
    if (!pvt_sim_evq_in_round(&w->evq) &&
        pvt_sim_evq_earliest(&w->evq) > (int64_t)v->t)
        return;
    ev_arm(w, &v->ev_resume, (int64_t)v->t);
    coro_switch_out(v);
}

static void ev_resume(struct pvt_sim_event *ev)
{
    struct vcpu *v = ev->data;

    v->w->r->events++;
    coro_switch_in(v);
}

/* Run fn(v, ev) as guest work on v: at once with one vCPU; with several on
 * its coroutine, or, while it is inside other work, once that is done
 * (the event comes back when the vCPU resumes). Returns false when it
 * could not (no memory for a coroutine: the run stops). */
static bool on_vcpu(struct vcpu *v, struct pvt_sim_event *ev, guest_fn fn)
{
    struct world *w = v->w;

    if (!w->smp) {
        fn(v, ev);
        return true;
    }
    if (v->busy) {
        ev_arm(w, ev, (int64_t)(v->t > w->now ? v->t : w->now));
        return true;
    }
    if (!v->started) {
        v->stack = malloc(CORO_STACK);
        if (v->stack == NULL || getcontext(&v->ctx) != 0) {
            w->stop = true;
            return false;
        }
        v->stack_id =
            VALGRIND_STACK_REGISTER(v->stack, (char *)v->stack + CORO_STACK);
        v->ctx.uc_stack.ss_sp = v->stack;
        v->ctx.uc_stack.ss_size = CORO_STACK;
        v->ctx.uc_link = NULL;
        makecontext(&v->ctx, coro_main, 0);
        coro_starting = v;
        v->started = true;
    }
    if (v->t < w->now)
        v->t = w->now; /* it was idle until now */
    v->busy = true;
    v->job = fn;
    v->job_ev = ev;
    coro_switch_in(v);
    return true;
}

/* guest_spend's rare part: the step ran into a preemption, past the cap,
 * or on one of several vCPUs. */
static __attribute__((noinline)) void guest_spent(struct vcpu *v)
{
    struct world *w = v->w;

    while (v->t > v->pre_s) {
        /* preempted part way: the rest of the step runs afterwards */
        uint64_t rest = v->t - v->pre_s;
        if (v->in_program)
            w->r->preempted_programmings++;
        v->t = v->pre_e + rest;
        next_preemption(v, v->pre_e);
    }
    if (v->t > w->t_cap) {
        /* the vCPU hardly runs: stop rather than simulate for ever */
        w->stop = true;
        w->r->truncated = true;
    }
    if (w->smp)
        vcpu_sync(v);
}

/* guest_spend past its common case: the vCPU may be preempted at its
 * start or on the way. */
static __attribute__((noinline)) void guest_spend_rare(struct world *w,
                                                       struct vcpu *v,
                                                       uint64_t ns)
{
    if (w->peek || ns == 0)
        return;
    v->t = vcpu_runs_at(v, v->t) + ns;
    if (v->t > v->pre_s || v->t > w->t_cap || w->smp)
        guest_spent(v);
}

/*
 * The guest spends ns of its own time; a preemption may start meanwhile.
 * Inline: every clock read spends guest_read_ns. w is v's world. The
 * common case, a step that ends by spend_limit (so it started before the
 * next preemption too), is the addition alone: one comparison.
 */
static inline void guest_spend(struct world *w, struct vcpu *v, uint64_t ns)
{
    uint64_t end = v->t + ns;

    if (end <= v->spend_limit) {
        v->t = end; /* (ns 0 leaves it, as the rare path would) */
        return;
    }
    guest_spend_rare(w, v, ns);
}

/* ---- the guest's clocks ----------------------------------------------- */

static inline uint64_t vcpu_tsc_read(struct world *w, struct vcpu *v)
{
    uint64_t x = tsc_at(w, v->t) + v->tsc_err;

    v->sample_t = v->t;
    guest_spend(w, v, w->read_ns);
    return x;
}

static uint64_t guest_tsc_read(void *ctx)
{
    struct vcpu *v = ctx;

    return vcpu_tsc_read(v->w, v);
}

static uint64_t tsc_cs_read(struct pvt_clocksource *cs)
{
    struct world *w = cs->priv;

    return vcpu_tsc_read(w, w->cur);
}

static uint64_t jiffies_cs_read(struct pvt_clocksource *cs)
{
    struct world *w = cs->priv;
    uint64_t x = w->jiffies.jiffies;

    guest_spend(w, w->cur, w->read_ns);
    return x;
}

/*
 * A pvclock read on the current vCPU returned ns: count it, and count it
 * backwards when a read that completed before this one began (its TSC
 * sample) returned more. Reads complete in true order; a read that
 * overlapped others (its vCPU preempted inside it) is compared with what
 * had completed when it took its sample, found in the ring of recent
 * completions (each with the highest value completed by then).
 */
static void read_seen(struct world *w, uint64_t ns)
{
    struct pvt_sim_result *r = w->r;
    struct vcpu *v = w->cur;
    uint64_t before = 0;
    bool any = false;
    unsigned int k;

    if (w->peek || !w->smp)
        return;
    r->clock_reads++;
    for (k = 0; k < w->ring_n; k++) {
        const struct read_done *d =
            &w->ring[(w->ring_head + READ_RING - k) % READ_RING];
        if (d->t <= v->sample_t) {
            before = d->max;
            any = true;
            break;
        }
    }
    if (!any && w->ring_n == READ_RING)
        before = w->ring[(w->ring_head + 1) % READ_RING].max; /* older */
    if (ns < before) {
        r->clock_backwards++;
        if (before - ns > r->clock_backwards_max_ns)
            r->clock_backwards_max_ns = before - ns;
    }
    if (ns > w->read_max)
        w->read_max = ns;
    w->ring_head = (w->ring_head + 1) % READ_RING;
    w->ring[w->ring_head] = (struct read_done){v->t, w->read_max};
    if (w->ring_n < READ_RING)
        w->ring_n++;
}

/* The guest's pvclock clocksource reads the page of the vCPU it runs on
 * (as kvmclock does through its per-CPU pointer). */
static uint64_t kvm_cs_read(struct pvt_clocksource *cs)
{
    struct world *w = cs->priv;
    struct pvt_clocksource *own = &w->cur->kvmclock.cs;
    uint64_t ns = own->read(own);

    read_seen(w, ns);
    return ns;
}

/*
 * The timekeeper's conversion of the current clocksource's reading now,
 * taken as signed: with several vCPUs a vCPU's counter may be behind the
 * anchor another vCPU's read left (the timekeeper would return its last
 * value; a measure wants where this vCPU's clock is).
 */
static int64_t tk_signed_now(struct pvt_timekeeper *tk)
{
    const struct pvt_clocksource *cs = tk->cs;
    uint64_t c = cs->read(tk->cs) & cs->mask;
    uint64_t d = (c - tk->cycle_last) & cs->mask;

    if (d > (cs->mask >> 1)) {
        uint64_t back = (tk->cycle_last - c) & cs->mask;
        return tk->base_ns -
               (int64_t)(((unsigned __int128)back * cs->mult) >> cs->shift);
    }
    return tk->base_ns +
           (int64_t)(((unsigned __int128)d * cs->mult + tk->frac) >> cs->shift);
}

/* The guest clock on v at true time t, read without side effects. */
static int64_t guest_clock_read_at(struct vcpu *v, uint64_t t)
{
    struct world *w = v->w;
    /* what a read may change: the timekeeper's guard and anchor, the
     * pvclock clocksource's last value, the guard's */
    struct pvt_timekeeper saved = w->tk;
    uint64_t saved_ns = v->kvmclock.last_ns;
    uint8_t saved_flags = v->kvmclock.last_flags;
    uint64_t saved_t = v->t;
    uint64_t saved_guard = v->pvg->last_value;
    uint64_t saved_limit = v->spend_limit;
    struct vcpu *saved_cur = w->cur;
    int64_t g;

    w->peek = true;
    v->spend_limit = 0; /* every step to guest_spend_rare, which sees peek */
    w->cur = v;
    v->t = t;
    w->tk.last_ns = 0;      /* look past the monotonic guard */
    v->pvg->last_value = 0; /* and past the pvclock's */
    g = w->smp ? tk_signed_now(&w->tk) : pvt_timekeeper_now(&w->tk);
    w->tk = saved;
    v->kvmclock.last_ns = saved_ns;
    v->kvmclock.last_flags = saved_flags;
    v->pvg->last_value = saved_guard;
    v->t = saved_t;
    v->spend_limit = saved_limit;
    w->cur = saved_cur;
    w->peek = false;
    return g;
}

/*
 * What the timekeeper's read returns at counter value c with its guard
 * cleared (guest_clock_read_at's measure): its conversion from the anchor,
 * or the cleared guard, 0, when c is behind the anchor.
 */
static int64_t tk_unguarded_at(const struct pvt_timekeeper *tk, uint64_t c)
{
    const struct pvt_clocksource *cs = tk->cs;
    uint64_t d = ((c & cs->mask) - tk->cycle_last) & cs->mask;
    uint64_t off;

    if (d > (cs->mask >> 1))
        return 0;
    off = (uint64_t)(((unsigned __int128)d * cs->mult + tk->frac) >> cs->shift);
    return off > (uint64_t)INT64_MAX
               ? INT64_MAX
               : pvt_add_sat_s64(tk->base_ns, (int64_t)off);
}

/* The guest clock on v at true time t, without side effects. */
static int64_t guest_clock_at(struct vcpu *v, uint64_t t)
{
    struct world *w = v->w;

    if (!w->smp && w->tk.cs == &w->tsc_cs) {
        /* on the TSC clocksource: its reading at t converted as the read
         * would convert it (which leaves sample_t at t) */
        v->sample_t = t;
        return tk_unguarded_at(&w->tk, tsc_at(w, t) + v->tsc_err);
    }
    return guest_clock_read_at(v, t);
}

/* The series bin of guest second gs. */
static struct pvt_sim_bin *bin_at(struct pvt_sim_result *r, double gs)
{
    double x = gs / r->bin_s;

    return &r->bins[x < PVT_SIM_SERIES_BINS ? (size_t)x
                                            : PVT_SIM_SERIES_BINS - 1];
}

/* ---- the hypervisor ------------------------------------------------------ */

static void publish_pvclock(struct vcpu *v)
{
    struct world *w = v->w;
    struct pvt_pvclock_params pp = {0};

    pvt_pvclock_time_scale(PVT_NSEC_PER_SEC, w->tsc_hz, &pp.shift, &pp.mul);
    /* what the hypervisor believes the vCPU's TSC reads: its error is what
     * it failed to synchronise */
    pp.tsc_timestamp = tsc_at(w, *w->tnow);
    pp.system_time = h_now(w);
    pp.flags = w->p->tsc_stable ? PVT_PVCLOCK_TSC_STABLE : 0;
    pvt_pvclock_write(&v->page, &pp);
}

/* Keep the hypervisor-timer event at the vCPU timer's next fire. */
static void hv_reschedule(struct vcpu *v)
{
    struct world *w = v->w;
    uint64_t fire = pvt_hv_next_fire(&v->hvt);

    if (fire == PVT_HV_NEVER) {
        pvt_sim_evq_cancel(&w->evq, &v->ev_hv);
        return;
    }
    ev_arm(w, &v->ev_hv,
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

static uint64_t draw_latency(struct vcpu *v)
{
    const struct world *w = v->w;
    double x = pvt_sim_rng_unit(&v->rng_lat) * LAT_TABLE;
    unsigned int i = (unsigned int)x;
    double f = x - i;

    return (uint64_t)(w->lat_table[i] +
                      f * (w->lat_table[i + 1] - w->lat_table[i]));
}

/* An interrupt for v on its way from time `from`; one already on its way
 * sooner carries it. */
static void post_irq(struct vcpu *v, struct pvt_sim_event *ev,
                     unsigned int *mask, unsigned int bits, uint64_t from)
{
    int64_t at = (int64_t)(from + draw_latency(v));

    if (*mask && ev->expires <= at) {
        *mask |= bits; /* already on its way, sooner */
        return;
    }
    *mask |= bits;
    ev_arm(v->w, ev, at);
}

static void ev_hv_fire(struct pvt_sim_event *ev)
{
    struct vcpu *v = ev->data;
    struct world *w = v->w;
    uint64_t deadline = v->hv_asked; /* as asked, before "past fires now" */
    unsigned int fired = pvt_hv_expire(&v->hvt, h_now(w));

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

        if (td >= (int64_t)*w->tnow) {
            g = guest_clock_at(v, (uint64_t)td);
        } else {
            /* a deadline that was already past when set (fired at once):
             * the guest clock cannot be read backwards across the switches
             * it went through since, so extrapolate from now at the
             * hypervisor's rate (the drift over that short span is far
             * below a nanosecond per microsecond) */
            g = guest_clock_at(v, *w->tnow) - ((int64_t)*w->tnow - td);
        }
        aim = g - pvt_clockevent_last(&v->dev)->target;
        gs = (double)pvt_clockevent_last(&v->dev)->target / 1e9;
        pvt_sim_hist_add(&w->r->aim_error, aim);
        if (w->smp)
            pvt_sim_hist_add(&v->r->aim_error, aim);
        pvt_sim_hist_add(v->asked_after_boot ? &w->r->aim_error_after
                                             : &w->r->aim_error_boot,
                         aim);
        if (v->asked_locked) {
            pvt_sim_hist_add(&w->r->aim_error_locked, aim);
            if (v->asked_after_boot)
                pvt_sim_hist_add(&w->r->aim_error_after_locked, aim);
        }
        b = bin_at(w->r, gs);
        b->programs++;
        b->aim_sum += (double)aim;
        if (llabs(aim) > b->aim_max_abs)
            b->aim_max_abs = llabs(aim);
    }
    if (fired & PVT_HV_SINGLESHOT) /* what this event was for */
        v->fired_target = pvt_clockevent_last(&v->dev)->target;
    if (fired)
        post_irq(v, &v->ev_irq, &v->irq_mask, fired, *w->tnow);
    hv_reschedule(v);
}

/* ---- the guest's device: hypercalls to the hypervisor timer --------------- */

/*
 * The device's callbacks run on the vCPU that calls them (w->cur): its own
 * device's, except when the core tells every device of a clocksource
 * switch from the vCPU that made it. That vCPU spends the time and reads
 * the TSC it runs on against its own page, as the guest's pvclock read
 * would; the hypercall sets the device's vCPU's timer.
 */
static uint64_t dev_timebase(struct pvt_clockevent *dev)
{
    struct vcpu *run = ((struct vcpu *)dev->priv)->w->cur;
    uint64_t ns = 0;

    /* the guest reads the hypervisor clock through the pvclock page */
    pvt_pvclock_read(run->pvg, &run->page, guest_tsc_read, run, &ns, NULL);
    read_seen(run->w, ns);
    return ns;
}

static int dev_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct vcpu *v = dev->priv;
    struct world *w = v->w;
    struct vcpu *run = w->cur;

    run->in_program = true;
    guest_spend(w, run, w->path_ns);
    run->in_program = false;
    if (when <= h_at(w, run->t))
        w->r->hv_past_sets++;
    v->hv_asked = when;
    v->asked_after_boot = w->after_boot;
    if (v->drift.state >= PVT_DRIFT_LOCKED && !v->asked_locked)
        w->r->locked_at_s = (double)run->t / 1e9;
    v->asked_locked = v->drift.state >= PVT_DRIFT_LOCKED;
    pvt_hv_set_singleshot(&v->hvt, when, h_at(w, run->t));
    hv_reschedule(v);
    return 0;
}

static int dev_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    struct vcpu *v = dev->priv;
    struct world *w = v->w;
    struct vcpu *run = w->cur;

    run->in_program = true;
    guest_spend(w, run, w->path_ns);
    run->in_program = false;
    /* the hypervisor adds its own now, when the call arrives */
    v->hv_asked = pvt_add_sat_u64(h_at(w, run->t), ticks);
    v->asked_after_boot = w->after_boot;
    v->asked_locked = false;
    pvt_hv_set_relative(&v->hvt, ticks, h_at(w, run->t));
    hv_reschedule(v);
    return 0;
}

/* The periodic timer as the boot tick (vCPU 0's): the guest sets its
 * period to one tick, and stops it when the tick goes high-res. */
static int hvtick_periodic(struct pvt_clockevent *dev, uint64_t period_ns)
{
    struct vcpu *v = dev->priv;
    int rc = pvt_hv_set_periodic(&v->hvt, period_ns, h_at(v->w, v->t));

    hv_reschedule(v);
    return rc;
}

static int hvtick_shutdown(struct pvt_clockevent *dev)
{
    struct vcpu *v = dev->priv;

    pvt_hv_set_periodic(&v->hvt, 0, h_at(v->w, v->t));
    hv_reschedule(v);
    return 0;
}

static int dev_shutdown(struct pvt_clockevent *dev)
{
    struct vcpu *v = dev->priv;

    pvt_hv_stop_singleshot(&v->hvt);
    hv_reschedule(v);
    return 0;
}

/* ---- running guest code ---------------------------------------------------- */

/* The guest clock as the model reads it on v (in a handler, a callback):
 * counted when below what it read on v before. */
static int64_t guest_now(struct vcpu *v)
{
    struct world *w = v->w;
    int64_t now = pvt_timekeeper_now(&w->tk);

    if (now < v->seen)
        w->r->guest_clock_backwards++;
    else
        v->seen = now;
    return now;
}

/*
 * The guest wakes at x (or when the vCPU next runs). With work to do (a
 * workload arrival, a resume) it leaves idle and restarts the tick; an
 * interrupt alone is handled from idle, and the tick stays stopped, as a
 * tickless kernel does. (The tick is vCPU 0's.)
 */
static void guest_enter(struct vcpu *v, uint64_t x, bool work)
{
    struct world *w = v->w;

    v->t = vcpu_runs_at(v, x > v->t ? x : v->t);
    if (w->smp)
        vcpu_sync(v);
    if (work && w->p->nohz && v->id == 0)
        pvt_tick_idle_exit(&w->tick);
}

static void guest_leave(struct vcpu *v)
{
    struct world *w = v->w;

    if (w->p->nohz && v->id == 0 && w->tick.mode == PVT_TICK_HIGHRES)
        pvt_tick_idle_enter(&w->tick);
}

static void irq_work(struct vcpu *v, struct pvt_sim_event *ev)
{
    struct world *w = v->w;
    unsigned int mask;

    (void)ev;
    mask = v->irq_mask;
    v->irq_mask = 0;
    guest_enter(v, *w->tnow, false);
    if (mask & PVT_HV_SINGLESHOT) {
        int64_t now = guest_now(v);
        struct pvt_sim_bin *b;
        double gs = (double)now / 1e9;
        int64_t err = now - v->fired_target;
        uint64_t spurious = v->q.stats.spurious;

        w->r->device_interrupts++;
        pvt_sim_hist_add(&w->r->device_error, err);
        b = bin_at(w->r, gs);
        b->interrupts++;
        if (llabs(err) > b->dev_max_abs)
            b->dev_max_abs = llabs(err);
        pvt_clockevent_event(&v->dev);
        if (w->smp) {
            v->r->device_interrupts++;
            v->r->spurious_interrupts += v->q.stats.spurious - spurious;
            pvt_sim_hist_add(&v->r->device_error, err);
        }
    }
    if ((mask & PVT_HV_PERIODIC) && v->id == 0 &&
        pvt_clockevent_get_state(&w->hvtick) == PVT_CE_PERIODIC)
        pvt_clockevent_event(&w->hvtick);
    guest_leave(v);
}

/* An interrupt (the device's, an IPI) for ev's vCPU arrives: it waits
 * while the vCPU is preempted, then fn handles it there. */
static void interrupt(struct pvt_sim_event *ev, guest_fn fn)
{
    struct vcpu *v = ev->data;
    struct world *w = v->w;
    uint64_t at = *w->tnow;

    w->r->events++;
    if (vcpu_runs_at(v, at) != at) {
        ev_arm(w, ev, (int64_t)vcpu_runs_at(v, at));
        return;
    }
    on_vcpu(v, ev, fn);
}

static void ev_irq_deliver(struct pvt_sim_event *ev)
{
    interrupt(ev, irq_work);
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
    int64_t now = guest_now(w->cur);
    double gs = (double)now / 1e9;

    w->r->fired++;
    if (now < t->expires)
        w->r->early_callbacks++;
    pvt_sim_hist_add(&w->r->lateness, now - t->expires);
    bin_at(w->r, gs)->fired++;
    if (w->smp) {
        struct pvt_sim_vcpu_result *vr = x->owner->r;
        vr->fired++;
        if (now < t->expires)
            vr->early_callbacks++;
        pvt_sim_hist_add(&vr->lateness, now - t->expires);
    }
    pvt_sim_evq_cancel(&w->evq, &x->cancel);
    wt_free(w, x);
}

static void cancel_work(struct vcpu *v, struct pvt_sim_event *ev)
{
    struct wtimer *x = ev->data;
    struct world *w = x->w;

    guest_enter(v, *w->tnow, true);
    /* (a remote timer still in the inbox is drained, then cancelled) */
    if (pvt_tq_cancel(&x->owner->q, &x->t) == 1) {
        w->r->cancelled++;
        if (w->smp)
            x->owner->r->cancelled++;
        wt_free(w, x);
    }
    guest_leave(v);
}

/* A timer is cancelled on the vCPU whose queue it is on: only the owner
 * touches its queue (the core's remote-arming model). */
static void ev_cancel(struct pvt_sim_event *ev)
{
    struct wtimer *x = ev->data;

    x->w->r->events++;
    on_vcpu(x->owner, ev, cancel_work);
}

/* The queue's kick (pvt_tq_set_kick): an IPI from the arming vCPU (the
 * one running) to the owner, delivered after the interrupt latency and
 * when the owner runs. One already on its way sooner carries it. */
static void kick(struct pvt_timer_queue *q, void *ctx)
{
    struct vcpu *to = ctx;
    struct vcpu *from = to->w->cur;
    unsigned int pending = to->ev_ipi.state == PVT_SIM_EVENT_QUEUED ? 1u : 0u;

    (void)q;
    post_irq(from, &to->ev_ipi, &pending, 1, from->t);
}

/* Arm x, drawn on armer, for x->owner: on armer's own queue, or remotely
 * on the owner's (the deadline read on the arming vCPU). */
static void arm_timer(struct vcpu *armer, struct wtimer *x)
{
    struct world *w = armer->w;
    struct vcpu *owner = x->owner;

    pvt_timer_init(&x->t, wt_fired, x);
    pvt_sim_event_init(&x->cancel, ev_cancel, x);
    x->w = w;
    w->r->timers++;
    if (w->smp)
        owner->r->timers++;
    if (owner == armer) {
        pvt_tq_arm_after(&armer->q, &x->t, (int64_t)x->delta_ns);
    } else {
        int64_t now = guest_now(armer);
        owner->r->remote_armed++;
        pvt_tq_arm_remote(&owner->q, &x->t,
                          pvt_add_sat_s64(now, (int64_t)x->delta_ns));
    }
    if (x->cancels)
        ev_arm(w, &x->cancel,
               (int64_t)(armer->t + (uint64_t)x->cancel_after_ns));
}

static void ipi_work(struct vcpu *v, struct pvt_sim_event *ev)
{
    (void)ev;
    guest_enter(v, *v->w->tnow, false);
    v->r->ipis++;
    pvt_tq_kicked(&v->q);
    guest_leave(v);
}

static void ev_ipi(struct pvt_sim_event *ev)
{
    interrupt(ev, ipi_work);
}

static void arrival_work(struct vcpu *v, struct pvt_sim_event *ev)
{
    struct wtimer *x = ev->data;

    guest_enter(v, *v->w->tnow, true);
    arm_timer(v, x);
    guest_leave(v);
}

/* An arrival that waited for its vCPU to finish other work. */
static void ev_start(struct pvt_sim_event *ev)
{
    struct wtimer *x = ev->data;

    x->w->r->events++;
    on_vcpu(x->armer, ev, arrival_work);
}

static void ev_arrival(struct pvt_sim_event *ev)
{
    struct vcpu *v = ev->data;
    struct world *w = v->w;
    struct pvt_sim_arrival a;
    uint64_t scheduled = (uint64_t)ev->expires;
    struct wtimer *x;

    pvt_sim_workload_next(&v->work, &a);
    w->r->events++;
    if (!w->arrivals_on)
        return;
    /* the next arrival is drawn now, so the workload does not depend on
     * when this one could run */
    ev_arm(w, &v->ev_arrival, (int64_t)(scheduled + (uint64_t)a.gap_ns));
    x = wt_alloc(w);
    if (!x) {
        w->stop = true;
        return;
    }
    x->w = w;
    x->owner = a.remote >= 0 ? &w->v[a.remote] : v;
    x->armer = v;
    x->delta_ns = a.delta_ns;
    x->cancels = a.cancel;
    x->cancel_after_ns = a.cancel_after_ns;
    if (!w->smp) {
        guest_enter(v, v->t, true);
        arm_timer(v, x);
        guest_leave(v);
        return;
    }
    pvt_sim_event_init(&x->start, ev_start, x);
    on_vcpu(v, &x->start, arrival_work);
}

/* ---- milestones ----------------------------------------------------------------
 *
 * In the model's true time, the same in every strategy's world: the
 * workload ends, and the run ends, at the same moment whatever the strategy
 * under test does with the guest's timers (a milestone kept in the guest's
 * own queue would fire as late as the strategy makes it). The guest's clock
 * differs from true time only by its drift.
 */

static void boot_end_work(struct vcpu *v, struct pvt_sim_event *ev)
{
    struct world *w = v->w;

    (void)ev;
    /* the paravirtual clocksource arrives; the registry picks it, the
     * timekeeper takes over continuously, the tick goes high-res */
    guest_enter(v, *w->tnow, true);
    pvt_cs_registry_add(&w->reg, &w->kvm_cs);
    w->after_boot = true;
    guest_leave(v);
}

static void ev_boot_end(struct pvt_sim_event *ev)
{
    struct world *w = ev->data;

    w->r->events++;
    on_vcpu(&w->v[0], ev, boot_end_work);
}

static void ev_run_end(struct pvt_sim_event *ev)
{
    struct world *w = ev->data;
    unsigned int i;

    w->r->events++;
    w->arrivals_on = false;
    for (i = 0; i < w->nv; i++)
        pvt_sim_evq_cancel(&w->evq, &w->v[i].ev_arrival);
}

static void ev_drain_end(struct pvt_sim_event *ev)
{
    struct world *w = ev->data;

    w->r->events++;
    w->stop = true;
}

/* The hypervisor refreshes the pvclock pages now and then (as KVM does on
 * its master-clock updates): a new snapshot, a new version, the same
 * scale; the guest's reads must stay consistent through it. */
#define PVCLOCK_REFRESH_NS (1000 * PVT_NSEC_PER_MSEC)

static void ev_refresh(struct pvt_sim_event *ev)
{
    struct world *w = ev->data;
    unsigned int i;

    w->r->events++;
    for (i = 0; i < w->nv; i++)
        publish_pvclock(&w->v[i]);
    ev_arm(w, &w->ev_refresh, pvt_add_sat_s64(ev->expires, PVCLOCK_REFRESH_NS));
}

/* The guest's resume path on v: vCPU 0 forgets the last-value guard and
 * continues its own clock from where it was; every vCPU re-programs its
 * device (the queue owns the singleshot from boot). */
static void migrated_work(struct vcpu *v, struct pvt_sim_event *ev)
{
    struct world *w = v->w;

    (void)ev;
    /* the resume path runs before anything reads the clock: a tickless
     * idle exit (guest_enter's, with work) would read the new host's
     * clock, an hour away, before the timekeeper resumed */
    guest_enter(v, *w->tnow, false);
    if (v->id == 0) {
        unsigned int i;
        for (i = 0; i < w->nv; i++)
            pvt_pvclock_guest_resume(w->v[i].pvg);
        pvt_timekeeper_resume(&w->tk);
        if (w->p->nohz)
            pvt_tick_idle_exit(&w->tick);
    }
    pvt_tq_reprogram(&v->q);
    guest_leave(v);
}

static void ev_migrated(struct pvt_sim_event *ev)
{
    struct vcpu *v = ev->data;

    on_vcpu(v, ev, migrated_work);
}

static void ev_migrate(struct pvt_sim_event *ev)
{
    struct world *w = ev->data;
    const struct pvt_sim_params *p = w->p;
    uint64_t tsc_now = tsc_at(w, *w->tnow);
    unsigned int i;

    w->r->events++;
    /* the new host: its clock jump_s ahead, its TSC faster or slower */
    w->h_offset =
        (uint64_t)((int64_t)w->h_offset + (int64_t)(p->migrate_jump_s * 1e9));
    w->tsc_base = tsc_now;
    w->tsc_base_t = *w->tnow;
    set_tsc_rate(
        w, (uint64_t)((double)w->tsc_hz * (1 + p->migrate_tsc_ppm * 1e-6)));
    for (i = 0; i < w->nv; i++) {
        struct vcpu *v = &w->v[i];
        publish_pvclock(v);
        /* the singleshot does not migrate (the guest re-arms it on
         * resume); the periodic timer restarts on the new host's clock */
        pvt_hv_stop_singleshot(&v->hvt);
        if (v->hvt.period)
            pvt_hv_set_periodic(&v->hvt, v->hvt.period, h_now(w));
        hv_reschedule(v);
    }
    for (i = 0; i < w->nv; i++)
        on_vcpu(&w->v[i], &w->v[i].ev_migrated, migrated_work);
}

/* The hypervisor clock steps by hv_step_us, unannounced (a host clock
 * corrected under the guest): the pages are republished with it, the
 * guest is not told, its timers stay set in the hypervisor's clock. */
static void ev_hv_step(struct pvt_sim_event *ev)
{
    struct world *w = ev->data;
    unsigned int i;

    w->r->events++;
    w->h_offset =
        (uint64_t)((int64_t)w->h_offset + (int64_t)(w->p->hv_step_us * 1e3));
    for (i = 0; i < w->nv; i++) {
        publish_pvclock(&w->v[i]);
        hv_reschedule(&w->v[i]);
    }
}

/* ---- setup and the run ---------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *what, int rc)
{
    snprintf(err, errlen, "simulator setup: %s: %s", what, pvt_strerror(rc));
    return -1;
}

/* The hypervisor's side of vCPU i, its randomness and its TSC error. */
static int vcpu_init_host(struct world *w, unsigned int i, uint64_t seed,
                          char *err, size_t errlen)
{
    const struct pvt_sim_params *p = w->p;
    struct pvt_hv_timer_config hcfg = PVT_HV_TIMER_CONFIG_XEN;
    struct vcpu *v = &w->v[i];
    int rc;

    v->w = w;
    v->id = i;
    v->r = &w->r->vcpu[i];
    v->seen = INT64_MIN;
    if (w->nv > 1) {
        /* spread evenly over [-skew, +skew], vCPU 0 lowest */
        double off_ns = p->tsc_skew_ns * (2.0 * i - (w->nv - 1)) / (w->nv - 1);
        v->r->tsc_offset_ns = (int64_t)llround(off_ns);
        v->tsc_err =
            (uint64_t)(int64_t)llround(off_ns * (double)w->tsc_hz / 1e9);
    }
    pvt_sim_workload_init_vcpu(&v->work, p, seed, i);
    pvt_sim_preemptions_init_vcpu(&v->pre, p, seed, i);
    pvt_sim_rng_seed(&v->rng_lat, seed, pvt_sim_stream(i, 3));
    pvt_sim_event_init(&v->ev_hv, ev_hv_fire, v);
    pvt_sim_event_init(&v->ev_irq, ev_irq_deliver, v);
    pvt_sim_event_init(&v->ev_arrival, ev_arrival, v);
    pvt_sim_event_init(&v->ev_ipi, ev_ipi, v);
    pvt_sim_event_init(&v->ev_resume, ev_resume, v);
    pvt_sim_event_init(&v->ev_migrated, ev_migrated, v);
    hcfg.slop_ns = (uint64_t)(p->slop_us * 1e3);
    if ((rc = pvt_hv_timer_init(&v->hvt, &hcfg, h_now(w))))
        return fail(err, errlen, "hypervisor timer", rc);
    return 0;
}

/* The guest's side of vCPU i: its pvclock clocksource, its singleshot
 * device with the strategy, its queue owning the device from boot. */
static int vcpu_init_guest(struct world *w, unsigned int i,
                           const struct pvt_strategy *s, char *err,
                           size_t errlen)
{
    struct vcpu *v = &w->v[i];
    int rc;

    v->pvg = &w->pvg;
    if (!w->p->pvclock_guard) {
        /* the cross-vCPU guard bypassed: each vCPU's reads are kept
         * monotonic against its own only */
        if ((rc = pvt_pvclock_guest_init(&v->own_pvg, PVT_PVCLOCK_TSC_STABLE)))
            return fail(err, errlen, "pvclock guest", rc);
        v->pvg = &v->own_pvg;
    }
    if ((rc = pvt_pvclock_clocksource_init(&v->kvmclock, "kvm-clock", v->pvg,
                                           &v->page, guest_tsc_read, v)))
        return fail(err, errlen, "pvclock clocksource", rc);
    /* the paravirtual singleshot timer: 1 ns ticks up to 2^32 - 1 ns */
    v->dev = (struct pvt_clockevent){
        .name = "pv-singleshot",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 500,
        .set_next_event = dev_set_rel,
        .set_next_abs = dev_set_abs,
        .read_timebase = dev_timebase,
        .set_state_shutdown = dev_shutdown,
        .coupled_cs = &w->kvm_cs,
        .priv = v,
    };
    /* the estimator, with its defaults; strategies other than compensated
     * are not given it, so it stays unlocked in their worlds */
    if ((rc = pvt_drift_init(&v->drift, NULL)))
        return fail(err, errlen, "drift estimator", rc);
    if ((rc = pvt_clockevent_config(&v->dev, PVT_NSEC_PER_SEC, 1000,
                                    UINT32_MAX)) ||
        (rc = pvt_clockevent_register(&v->dev, &w->tk)) ||
        (rc = pvt_clockevent_set_strategy(&v->dev, s, &v->drift)))
        return fail(err, errlen, "clockevent device", rc);
    if ((rc = pvt_tq_init(&v->q, &w->tk)) ||
        (rc = pvt_tq_set_device(&v->q, &v->dev)) ||
        (rc = pvt_tq_set_kick(&v->q, kick, v)))
        return fail(err, errlen, "timer queue", rc);
    return 0;
}

static int world_init(struct world *w, const struct pvt_sim_params *p,
                      uint64_t seed, const struct pvt_strategy *s,
                      struct pvt_sim_result *r, char *err, size_t errlen)
{
    struct pvt_clocksource *boot_cs;
    struct vcpu *v0;
    unsigned int i;
    int rc;

    w->p = p;
    w->r = r;
    w->read_ns = (uint64_t)p->guest_read_ns;
    w->path_ns = (uint64_t)p->guest_path_ns;
    w->nv = (unsigned int)p->vcpus;
    w->smp = w->nv > 1;
    w->v = calloc(w->nv, sizeof(*w->v));
    if (w->v == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    v0 = &w->v[0];
    w->cur = v0;
    /* one vCPU: its time is the model's, as it always was */
    w->tnow = w->smp ? &w->now : &v0->t;
    /* whatever a strategy does, the run ends */
    w->t_cap = (uint64_t)((2 * (p->duration_s + p->drain_s) +
                           fabs(p->migrate_jump_s) + 60) *
                          1e9);
    latency_table_init(w);

    /* the event queue runs on true time */
    if (pvt_sim_evq_init(&w->evq, EVQ_START)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pvt_sim_event_init(&w->ev_migrate, ev_migrate, w);
    pvt_sim_event_init(&w->ev_refresh, ev_refresh, w);
    ev_arm(w, &w->ev_refresh, PVCLOCK_REFRESH_NS);

    /* the hypervisor and the vCPUs */
    w->h_offset = (uint64_t)(p->hv_uptime_s * 1e9);
    set_tsc_rate(w, (uint64_t)(p->tsc_ghz * 1e9));
    w->tsc_base = (uint64_t)(p->hv_uptime_s * (double)w->tsc_hz);
    for (i = 0; i < w->nv; i++) {
        if (vcpu_init_host(w, i, seed, err, errlen))
            return -1;
        publish_pvclock(&w->v[i]);
        next_preemption(&w->v[i], 0);
    }

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
        /* a narrow counter wraps; the guest's reads are masked to it */
        .mask = p->tsc_bits < 64 ? (UINT64_C(1) << (unsigned)p->tsc_bits) - 1
                                 : UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    if ((rc = pvt_clocksource_init_hz(
             &w->tsc_cs,
             (uint64_t)((double)w->tsc_hz * (1 + p->tsc_cal_ppm * 1e-6)), 0)))
        return fail(err, errlen, "tsc clocksource", rc);
    /* one guard for the guest, honouring TSC_STABLE where the pages set
     * it (as Linux's kvmclock does when the host says so) */
    if ((rc = pvt_pvclock_guest_init(&w->pvg, PVT_PVCLOCK_TSC_STABLE)))
        return fail(err, errlen, "pvclock clocksource", rc);

    boot_cs = p->boot_clock == PVT_SIM_BOOT_TSC ? &w->tsc_cs : &w->jiffies.cs;
    if ((rc = pvt_timekeeper_init(&w->tk, boot_cs, 0)) ||
        (rc = pvt_cs_registry_init(&w->reg, pvt_timekeeper_follow, &w->tk)) ||
        (rc = pvt_cs_registry_add(&w->reg, boot_cs)))
        return fail(err, errlen, "timekeeping", rc);

    for (i = 0; i < w->nv; i++)
        if (vcpu_init_guest(w, i, s, err, errlen))
            return -1;
    /* the guest's pvclock clocksource: vCPU 0's, reading whichever page
     * belongs to the vCPU it runs on */
    w->kvm_cs = v0->kvmclock.cs;
    w->kvm_cs.read = kvm_cs_read;
    w->kvm_cs.priv = w;

    /* the hypervisor's periodic timer, which every vCPU starts with; the
     * boot tick is vCPU 0's */
    w->hvtick = (struct pvt_clockevent){
        .name = "pv-periodic",
        .features = PVT_CE_FEAT_PERIODIC,
        .rating = 100,
        .set_state_periodic = hvtick_periodic,
        .set_state_shutdown = hvtick_shutdown,
        .priv = v0,
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
    if ((rc = pvt_tick_init(&w->tick, &w->tk, &v0->q, &w->hvtick, &w->jiffies,
                            &w->reg)))
        return fail(err, errlen, "tick", rc);

    /* milestones */
    pvt_sim_event_init(&w->ev_boot_end, ev_boot_end, w);
    pvt_sim_event_init(&w->ev_run_end, ev_run_end, w);
    pvt_sim_event_init(&w->ev_drain_end, ev_drain_end, w);
    if (p->pvclock) {
        if (p->boot_s > 0)
            ev_arm(w, &w->ev_boot_end, (int64_t)(p->boot_s * 1e9));
        else
            boot_end_work(v0, &w->ev_boot_end); /* before any coroutine */
    }
    ev_arm(w, &w->ev_run_end, (int64_t)(p->duration_s * 1e9));
    ev_arm(w, &w->ev_drain_end, (int64_t)((p->duration_s + p->drain_s) * 1e9));

    w->arrivals_on = p->timer_rate_hz > 0;
    if (w->arrivals_on)
        for (i = 0; i < w->nv; i++)
            ev_arm(w, &w->v[i].ev_arrival,
                   (int64_t)pvt_sim_workload_first(&w->v[i].work));
    if (p->migrate_at_s >= 0)
        ev_arm(w, &w->ev_migrate, (int64_t)(p->migrate_at_s * 1e9));
    pvt_sim_event_init(&w->ev_hv_step, ev_hv_step, w);
    if (p->hv_step_at_s >= 0)
        ev_arm(w, &w->ev_hv_step, (int64_t)(p->hv_step_at_s * 1e9));
    /* an interrupt storm is bounded by the delivery latency; allow a
     * generous multiple of the work the parameters ask for */
    w->events_cap = (uint64_t)(200 * (p->timer_rate_hz + p->hz + 100) *
                               (p->duration_s + p->drain_s)) *
                        (w->smp ? 4 : 1) +
                    10000000;
    return 0;
}

static void world_free(struct world *w)
{
    unsigned int i;

    while (w->chunks) {
        struct pool_chunk *c = w->chunks;
        w->chunks = c->next;
        free(c);
    }
    for (i = 0; w->v && i < w->nv; i++) {
        if (w->v[i].stack)
            VALGRIND_STACK_DEREGISTER(w->v[i].stack_id);
        free(w->v[i].stack);
    }
    free(w->v);
    pvt_sim_evq_free(&w->evq);
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
    r->vcpus = p->vcpus >= 1 && p->vcpus <= PVT_SIM_MAX_VCPUS
                   ? (unsigned int)p->vcpus
                   : 1;
    return 0;
}

/* Still armed at the end: pending when not yet due, lost when due more
 * than a second ago (the drain is long enough for every honest timer; a
 * strategy aiming far past its deadlines loses them). Anything armed and
 * neither fired, cancelled nor armed would be lost too. */
static void count_lost(struct world *w, int64_t end_guest)
{
    struct pvt_sim_result *r = w->r;
    struct pool_chunk *c;
    unsigned int i;
    size_t k;

    for (c = w->chunks; c; c = c->next) {
        for (k = 0; k < POOL_CHUNK; k++) {
            const struct wtimer *x = &c->items[k];
            bool lost;
            if (!pvt_timer_pending(&x->t))
                continue;
            lost = x->t.expires < end_guest - (int64_t)PVT_NSEC_PER_SEC;
            if (lost)
                r->lost++;
            else
                r->pending++;
            if (w->smp) {
                if (lost)
                    x->owner->r->lost++;
                else
                    x->owner->r->pending++;
            }
        }
    }
    r->lost += r->timers - r->fired - r->cancelled - r->pending - r->lost;
    for (i = 0; w->smp && i < w->nv; i++) {
        struct pvt_sim_vcpu_result *vr = w->v[i].r;
        vr->lost +=
            vr->timers - vr->fired - vr->cancelled - vr->pending - vr->lost;
    }
}

int pvt_sim_run(const struct pvt_sim_params *p, uint64_t seed,
                const struct pvt_strategy *strategy, struct pvt_sim_result *r,
                pvt_sim_progress_fn progress, void *progress_ctx, char *err,
                size_t errlen)
{
    struct world *w = calloc(1, sizeof(*w));
    int64_t end_guest;
    unsigned int i;

    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (p == NULL || p->vcpus < 1 || p->vcpus > PVT_SIM_MAX_VCPUS) {
        snprintf(err, errlen, "vcpus out of range");
        free(w);
        return -1;
    }
    pvt_sim_result_init(r, p, strategy);
    if (world_init(w, p, seed, strategy, r, err, errlen)) {
        world_free(w);
        free(w);
        return -1;
    }

    while (!w->stop) {
        int64_t next = pvt_sim_evq_earliest(&w->evq);
        if (next == PVT_TIME_MAX || (uint64_t)next > w->t_cap)
            break;
        if (progress && (r->events & 0xfffff) == 0)
            progress(progress_ctx, fmin(1.0, (double)*w->tnow / 1e9 /
                                                 (p->duration_s + p->drain_s)));
        if (r->events > w->events_cap) {
            r->truncated = true; /* an interrupt storm that never ends */
            break;
        }
        if ((uint64_t)next > *w->tnow)
            *w->tnow = (uint64_t)next;
        pvt_sim_evq_run(&w->evq, (int64_t)*w->tnow);
    }

    for (i = 0; i < w->nv; i++)
        r->guest_expiries += w->v[i].q.stats.fired;
    {
        struct pvt_drift_estimate e;
        if (pvt_drift_get(&w->v[0].drift, &e) == 0) {
            r->drift_steps = e.steps;
            r->drift_ppb = e.freq_ppb;
        }
    }
    /* the end, read on vCPU 0 (not inside work: the model has stopped) */
    w->cur = &w->v[0];
    w->in_coro = NULL;
    if (w->smp && w->v[0].t < w->now)
        w->v[0].t = w->now;
    end_guest = pvt_timekeeper_now(&w->tk);
    count_lost(w, end_guest);
    for (i = 0; i < w->nv; i++) {
        r->spurious_interrupts += w->v[i].q.stats.spurious;
        r->splits += w->v[i].q.stats.splits;
        r->hangs += w->v[i].q.stats.hangs;
    }
    for (i = 0; w->smp && i < w->nv; i++) {
        uint64_t c = 0;
        if ((i == 0 || w->v[i].pvg != &w->pvg) &&
            pvt_pvclock_guest_get_clamped(w->v[i].pvg, &c) == 0)
            r->clock_guard_clamps += c;
    }
    r->timekeeper_clamps = w->tk.backwards;
    r->highres_at_s =
        w->tick.highres_at >= 0 ? (double)w->tick.highres_at / 1e9 : -1;
    r->end_guest_s = (double)end_guest / 1e9;
    world_free(w);
    free(w);
    return 0;
}
