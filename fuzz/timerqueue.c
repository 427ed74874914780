/*
 * The timer queue (pvtimer/timerqueue.h) driven by arbitrary sequences of
 * arm, arm-after, remote arm, cancel, time passing, device events (on time,
 * early or late), kicks, ticks and re-programming, with callbacks that
 * re-arm themselves (also into the past) or cancel another timer, checked
 * against a reference model: a list of pending timers with deadlines and
 * arming order.
 *
 * Checked (a differential fuzzer): every callback is of a timer the model
 * has pending, with the guest clock at or past its deadline (never early),
 * and runs once per arming (nothing run twice); within a round, callbacks
 * come in (deadline, arming order); a timer armed during a round runs in a
 * later one; after a tick every timer due at it has run except those
 * armed during it, and after a device event every due timer has run
 * unless the event gave up (a hang, counted); cancel and arm return what
 * the model says; in high-resolution mode the device is armed whenever a
 * timer is queued; and at the end, delivering only the events the device
 * was programmed for runs every timer left (nothing lost).
 */
#include "fuzz.h"
#include "pvtimer/pvtimer.h"

#define NT 16

struct model_timer {
    bool pending;
    bool in_round;  /* collected by the round being run */
    bool new_round; /* armed during this event: not before the next round */
    int64_t deadline;
    uint64_t seq;
    uint8_t action; /* on expiry: 0 none, 1 re-arm self, 2 cancel other */
    int64_t rearm;  /* re-arm at now + this (may be negative: the past) */
    unsigned int other;
};

struct fz {
    struct fuzz_in *in;
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
    struct pvt_clockevent dev;
    struct pvt_timer_queue q;
    struct pvt_timer t[NT];
    struct model_timer m[NT];
    uint64_t now; /* the guest clock: the counter, in ns */
    uint64_t seq;
    bool hires;
    bool armed;     /* the device */
    uint64_t fire;  /* when it fires, guest ns */
    bool kick;      /* a kick is pending */
    bool in_event;  /* callbacks may run */
    bool one_round; /* a tick: a single round */
    unsigned int rounds;
    bool drain; /* no callback actions */
};

static struct fz F;
static int trace = -1;

#define TRACE(...)                                                             \
    do {                                                                       \
        if (trace)                                                             \
            fprintf(stderr, __VA_ARGS__);                                      \
    } while (0)

static uint64_t clock_read(struct pvt_clocksource *cs)
{
    (void)cs;
    return F.now;
}

static int dev_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    (void)dev;
    F.armed = true;
    F.fire = F.now + ticks;
    return 0;
}

/* the device counts the guest clock's ns: its timebase is the clock */
static uint64_t dev_timebase(struct pvt_clockevent *dev)
{
    (void)dev;
    return F.now;
}

static int dev_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    (void)dev;
    F.armed = true;
    F.fire = when > F.now ? when : F.now;
    return 0;
}

static int dev_oneshot(struct pvt_clockevent *dev)
{
    (void)dev;
    return 0;
}

static int dev_shutdown(struct pvt_clockevent *dev)
{
    (void)dev;
    F.armed = false;
    return 0;
}

static void kick(struct pvt_timer_queue *q, void *ctx)
{
    (void)q;
    (void)ctx;
    F.kick = true;
}

