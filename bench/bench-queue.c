/*
 * `pvtimer bench queue`: the timer queue (pvt_tq over its ladder) against
 * the two references of the field, measured in the same process on the
 * same workload:
 *
 *   heap    a binary min-heap of intrusive pointer-linked nodes ordered as
 *           libuv orders its timers, by deadline then arming sequence
 *           (bench/ref-heap.c);
 *   rbtree  a red-black tree with a cached leftmost node, as Linux's
 *           hrtimers keep theirs (bench/ref-rbtree.c).
 *
 * Both are written for this benchmark from the published algorithms; each
 * timer embeds its container's node, as a user's struct would.
 *
 * The workload, for each size N (powers of ten from 10^3 to --max):
 *
 *   deadlines  N, from a seeded xorshift64*, uniform over 1 .. 1000 ms
 *              after the clock's start (the same for every structure);
 *   arm        arm the N timers into an empty container;
 *   cancel     cancel N / 2 of them, picked at random;
 *   expire     move the clock past every deadline and expire the N / 2
 *              left, in order (for the queue through its real expiry path,
 *              pvt_tq_run_expired() reading a timekeeper on a counter
 *              clocksource the benchmark sets; for the references, take
 *              the first while it is due, remove it, run its callback);
 *   churn      arm all N again, then advance the clock 1 ms at a time and
 *              expire what is due, every callback re-arming its own timer
 *              1 .. 1000 ms after the current time, until N callbacks have
 *              run (each is one expiry and one arm).
 *
 * Layout as users have it: every repetition allocates the timers afresh
 * and places workload timer i at a slot of a new random permutation, so
 * consecutive arms touch unrelated cache lines, and starts from a fresh
 * container; the three structures take turns leading a repetition. Every
 * structure must fire the same timers in the same order (a checksum over
 * the firing order, expiry and churn, is compared): the run fails
 * otherwise.
 *
 * Each figure is ns per operation, the median of the repetitions (5 unless
 * --runs says otherwise), timed with CLOCK_MONOTONIC around each phase.
 *
 * Each structure's expiry phase is a function of its own, never inlined
 * (queue_expire_phase, heap_expire_phase, rb_expire_phase), so that a
 * profiler can count that phase alone, e.g. valgrind's
 * --toggle-collect='rb_expire_phase*' (the compiler may clone it).
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
#include "ref-heap.h"
#include "ref-rbtree.h"

#define MIN_TIMERS   1000u
#define DEFAULT_MAX  1000000u
#define LIMIT_MAX    10000000u
#define DEFAULT_RUNS 5u
#define MAX_RUNS     99u
#define SPAN_MIN_NS  PVT_NSEC_PER_MSEC
#define SPAN_MAX_NS  (1000 * PVT_NSEC_PER_MSEC)
#define EXPIRE_AT_NS (SPAN_MAX_NS + PVT_NSEC_PER_MSEC) /* past every one */
#define CHURN_AT_NS  (2 * PVT_NSEC_PER_SEC)            /* churn's start */
#define CHURN_STEP   PVT_NSEC_PER_MSEC

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

/* Uniform in [0, n), n > 0 (the modulo bias is below n / 2^64). */
static size_t below(uint64_t *s, size_t n)
{
    return (size_t)(xorshift64s(s) % n);
}

/* A delay uniform over [SPAN_MIN_NS, SPAN_MAX_NS]. */
static int64_t span(uint64_t *s)
{
    return SPAN_MIN_NS +
           (int64_t)below(s, (size_t)(SPAN_MAX_NS - SPAN_MIN_NS + 1));
}

/* The first k steps of a Fisher-Yates shuffle of 0 .. n - 1 into v. */
static void shuffle(size_t *v, size_t n, size_t k, uint64_t *s)
{
    size_t i, j, tmp;

    for (i = 0; i < n; i++)
        v[i] = i;
    for (i = 0; i < k && i + 1 < n; i++) {
        j = i + below(s, n - i);
        tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
    }
}

