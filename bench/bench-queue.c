/*
 * `pvtimer bench queue`: the timer queue (pvt_tq, a pairing heap of
 * intrusive timers) against a plain binary min-heap, measured in the same
 * process on the same workload.
 *
 * The baseline is what "a heap of timers" usually means: an array, allocated
 * once, of pointers to timer structs keyed by the same (expires, seq), the
 * element knowing nothing of its place in the array. Arm and expire are the
 * textbook sift-up and pop-min (moving a hole, not swapping); cancelling an
 * arbitrary timer has to find it first, by linear search, then fills its
 * slot with the last element and sifts that up or down.
 *
 * The workload, for each size N (powers of ten from 10^3 to --max):
 *
 *   deadlines  N, from a seeded xorshift64*, log-uniform over 10 us .. 4 s
 *              after the clock's start (so the same for both, every run);
 *   arm        arm the N timers, in index order, into an empty queue;
 *   cancel     with N live, cancel 1000 timers picked at random, in batches
 *              of at most N / 10 distinct picks (so at least 90% stay
 *              live), re-arming each batch afterwards (untimed). 1000 is
 *              what keeps the baseline's O(N) search at 10^6 to a fraction
 *              of a second. Before the first batch the earliest timer is
 *              cancelled and re-armed, untimed: a pairing heap that has only
 *              been inserted into is a root with N - 1 children, where a
 *              cancel is O(1); this makes it consolidate its children, as it
 *              would after any expiry, so cancels meet a heap in the shape
 *              it has in steady state;
 *   expire     with N live, move the clock past every deadline and expire
 *              them all: for the queue through the real expiry path,
 *              pvt_tq_run_expired() reading a timekeeper on a counter
 *              clocksource the benchmark sets; for the baseline, pop-min
 *              while the earliest is due. The callbacks only count (and
 *              check the order).
 *
 * Each figure is ns per operation, the best of several runs (more for the
 * small sizes), after one warm-up run; queue and baseline runs alternate, so
 * a change of CPU frequency hits both alike. Timing is CLOCK_MONOTONIC
 * around each whole phase, the same for both.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "options.h"
#include "pvtimer/pvtimer.h"
#include "pvtimer/timerqueue.h"

#define MIN_TIMERS     1000u
#define DEFAULT_MAX    1000000u
#define LIMIT_MAX      10000000u
#define CANCELS        1000u /* cancels timed per run, at every size */
#define MIN_RUNS       5u
#define MAX_RUNS       100u
#define RUN_BUDGET     1000000u /* runs = RUN_BUDGET / N, clamped */
#define SPREAD_MIN_NS  (10 * PVT_NSEC_PER_USEC)
#define SPREAD_MAX_NS  (4 * PVT_NSEC_PER_SEC)
#define EXPIRE_TIME_NS (5 * PVT_NSEC_PER_SEC) /* past every deadline */
/* log2(SPREAD_MAX_NS / SPREAD_MIN_NS) = log2(400000) */
#define SPREAD_OCTAVES 18.609640474436812

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the workload -------------------------------------------------------- */

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, 1), 53 bits. */
static double uniform(uint64_t *s)
{
    return (double)(xorshift64s(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [0, n), n > 0 (the modulo bias is below n / 2^64). */
static size_t below(uint64_t *s, size_t n)
{
    return (size_t)(xorshift64s(s) % n);
}

/*
 * 2^f for f in [0, 1), without libm: the Taylor series of e^(f ln 2). With
 * f ln 2 < 0.7, the 14th term is below 1e-13 of the sum.
 */
static double exp2_frac(double f)
{
    const double x = f * 0.69314718055994531;
    double term = 1.0, sum = 1.0;
    int k;

    for (k = 1; k < 14; k++) {
        term *= x / k;
        sum += term;
    }
    return sum;
}

/* A deadline log-uniform over [SPREAD_MIN_NS, SPREAD_MAX_NS]. */
static int64_t spread_deadline(uint64_t *s)
{
    double e = uniform(s) * SPREAD_OCTAVES;
    unsigned int octave = (unsigned int)e;
    double ns = (double)SPREAD_MIN_NS * (double)(1ull << octave) *
                exp2_frac(e - octave);

    return ns > (double)SPREAD_MAX_NS ? SPREAD_MAX_NS : (int64_t)ns;
}

struct workload {
    size_t n;
    int64_t *deadline; /* n: ns after the clock's start */
    size_t *perm;      /* n: scratch for drawing picks */
    size_t *pick;      /* ncancel timer indices, distinct within a batch */
    size_t batch;      /* cancels per batch */
    size_t ncancel;    /* a whole number of batches */
    size_t earliest;   /* index of the earliest deadline (first armed) */
};

static void workload_free(struct workload *w)
{
    free(w->deadline);
    free(w->perm);
    free(w->pick);
}

static int workload_init(struct workload *w, size_t n)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL ^ n;
    size_t i, j, k, b, tmp;

    memset(w, 0, sizeof(*w));
    w->n = n;
    w->batch = n / 10 < CANCELS ? n / 10 : CANCELS;
    w->ncancel = CANCELS / w->batch * w->batch;
    w->deadline = malloc(n * sizeof(*w->deadline));
    w->perm = malloc(n * sizeof(*w->perm));
    w->pick = malloc(w->ncancel * sizeof(*w->pick));
    if (!w->deadline || !w->perm || !w->pick) {
        workload_free(w);
        return -1;
    }
    for (i = 0; i < n; i++) {
        w->deadline[i] = spread_deadline(&seed);
        w->perm[i] = i;
        if (w->deadline[i] < w->deadline[w->earliest])
            w->earliest = i;
    }
    /* each batch: the first `batch` steps of a Fisher-Yates shuffle */
    for (b = 0; b < w->ncancel; b += w->batch) {
        for (k = 0; k < w->batch; k++) {
            j = k + below(&seed, n - k);
            tmp = w->perm[k];
            w->perm[k] = w->perm[j];
            w->perm[j] = tmp;
            w->pick[b + k] = w->perm[k];
        }
    }
    return 0;
}

/* ---- what the callbacks see ----------------------------------------------- */

static uint64_t fired, disorder;
static int64_t last_fired;

static void note_fired(int64_t expires)
{
    if (expires < last_fired)
        disorder++;
    last_fired = expires;
    fired++;
}

static void fired_reset(void)
{
    fired = disorder = 0;
    last_fired = 0;
}

/* ---- the baseline: a plain binary min-heap of pointers -------------------- */

struct heap_timer {
    int64_t expires;
    uint64_t seq;
    void (*fn)(struct heap_timer *t);
    void *data;
};

struct heap {
    struct heap_timer **v; /* v[0] earliest; children of i: 2i+1, 2i+2 */
    size_t len, cap;
    uint64_t next_seq;
};

static bool heap_before(const struct heap_timer *a, const struct heap_timer *b)
{
    return a->expires < b->expires ||
           (a->expires == b->expires && a->seq < b->seq);
}

/* Put t in the hole at i, moving it up past later parents. */
static void heap_sift_up(struct heap *h, size_t i, struct heap_timer *t)
{
    size_t parent;

    while (i > 0) {
        parent = (i - 1) / 2;
        if (!heap_before(t, h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = t;
}

/* Put t in the hole at i, moving it down past earlier children. */
static void heap_sift_down(struct heap *h, size_t i, struct heap_timer *t)
{
    size_t c;

    while ((c = 2 * i + 1) < h->len) {
        if (c + 1 < h->len && heap_before(h->v[c + 1], h->v[c]))
            c++;
        if (!heap_before(h->v[c], t))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    h->v[i] = t;
}

/* Arm an idle t; the array has room (it is sized for every timer). */
static void heap_arm(struct heap *h, struct heap_timer *t, int64_t expires)
{
    t->expires = expires;
    t->seq = h->next_seq++;
    heap_sift_up(h, h->len++, t);
}

static struct heap_timer *heap_pop(struct heap *h)
{
    struct heap_timer *top = h->v[0], *last = h->v[--h->len];

    if (h->len)
        heap_sift_down(h, 0, last);
    return top;
}

/* Cancel t: a plain heap does not know where t is, so it searches. */
static bool heap_cancel(struct heap *h, struct heap_timer *t)
{
    struct heap_timer *last;
    size_t i;

    for (i = 0; i < h->len && h->v[i] != t; i++)
        ;
    if (i == h->len)
        return false;
    last = h->v[--h->len];
    if (i == h->len)
        return true;
    if (i > 0 && heap_before(last, h->v[(i - 1) / 2]))
        heap_sift_up(h, i, last);
    else
        heap_sift_down(h, i, last);
    return true;
}

static void heap_fn(struct heap_timer *t)
{
    note_fired(t->expires);
}

/* ---- one run of each ----------------------------------------------------- */

enum { ARM, CANCEL, EXPIRE, NPHASES };

struct queue_side {
    struct pvt_timer *timers;
    uint64_t counter; /* what the clocksource reads, in ns */
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
    struct pvt_timer_queue q;
};

struct heap_side {
    struct heap_timer *timers;
    struct heap h;
};

static uint64_t counter_read(struct pvt_clocksource *cs)
{
    return *(const uint64_t *)cs->priv;
}

static void queue_fn(struct pvt_timer *t)
{
    note_fired(t->expires);
}

/* One run on the queue: ns per op in ns[]; 0, or -1 if it misbehaved. */
static int queue_run(struct queue_side *s, const struct workload *w,
                     double ns[NPHASES])
{
    struct pvt_timer *t = s->timers;
    uint64_t t0, cancel_ns = 0;
    size_t i, b;
    int rc = 0, cancelled = 0, ran;

    /* a fresh clock at 0 and an empty queue */
    s->counter = 0;
    if (pvt_timekeeper_init(&s->tk, &s->cs, 0) || pvt_tq_init(&s->q, &s->tk))
        return -1;
    fired_reset();

    t0 = mono_ns();
    for (i = 0; i < w->n; i++)
        rc |= pvt_tq_arm(&s->q, &t[i], w->deadline[i]);
    ns[ARM] = (double)(mono_ns() - t0) / (double)w->n;

    rc |= pvt_tq_cancel(&s->q, &t[w->earliest]) != 1;
    rc |= pvt_tq_arm(&s->q, &t[w->earliest], w->deadline[w->earliest]);
    for (b = 0; b < w->ncancel; b += w->batch) {
        t0 = mono_ns();
        for (i = b; i < b + w->batch; i++)
            cancelled += pvt_tq_cancel(&s->q, &t[w->pick[i]]);
        cancel_ns += mono_ns() - t0;
        for (i = b; i < b + w->batch; i++)
            rc |= pvt_tq_arm(&s->q, &t[w->pick[i]], w->deadline[w->pick[i]]);
    }
    ns[CANCEL] = (double)cancel_ns / (double)w->ncancel;

    s->counter = EXPIRE_TIME_NS;
    t0 = mono_ns();
    ran = pvt_tq_run_expired(&s->q);
    ns[EXPIRE] = (double)(mono_ns() - t0) / (double)w->n;

    if (rc || (size_t)cancelled != w->ncancel || ran < 0 ||
        (size_t)ran != w->n || fired != w->n || disorder ||
        pvt_ladder_count(&s->q.ladder) != 0)
        return -1;
    return 0;
}

/* One run on the baseline, the same steps. */
static int heap_run(struct heap_side *s, const struct workload *w,
                    double ns[NPHASES])
{
    struct heap_timer *t = s->timers, *e;
    struct heap *h = &s->h;
    const int64_t now = EXPIRE_TIME_NS;
    uint64_t t0, cancel_ns = 0;
    size_t i, b, cancelled = 0;
    int rc = 0;

    h->len = 0;
    h->next_seq = 0;
    fired_reset();

    t0 = mono_ns();
    for (i = 0; i < w->n; i++)
        heap_arm(h, &t[i], w->deadline[i]);
    ns[ARM] = (double)(mono_ns() - t0) / (double)w->n;

    rc |= !heap_cancel(h, &t[w->earliest]);
    heap_arm(h, &t[w->earliest], w->deadline[w->earliest]);
    for (b = 0; b < w->ncancel; b += w->batch) {
        t0 = mono_ns();
        for (i = b; i < b + w->batch; i++)
            cancelled += heap_cancel(h, &t[w->pick[i]]);
        cancel_ns += mono_ns() - t0;
        for (i = b; i < b + w->batch; i++)
            heap_arm(h, &t[w->pick[i]], w->deadline[w->pick[i]]);
    }
    ns[CANCEL] = (double)cancel_ns / (double)w->ncancel;

    t0 = mono_ns();
    while (h->len && h->v[0]->expires <= now) {
        e = heap_pop(h);
        e->fn(e);
    }
    ns[EXPIRE] = (double)(mono_ns() - t0) / (double)w->n;

    if (rc || cancelled != w->ncancel || fired != w->n || disorder || h->len)
        return -1;
    return 0;
}

/* ---- one size ------------------------------------------------------------ */

struct row {
    size_t timers;
    double queue[NPHASES], heap[NPHASES];
    size_t cancels;
    unsigned int runs;
};

static void keep_best(double best[NPHASES], const double ns[NPHASES])
{
    int p;

    for (p = 0; p < NPHASES; p++)
        if (ns[p] < best[p])
            best[p] = ns[p];
}

/* Returns 0, -1 (out of memory) or -2 (a queue misbehaved). */
static int measure(size_t n, struct row *row)
{
    struct workload w;
    struct queue_side qs;
    struct heap_side hs;
    double ns[NPHASES];
    unsigned int r, runs;
    size_t i;
    int rc = -1, p;

    memset(&qs, 0, sizeof(qs));
    memset(&hs, 0, sizeof(hs));
    if (workload_init(&w, n))
        return -1;
    qs.timers = malloc(n * sizeof(*qs.timers));
    hs.timers = malloc(n * sizeof(*hs.timers));
    hs.h.v = malloc(n * sizeof(*hs.h.v));
    if (!qs.timers || !hs.timers || !hs.h.v)
        goto out;
    hs.h.cap = n;
    qs.cs = (struct pvt_clocksource){
        .name = "bench-counter",
        .read = counter_read,
        .priv = &qs.counter,
        .mask = UINT64_MAX,
        .mult = 1,
        .shift = 0,
        .rating = 1,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    rc = -2;
    if (pvt_clocksource_init(&qs.cs))
        goto out;
    for (i = 0; i < n; i++) {
        if (pvt_timer_init(&qs.timers[i], queue_fn, NULL))
            goto out;
        hs.timers[i] = (struct heap_timer){.fn = heap_fn};
    }

    runs = RUN_BUDGET / n;
    runs = runs < MIN_RUNS ? MIN_RUNS : runs > MAX_RUNS ? MAX_RUNS : runs;
    *row = (struct row){.timers = n, .cancels = w.ncancel, .runs = runs};
    for (p = 0; p < NPHASES; p++)
        row->queue[p] = row->heap[p] = 1e300;
    /* run 0 warms up (page faults, caches) and is not kept */
    for (r = 0; r <= runs; r++) {
        if (queue_run(&qs, &w, ns))
            goto out;
        if (r)
            keep_best(row->queue, ns);
        if (heap_run(&hs, &w, ns))
            goto out;
        if (r)
            keep_best(row->heap, ns);
    }
    rc = 0;
out:
    free(hs.h.v);
    free(hs.timers);
    free(qs.timers);
    workload_free(&w);
    return rc;
}

/* ---- output -------------------------------------------------------------- */

static void print_header(size_t max)
{
    printf("pvtimer bench queue: ns per operation, best of `runs` runs, "
           "up to %zu timers\n"
           "queue = pvt_tq (pairing heap); heap = binary min-heap of "
           "pointers,\ncancel by search; q/h = queue / heap (below 1: the "
           "queue is faster)\n\n",
           max);
    printf("%9s | %8s %8s %6s | %8s %10s %8s | %8s %8s %6s |\n", "", "arm", "",
           "", "cancel", "", "", "expire", "", "");
    printf("%9s | %8s %8s %6s | %8s %10s %8s | %8s %8s %6s | %4s\n", "timers",
           "queue", "heap", "q/h", "queue", "heap", "q/h", "queue", "heap",
           "q/h", "runs");
}

static void print_row(const struct row *r)
{
    printf("%9zu | %8.1f %8.1f %6.2f | %8.1f %10.1f %8.4f | %8.1f %8.1f "
           "%6.2f | %4u\n",
           r->timers, r->queue[ARM], r->heap[ARM], r->queue[ARM] / r->heap[ARM],
           r->queue[CANCEL], r->heap[CANCEL],
           r->queue[CANCEL] / r->heap[CANCEL], r->queue[EXPIRE],
           r->heap[EXPIRE], r->queue[EXPIRE] / r->heap[EXPIRE], r->runs);
    fflush(stdout);
}

static void print_json(const struct row *rows, size_t nrows)
{
    const struct row *r;
    size_t i;

    printf("{\"benchmark\": \"queue\", \"rows\": [");
    for (i = 0; i < nrows; i++) {
        r = &rows[i];
        printf("%s{\"timers\": %zu, \"arm_ns\": %.2f, \"cancel_ns\": %.2f, "
               "\"expire_ns\": %.2f, \"baseline_arm_ns\": %.2f, "
               "\"baseline_cancel_ns\": %.2f, \"baseline_expire_ns\": %.2f, "
               "\"arm_ratio\": %.4f, \"cancel_ratio\": %.6f, "
               "\"expire_ratio\": %.4f, \"cancels\": %zu, \"runs\": %u}",
               i ? ", " : "", r->timers, r->queue[ARM], r->queue[CANCEL],
               r->queue[EXPIRE], r->heap[ARM], r->heap[CANCEL], r->heap[EXPIRE],
               r->queue[ARM] / r->heap[ARM], r->queue[CANCEL] / r->heap[CANCEL],
               r->queue[EXPIRE] / r->heap[EXPIRE], r->cancels, r->runs);
    }
    printf("]}\n");
}

int pvt_bench_queue(int argc, char **argv)
{
    struct row rows[8];
    size_t max, n, nrows = 0;
    unsigned long lmax = DEFAULT_MAX;
    bool json = false;
    char about[512];
    const struct pvt_option opts[] = {
        PVT_OPT_JSON(&json),
        PVT_OPT_RANGE("--max", PVT_OPT_COUNT, &lmax, "N",
                      "the most live timers measured", MIN_TIMERS, LIMIT_MAX),
    };
    const struct pvt_command_spec spec =
        PVT_COMMAND_SPEC("bench queue", about, opts);
    int rc;

    snprintf(about, sizeof(about),
             "usage: pvtimer bench queue [--json] [--max N]\n\n"
             "ns per arm, cancel and expire of the timer queue (pvt_tq, a "
             "pairing heap)\nat 10^3, 10^4, ... live timers up to N "
             "(default %u; %u .. %u),\nbeside a plain binary min-heap "
             "measured in the same process on the same\nworkload: "
             "deadlines log-uniform over 10 us .. 4 s, %u random cancels per "
             "run\n(the heap has to search for each), then expiry of every "
             "timer at once.",
             DEFAULT_MAX, MIN_TIMERS, LIMIT_MAX, CANCELS);
    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    max = (size_t)lmax;

    if (!json)
        print_header(max);
    for (n = MIN_TIMERS; n <= max && nrows < PVT_ARRAY_SIZE(rows); n *= 10) {
        rc = measure(n, &rows[nrows]);
        if (rc) {
            fprintf(stderr, "pvtimer bench queue: %s at %zu timers\n",
                    rc == -1 ? "out of memory"
                             : "a queue lost or misordered timers",
                    n);
            return 1;
        }
        if (!json)
            print_row(&rows[nrows]);
        nrows++;
    }
    if (json)
        print_json(rows, nrows);
    return 0;
}