static bool before(const struct model_timer *a, const struct model_timer *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static bool due(const struct model_timer *m)
{
    return m->pending && m->deadline <= (int64_t)F.now;
}

static void model_arm(unsigned int i, int64_t deadline)
{
    struct model_timer *m = &F.m[i];

    m->pending = true;
    m->in_round = false;
    m->new_round = F.in_event;
    m->deadline = deadline < 0 ? 0 : deadline;
    m->seq = ++F.seq;
}

static void model_cancel(unsigned int i)
{
    F.m[i].pending = false;
    F.m[i].in_round = false;
}

static void start_round(void)
{
    unsigned int i;

    F.rounds++;
    for (i = 0; i < NT; i++) {
        F.m[i].in_round = due(&F.m[i]);
        F.m[i].new_round = false;
    }
}

static void callback(struct pvt_timer *t)
{
    unsigned int i = (unsigned int)(t - F.t), k;
    struct model_timer *m = &F.m[i];
    bool any = false;

    FUZZ_CHECK(i < NT, "a callback of no timer of ours");
    TRACE("  callback %u (deadline %lld) at %llu\n", i,
          (long long)F.m[i].deadline, (unsigned long long)F.now);
    FUZZ_CHECK(F.in_event, "callback %u outside an event or a tick", i);
    FUZZ_CHECK(m->pending,
               "timer %u run but not pending (twice, or "
               "after a cancel)",
               i);
    FUZZ_CHECK(m->deadline <= (int64_t)F.now,
               "timer %u early: deadline %lld, clock %llu", i,
               (long long)m->deadline, (unsigned long long)F.now);
    FUZZ_CHECK(!pvt_timer_pending(t), "timer %u pending in its callback", i);
    for (k = 0; k < NT; k++)
        any |= F.m[k].in_round;
    if (!any) {
        FUZZ_CHECK(!F.one_round, "timer %u run in a second round of a tick", i);
        start_round();
    }
    FUZZ_CHECK(m->in_round,
               "timer %u run in a round it was not due at "
               "(armed during it)",
               i);
    for (k = 0; k < NT; k++)
        FUZZ_CHECK(!F.m[k].in_round || k == i || before(m, &F.m[k]),
                   "timer %u (deadline %lld) run before %u (deadline %lld)", i,
                   (long long)m->deadline, k, (long long)F.m[k].deadline);
    model_cancel(i);
    if (F.drain)
        return;
    if (m->action == 1) {
        int64_t d = (int64_t)F.now + m->rearm;
        FUZZ_CHECK(pvt_tq_arm(&F.q, t, d) == 0, "re-arm in callback");
        model_arm(i, d);
    } else if (m->action == 2) {
        int rc = pvt_tq_cancel(&F.q, &F.t[m->other]);
        FUZZ_CHECK(rc == (F.m[m->other].pending ? 1 : 0),
                   "cancel of %u in a callback: %d", m->other, rc);
        model_cancel(m->other);
    }
}

static int64_t earliest_model(void)
{
    int64_t e = PVT_TIME_MAX;
    unsigned int i;

    for (i = 0; i < NT; i++)
        if (F.m[i].pending && F.m[i].deadline < e)
            e = F.m[i].deadline;
    return e;
}

static void check_idle_state(void)
{
    unsigned int i;

    for (i = 0; i < NT; i++)
        FUZZ_CHECK(pvt_timer_pending(&F.t[i]) == F.m[i].pending,
                   "timer %u: pending %d, model %d", i,
                   pvt_timer_pending(&F.t[i]), F.m[i].pending);
    if (F.q.inbox == NULL) {
        int64_t e = earliest_model();
        FUZZ_CHECK(pvt_tq_earliest(&F.q) == e, "earliest %lld, model %lld",
                   (long long)pvt_tq_earliest(&F.q), (long long)e);
        if (F.hires && e != PVT_TIME_MAX)
            FUZZ_CHECK(F.armed,
                       "a timer queued (earliest %lld), the device "
                       "not armed",
                       (long long)e);
    }
}

static int run(bool event)
{
    unsigned int i;
    uint64_t hangs = F.q.stats.hangs;
    int rc;

    F.in_event = true;
    F.one_round = !event;
    F.rounds = 0;
    for (i = 0; i < NT; i++) {
        F.m[i].in_round = false;
        F.m[i].new_round = false;
    }
    start_round();
    F.rounds = 0;
    /* a device event as the interrupt delivers it (pvt_tq_event is the
     * handler the queue bound) */
    rc = event ? pvt_clockevent_event(&F.dev) : pvt_tq_run_expired(&F.q);
    F.in_event = false;
    FUZZ_CHECK(rc >= 0, "run: %d", rc);
    for (i = 0; i < NT; i++) {
        FUZZ_CHECK(!F.m[i].in_round, "timer %u due at the round, not run", i);
        if (!due(&F.m[i]))
            continue;
        if (event)
            FUZZ_CHECK(F.q.stats.hangs > hangs,
                       "timer %u due (deadline %lld, clock %llu) left by an "
                       "event that did not give up",
                       i, (long long)F.m[i].deadline,
                       (unsigned long long)F.now);
        else
            FUZZ_CHECK(F.m[i].new_round, "timer %u due at the tick, not run",
                       i);
    }
    return rc;
}

static int64_t deadline_from(struct fuzz_in *in)
{
    uint8_t how = fuzz_u8(in);
    int64_t d = (int64_t)(fuzz_mag(in) & ((1ull << 38) - 1));

    if (how & 1)
        return (int64_t)F.now - d; /* the past, or negative */
    return (int64_t)F.now + d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    unsigned int i, n;
    int rc;

    if (trace < 0)
        trace = getenv("FUZZ_TRACE") != NULL;
    memset(&F, 0, sizeof(F));
    F.in = &in;
    F.hires = mode & 1;
    F.now = fuzz_u32(&in);
    F.cs = (struct pvt_clocksource){.name = "ns",
                                    .read = clock_read,
                                    .mask = UINT64_MAX,
                                    .mult = 1,
                                    .shift = 0,
                                    .rating = 300,
                                    .flags = PVT_CS_CONTINUOUS |
                                             PVT_CS_VALID_FOR_HRES};
    FUZZ_CHECK(pvt_clocksource_init(&F.cs) == 0, "cs");
    FUZZ_CHECK(pvt_timekeeper_init(&F.tk, &F.cs, (int64_t)F.now) == 0, "tk");
    FUZZ_CHECK(pvt_tq_init(&F.q, &F.tk) == 0, "tq_init");
    FUZZ_CHECK(pvt_tq_set_kick(&F.q, kick, NULL) == 0, "set_kick");
    for (i = 0; i < NT; i++)
        FUZZ_CHECK(pvt_timer_init(&F.t[i], callback, NULL) == 0, "init");
    if (F.hires) {
        F.dev = (struct pvt_clockevent){
            .name = "fuzz",
            .features = PVT_CE_FEAT_ONESHOT,
            .rating = 100,
            .set_next_event = dev_set_rel,
            .set_next_abs = dev_set_abs,
            .read_timebase = dev_timebase,
            .set_state_oneshot = dev_oneshot,
            .set_state_shutdown = dev_shutdown,
        };
        FUZZ_CHECK(
            pvt_clockevent_config(&F.dev, PVT_NSEC_PER_SEC, 1 + fuzz_u16(&in),
                                  (1ull << 30) + (fuzz_u32(&in) << 2)) == 0,
            "config");
        FUZZ_CHECK(pvt_clockevent_register(&F.dev, &F.tk) == 0, "register");
        FUZZ_CHECK(pvt_clockevent_set_strategy(
                       &F.dev,
                       mode & 2 ? &pvt_strategy_delta : &pvt_strategy_relative,
                       NULL) == 0,
                   "strategy");
        FUZZ_CHECK(pvt_tq_set_device(&F.q, &F.dev) == 0, "set_device");
    }

    while (fuzz_left(&in)) {
        uint8_t op = fuzz_u8(&in);
        unsigned int k = fuzz_u8(&in) % NT;
        int64_t d;

        TRACE("op %u timer %u, clock %llu, device %s %llu\n", op % 11, k,
              (unsigned long long)F.now, F.armed ? "armed" : "idle",
              (unsigned long long)F.fire);
        switch (op % 11) {
        case 0: /* arm */
            d = deadline_from(&in);
            rc = pvt_tq_arm(&F.q, &F.t[k], d);
            FUZZ_CHECK(rc == 0, "arm: %d", rc);
            model_arm(k, d);
            TRACE("  arm %u at %lld\n", k, (long long)d);
            break;
        case 1: /* arm after */
            d = (int64_t)(fuzz_mag(&in) & ((1ull << 38) - 1));
            rc = pvt_tq_arm_after(&F.q, &F.t[k], d);
            FUZZ_CHECK(rc == 0, "arm_after: %d", rc);
            model_arm(k, (int64_t)F.now + d);
            break;
        case 2: /* remote arm (from another vCPU: only an idle timer) */
            d = deadline_from(&in);
            rc = pvt_tq_arm_remote(&F.q, &F.t[k], d);
            if (F.m[k].pending) {
                FUZZ_CHECK(rc == -PVT_EBUSY,
                           "remote arm of a pending "
                           "timer: %d",
                           rc);
            } else {
                FUZZ_CHECK(rc == 0, "arm_remote: %d", rc);
                model_arm(k, d);
            }
            break;
        case 3: /* cancel */
            rc = pvt_tq_cancel(&F.q, &F.t[k]);
            FUZZ_CHECK(rc == (F.m[k].pending ? 1 : 0), "cancel %u: %d", k, rc);
            model_cancel(k);
            break;
        case 4: /* time passes */
            F.now += fuzz_mag(&in) & ((1ull << 36) - 1);
            break;
        case 5: /* the device fires when programmed (or a stray event) */
            if (!F.hires)
                break;
            if (F.armed && !(fuzz_u8(&in) & 7)) {
                /* a stray: early, the device stays armed */
            } else if (F.armed) {
                if (F.fire > F.now)
                    F.now = F.fire;
                F.now += fuzz_u8(&in) & 1 ? fuzz_u16(&in) : 0; /* late */
                F.armed = false;
            }
            run(true);
            break;
        case 6: /* a tick (low-resolution mode) */
            if (F.hires)
                break;
            run(false);
            break;
        case 7: /* what a timer does when it runs */
            F.m[k].action = fuzz_u8(&in) % 3;
            F.m[k].rearm =
                (int64_t)(fuzz_mag(&in) & ((1ull << 30) - 1)) - (1 << 20);
            F.m[k].other = fuzz_u8(&in) % NT;
            break;
        case 8: /* the kick's IPI arrives */
            rc = pvt_tq_kicked(&F.q);
            FUZZ_CHECK(rc >= 0, "kicked: %d", rc);
            F.kick = false;
            break;
        case 9:
            if (F.hires) {
                FUZZ_CHECK(pvt_tq_reprogram(&F.q) == 0, "reprogram");
                F.kick = false; /* reprogram drains the inbox too */
            }
            break;
        default: /* a strategy change would go here; a plain reading */
            FUZZ_CHECK(pvt_timekeeper_now(&F.tk) == (int64_t)F.now, "clock");
            break;
        }
        /* a remote arming drained by a later owner call clears the kick */
        if (F.kick && F.q.inbox == NULL)
            F.kick = false;
        check_idle_state();
    }

    /* nothing lost: only the events the device was programmed for (or the
     * ticks) from here, no callback actions */
    F.drain = true;
    if (F.kick) {
        FUZZ_CHECK(pvt_tq_kicked(&F.q) >= 0, "kicked");
        F.kick = false;
    }
    for (n = 0; n < 100000 && earliest_model() != PVT_TIME_MAX; n++) {
        if (F.hires) {
            FUZZ_CHECK(F.armed, "timers left, the device not armed");
            if (F.fire > F.now)
                F.now = F.fire;
            F.armed = false;
            run(true);
        } else {
            if ((uint64_t)earliest_model() > F.now)
                F.now = (uint64_t)earliest_model();
            run(false);
        }
    }
    for (i = 0; i < NT; i++)
        FUZZ_CHECK(!F.m[i].pending, "timer %u never ran", i);
    FUZZ_CHECK(pvt_tq_earliest(&F.q) == PVT_TIME_MAX, "queue not empty");
    if (F.hires) {
        FUZZ_CHECK(pvt_tq_set_device(&F.q, NULL) == 0, "release");
        FUZZ_CHECK(pvt_clockevent_unregister(&F.dev) == 0, "unregister");
    }
    return 0;
}