struct workload {
    size_t n;
    int64_t *deadline; /* n: ns after the clock's start */
    size_t *cancel;    /* n (first n / 2 used): the timers cancelled */
    size_t *slot;      /* n: where timer i lives (new every repetition) */
    uint64_t churn_seed;
};

static void workload_free(struct workload *w)
{
    free(w->deadline);
    free(w->cancel);
    free(w->slot);
}

static int workload_init(struct workload *w, size_t n)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL ^ n;
    size_t i;

    memset(w, 0, sizeof(*w));
    w->n = n;
    w->deadline = malloc(n * sizeof(*w->deadline));
    w->cancel = malloc(n * sizeof(*w->cancel));
    w->slot = malloc(n * sizeof(*w->slot));
    if (!w->deadline || !w->cancel || !w->slot) {
        workload_free(w);
        return -1;
    }
    for (i = 0; i < n; i++)
        w->deadline[i] = span(&seed);
    shuffle(w->cancel, n, n / 2, &seed);
    w->churn_seed = xorshift64s(&seed) | 1;
    return 0;
}

/* ---- what the callbacks see (the same for every structure) --------------- */

static struct {
    uint64_t fired, disorder, hash;
    int64_t last; /* the deadline fired last */
    int64_t now;  /* the clock during churn, for the re-arms */
    uint64_t rng; /* the churn's delays */
} cb;

static void cb_reset(uint64_t churn_seed)
{
    memset(&cb, 0, sizeof(cb));
    cb.rng = churn_seed;
}

static void note_fired(size_t index, int64_t expires)
{
    if (expires < cb.last)
        cb.disorder++;
    cb.last = expires;
    cb.fired++;
    cb.hash = (cb.hash ^ index) * 0x100000001b3ULL;
}

enum { ARM, CANCEL, EXPIRE, CHURN, NPHASES };
enum { QUEUE, HEAP, RBTREE, NSTRUCTS };
static const char *const phase_name[NPHASES] = {"arm", "cancel", "expire",
                                                "churn"};

/* What one run measured. */
struct run {
    double ns[NPHASES];
    uint64_t hash, churned;
};

/* ---- the timer queue ------------------------------------------------------ */

static struct {
    struct pvt_timer_queue *q;
    uint64_t counter; /* what the clocksource reads, in ns */
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
} qside;

static uint64_t counter_read(struct pvt_clocksource *cs)
{
    return *(const uint64_t *)cs->priv;
}

static void queue_fn(struct pvt_timer *t)
{
    note_fired((size_t)(uintptr_t)t->data, t->expires);
}

static void queue_churn_fn(struct pvt_timer *t)
{
    note_fired((size_t)(uintptr_t)t->data, t->expires);
    (void)pvt_tq_arm(qside.q, t, cb.now + span(&cb.rng));
}

/* The expiry phase (see the top of the file). */
static __attribute__((noinline)) int queue_expire_phase(
    struct pvt_timer_queue *q)
{
    return pvt_tq_run_expired(q);
}

/* One run: 0, or -1 if something failed. */
static int queue_run(const struct workload *w, struct run *out)
{
    const size_t n = w->n, half = n / 2;
    struct pvt_timer *mem = malloc(n * sizeof(*mem));
    struct pvt_timer_queue *q = malloc(sizeof(*q));
    size_t i;
    uint64_t t0;
    int rc = 0, ran;

    if (!mem || !q) {
        free(mem);
        free(q);
        return -1;
    }
    qside.q = q;
    qside.counter = 0;
    rc |= pvt_timekeeper_init(&qside.tk, &qside.cs, 0);
    rc |= pvt_tq_init(q, &qside.tk);
    for (i = 0; i < n; i++)
        rc |= pvt_timer_init(&mem[w->slot[i]], queue_fn, (void *)(uintptr_t)i);
#define T(i) (&mem[w->slot[i]])

    t0 = mono_ns();
    for (i = 0; i < n; i++)
        rc |= pvt_tq_arm(q, T(i), w->deadline[i]);
    out->ns[ARM] = (double)(mono_ns() - t0) / (double)n;

    t0 = mono_ns();
    for (i = 0; i < half; i++)
        rc |= pvt_tq_cancel(q, T(w->cancel[i])) != 1;
    out->ns[CANCEL] = (double)(mono_ns() - t0) / (double)half;

    qside.counter = EXPIRE_AT_NS;
    t0 = mono_ns();
    ran = queue_expire_phase(q);
    out->ns[EXPIRE] = (double)(mono_ns() - t0) / (double)(n - half);
    rc |= ran < 0 || (size_t)ran != n - half || cb.disorder ||
          pvt_ladder_count(&q->ladder) != 0;

    for (i = 0; i < n; i++) {
        rc |= pvt_timer_init(T(i), queue_churn_fn, (void *)(uintptr_t)i);
        rc |= pvt_tq_arm(q, T(i), CHURN_AT_NS + w->deadline[i]);
    }
    cb.fired = 0;
    cb.now = qside.counter = CHURN_AT_NS;
    t0 = mono_ns();
    while (cb.fired < n) {
        cb.now += CHURN_STEP;
        qside.counter = (uint64_t)cb.now;
        rc |= pvt_tq_run_expired(q) < 0;
    }
    out->churned = cb.fired;
    out->ns[CHURN] = (double)(mono_ns() - t0) / (double)cb.fired;
    rc |= pvt_ladder_count(&q->ladder) != n;
#undef T
    out->hash = cb.hash;
    free(q);
    free(mem);
    return rc ? -1 : 0;
}

/* ---- the libuv-ordered heap ----------------------------------------------- */

struct heap_timer {
    struct ref_heap_node node;
    void (*fn)(struct heap_timer *t);
    void *data;
};

static struct ref_heap *heap_cur;

static struct heap_timer *heap_timer_of(struct ref_heap_node *n)
{
    return (struct heap_timer *)(void *)((char *)n -
                                         offsetof(struct heap_timer, node));
}

static void heap_fn(struct heap_timer *t)
{
    note_fired((size_t)(uintptr_t)t->data, t->node.key);
}

static void heap_churn_fn(struct heap_timer *t)
{
    note_fired((size_t)(uintptr_t)t->data, t->node.key);
    ref_heap_insert(heap_cur, &t->node, cb.now + span(&cb.rng));
}

/* libuv's run: the earliest while due, removed before its callback. */
static void heap_expire(struct ref_heap *h, int64_t now)
{
    struct ref_heap_node *n;

    while ((n = ref_heap_min(h)) != NULL && n->key <= now) {
        struct heap_timer *t = heap_timer_of(n);
        ref_heap_remove(h, n);
        t->fn(t);
    }
}

static __attribute__((noinline)) void heap_expire_phase(struct ref_heap *h,
                                                        int64_t now)
{
    heap_expire(h, now);
}

static int heap_run(const struct workload *w, struct run *out)
{
    const size_t n = w->n, half = n / 2;
    struct heap_timer *mem = malloc(n * sizeof(*mem));
    struct ref_heap *h = malloc(sizeof(*h));
    size_t i;
    uint64_t t0;
    int rc = 0;

    if (!mem || !h) {
        free(mem);
        free(h);
        return -1;
    }
    heap_cur = h;
    ref_heap_init(h);
    for (i = 0; i < n; i++)
        mem[w->slot[i]] =
            (struct heap_timer){.fn = heap_fn, .data = (void *)(uintptr_t)i};
#define T(i) (&mem[w->slot[i]])

    t0 = mono_ns();
    for (i = 0; i < n; i++)
        ref_heap_insert(h, &T(i)->node, w->deadline[i]);
    out->ns[ARM] = (double)(mono_ns() - t0) / (double)n;

    t0 = mono_ns();
    for (i = 0; i < half; i++)
        ref_heap_remove(h, &T(w->cancel[i])->node);
    out->ns[CANCEL] = (double)(mono_ns() - t0) / (double)half;

    t0 = mono_ns();
    heap_expire_phase(h, EXPIRE_AT_NS);
    out->ns[EXPIRE] = (double)(mono_ns() - t0) / (double)(n - half);
    rc |= cb.fired != n - half || cb.disorder || h->count != 0;

    for (i = 0; i < n; i++) {
        T(i)->fn = heap_churn_fn;
        ref_heap_insert(h, &T(i)->node, CHURN_AT_NS + w->deadline[i]);
    }
    cb.fired = 0;
    cb.now = CHURN_AT_NS;
    t0 = mono_ns();
    while (cb.fired < n) {
        cb.now += CHURN_STEP;
        heap_expire(h, cb.now);
    }
    out->churned = cb.fired;
    out->ns[CHURN] = (double)(mono_ns() - t0) / (double)cb.fired;
    rc |= h->count != n;
#undef T
    out->hash = cb.hash;
    free(h);
    free(mem);
    return rc ? -1 : 0;
}

/* ---- the rbtree with a cached leftmost ------------------------------------ */

struct rb_timer {
    struct ref_rb_node node;
    void (*fn)(struct rb_timer *t);
    void *data;
};

static struct ref_rbtree *rb_cur;

static struct rb_timer *rb_timer_of(struct ref_rb_node *n)
{
    return (struct rb_timer *)(void *)((char *)n -
                                       offsetof(struct rb_timer, node));
}

static void rb_fn(struct rb_timer *t)
{
    note_fired((size_t)(uintptr_t)t->data, t->node.key);
}

static void rb_churn_fn(struct rb_timer *t)
{
    note_fired((size_t)(uintptr_t)t->data, t->node.key);
    ref_rb_insert(rb_cur, &t->node, cb.now + span(&cb.rng));
}

/* hrtimer's run: the cached first while due, removed before its callback. */
static void rb_expire(struct ref_rbtree *r, int64_t now)
{
    struct ref_rb_node *n;

    while ((n = ref_rb_first(r)) != NULL && n->key <= now) {
        struct rb_timer *t = rb_timer_of(n);
        ref_rb_remove(r, n);
        t->fn(t);
    }
}

static __attribute__((noinline)) void rb_expire_phase(struct ref_rbtree *r,
                                                      int64_t now)
{
    rb_expire(r, now);
}

static int rb_run(const struct workload *w, struct run *out)
{
    const size_t n = w->n, half = n / 2;
    struct rb_timer *mem = malloc(n * sizeof(*mem));
    struct ref_rbtree *r = malloc(sizeof(*r));
    size_t i;
    uint64_t t0;
    int rc = 0;

    if (!mem || !r) {
        free(mem);
        free(r);
        return -1;
    }
    rb_cur = r;
    ref_rb_init(r);
    for (i = 0; i < n; i++)
        mem[w->slot[i]] =
            (struct rb_timer){.fn = rb_fn, .data = (void *)(uintptr_t)i};
#define T(i) (&mem[w->slot[i]])

    t0 = mono_ns();
    for (i = 0; i < n; i++)
        ref_rb_insert(r, &T(i)->node, w->deadline[i]);
    out->ns[ARM] = (double)(mono_ns() - t0) / (double)n;

    t0 = mono_ns();
    for (i = 0; i < half; i++)
        ref_rb_remove(r, &T(w->cancel[i])->node);
    out->ns[CANCEL] = (double)(mono_ns() - t0) / (double)half;

    t0 = mono_ns();
    rb_expire_phase(r, EXPIRE_AT_NS);
    out->ns[EXPIRE] = (double)(mono_ns() - t0) / (double)(n - half);
    rc |= cb.fired != n - half || cb.disorder || r->count != 0;

    for (i = 0; i < n; i++) {
        T(i)->fn = rb_churn_fn;
        ref_rb_insert(r, &T(i)->node, CHURN_AT_NS + w->deadline[i]);
    }
    cb.fired = 0;
    cb.now = CHURN_AT_NS;
    t0 = mono_ns();
    while (cb.fired < n) {
        cb.now += CHURN_STEP;
        rb_expire(r, cb.now);
    }
    out->churned = cb.fired;
    out->ns[CHURN] = (double)(mono_ns() - t0) / (double)cb.fired;
    rc |= r->count != n;
#undef T
    out->hash = cb.hash;
    free(r);
    free(mem);
    return rc ? -1 : 0;
}

/* ---- one size ------------------------------------------------------------ */

struct row {
    size_t timers;
    double ns[NSTRUCTS][NPHASES]; /* medians */
    uint64_t churned;
    unsigned int runs;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run_one(int s, const struct workload *w, struct run *out)
{
    cb_reset(w->churn_seed);
    switch (s) {
    case QUEUE:
        return queue_run(w, out);
    case HEAP:
        return heap_run(w, out);
    default:
        return rb_run(w, out);
    }
}

/* Returns 0, -1 (out of memory) or -2 (the structures disagreed). */
static int measure(size_t n, unsigned int runs, struct row *row)
{
    struct workload w;
    struct run res[NSTRUCTS];
    double *all = NULL;
    uint64_t seed = 0x5851f42d4c957f2dULL ^ n;
    unsigned int r, k;
    int s, p, rc = -1;

    if (workload_init(&w, n))
        return -1;
    all = malloc(sizeof(*all) * NSTRUCTS * NPHASES * runs);
    if (!all)
        goto out;
    qside.cs = (struct pvt_clocksource){
        .name = "bench-counter",
        .read = counter_read,
        .priv = &qside.counter,
        .mask = UINT64_MAX,
        .mult = 1,
        .shift = 0,
        .rating = 1,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    rc = -2;
    if (pvt_clocksource_init(&qside.cs))
        goto out;
    *row = (struct row){.timers = n, .runs = runs};
    /* below 10^6 timers a first, untimed repetition warms up */
    for (r = n < 1000000 ? 0 : 1; r <= runs; r++) {
        shuffle(w.slot, n, n, &seed);
        for (k = 0; k < NSTRUCTS; k++) {
            s = (int)((r + k) % NSTRUCTS);
            if (run_one(s, &w, &res[s])) {
                rc = -2;
                goto out;
            }
        }
        if (res[HEAP].hash != res[QUEUE].hash ||
            res[RBTREE].hash != res[QUEUE].hash ||
            res[HEAP].churned != res[QUEUE].churned ||
            res[RBTREE].churned != res[QUEUE].churned)
            goto out;
        row->churned = res[QUEUE].churned;
        if (r == 0)
            continue;
        for (s = 0; s < NSTRUCTS; s++)
            for (p = 0; p < NPHASES; p++)
                all[((size_t)s * NPHASES + (size_t)p) * runs + r - 1] =
                    res[s].ns[p];
    }
    for (s = 0; s < NSTRUCTS; s++) {
        for (p = 0; p < NPHASES; p++) {
            double *v = &all[((size_t)s * NPHASES + (size_t)p) * runs];
            qsort(v, runs, sizeof(*v), cmp_double);
            row->ns[s][p] =
                runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
        }
    }
    rc = 0;
out:
    free(all);
    workload_free(&w);
    return rc;
}

/* ---- output -------------------------------------------------------------- */

static void print_header(size_t max, unsigned int runs)
{
    printf("pvtimer bench queue: ns per operation, median of %u runs, up to "
           "%zu timers\n"
           "queue = pvt_tq (ladder); heap = binary min-heap ordered as "
           "libuv's timers;\nrbtree = red-black tree with a cached leftmost "
           "node, as Linux's hrtimers;\n/heap, /rb = queue / reference "
           "(below 1: the queue is faster)\n\n",
           runs, max);
    printf("%9s  %-7s %9s %9s %9s %7s %7s\n", "timers", "op", "queue", "heap",
           "rbtree", "/heap", "/rb");
}

static void print_row(const struct row *r)
{
    char timers[24];
    int p;

    snprintf(timers, sizeof(timers), "%zu", r->timers);
    for (p = 0; p < NPHASES; p++)
        printf("%9s  %-7s %9.1f %9.1f %9.1f %7.2f %7.2f\n", p ? "" : timers,
               phase_name[p], r->ns[QUEUE][p], r->ns[HEAP][p], r->ns[RBTREE][p],
               r->ns[QUEUE][p] / r->ns[HEAP][p],
               r->ns[QUEUE][p] / r->ns[RBTREE][p]);
    printf("%9s  (cancel: %zu, expire: %zu, churn: %llu callbacks)\n", "",
           r->timers / 2, r->timers - r->timers / 2,
           (unsigned long long)r->churned);
    fflush(stdout);
}

static void print_json(const struct row *rows, size_t nrows)
{
    const struct row *r;
    size_t i;
    int p;

    printf("{\"benchmark\": \"queue\", \"rows\": [");
    for (i = 0; i < nrows; i++) {
        r = &rows[i];
        printf("%s{\"timers\": %zu", i ? ", " : "", r->timers);
        for (p = 0; p < NPHASES; p++)
            printf(", \"%s_ns\": %.2f", phase_name[p], r->ns[QUEUE][p]);
        for (p = 0; p < NPHASES; p++)
            printf(", \"baseline_heap_%s_ns\": %.2f", phase_name[p],
                   r->ns[HEAP][p]);
        for (p = 0; p < NPHASES; p++)
            printf(", \"baseline_rbtree_%s_ns\": %.2f", phase_name[p],
                   r->ns[RBTREE][p]);
        for (p = 0; p < NPHASES; p++)
            printf(", \"%s_ratio_heap\": %.4f, \"%s_ratio_rbtree\": %.4f",
                   phase_name[p], r->ns[QUEUE][p] / r->ns[HEAP][p],
                   phase_name[p], r->ns[QUEUE][p] / r->ns[RBTREE][p]);
        printf(", \"cancels\": %zu, \"expiries\": %zu, \"churn_callbacks\": "
               "%llu, \"runs\": %u}",
               r->timers / 2, r->timers - r->timers / 2,
               (unsigned long long)r->churned, r->runs);
    }
    printf("]}\n");
}

int pvt_bench_queue(int argc, char **argv)
{
    struct row rows[8];
    size_t max, n, nrows = 0;
    unsigned long lmax = DEFAULT_MAX, lruns = DEFAULT_RUNS;
    bool json = false;
    char about[768];
    const struct pvt_option opts[] = {
        PVT_OPT_JSON(&json),
        PVT_OPT_RANGE("--max", PVT_OPT_COUNT, &lmax, "N",
                      "the most live timers measured", MIN_TIMERS, LIMIT_MAX),
        PVT_OPT_RANGE("--runs", PVT_OPT_COUNT, &lruns, "R",
                      "repetitions per size (the median is reported)", 1,
                      MAX_RUNS),
    };
    const struct pvt_command_spec spec =
        PVT_COMMAND_SPEC("bench queue", about, opts);
    int rc;

    snprintf(about, sizeof(about),
             "usage: pvtimer bench queue [--json] [--max N] [--runs R]\n\n"
             "ns per arm, cancel, expire and churn of the timer queue (pvt_tq)"
             "\nat 10^3, 10^4, ... live timers up to N (default %u; %u .. %u),"
             "\nbeside a binary min-heap ordered as libuv orders timers and a "
             "red-black\ntree with a cached leftmost node (Linux's hrtimers), "
             "in the same process\non the same workload: timers at shuffled "
             "addresses, deadlines uniform\nover 1 .. 1000 ms; arm N, cancel "
             "N/2, expire the rest in order, then churn\n(each callback "
             "re-arms its timer). Median of R runs (default %u), each on\n"
             "fresh timers and containers.",
             DEFAULT_MAX, MIN_TIMERS, LIMIT_MAX, DEFAULT_RUNS);
    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    max = (size_t)lmax;

    if (!json)
        print_header(max, (unsigned int)lruns);
    for (n = MIN_TIMERS; n <= max && nrows < PVT_ARRAY_SIZE(rows); n *= 10) {
        rc = measure(n, (unsigned int)lruns, &rows[nrows]);
        if (rc) {
            fprintf(stderr, "pvtimer bench queue: %s at %zu timers\n",
                    rc == -1 ? "out of memory"
                             : "the structures lost or misordered timers",
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
