/*
 * The ladder alone (no clock, no device): input validation, the memory
 * figures ladder.h documents, and the order of everything that comes out
 * against a reference kept here independently: an array of (key, seq, id)
 * sorted by insertion (an entry goes after every entry with a key <= its
 * own, since its seq is the largest yet), from which removal is a search.
 * Workloads are run with 1 rung (no spawning, no demotion possible) and
 * with many, and must give the same order; deterministic set-ups drive
 * the spawn and demotion paths and put nodes in every place (heap root,
 * inside the heap, a bucket of rung 0 and of a deeper rung, the top list)
 * to remove them from there.
 */
#include "pvtimer/ladder.h"
#include "rng.h"
#include "runner/test.h"

#define LT_NODES     1000
#define LT_MAX_RUNGS 16

struct item {
    struct pvt_ladder_node node;
    unsigned int id;
};

struct rent {
    int64_t key;
    uint64_t seq;
    unsigned int id;
};

/* A ladder and its reference. */
struct lt {
    struct pvt_ladder l;
    struct item it[LT_NODES];
    struct rent ref[LT_NODES]; /* the queued items, in (key, seq) order */
    unsigned int nref;
    uint64_t seq;       /* inserts so far: the next item's seq */
    uint64_t pops;      /* items popped */
    uint64_t pop_hash;  /* of the ids and keys popped, in order */
    unsigned int depth; /* the most rungs in use at once */
};

static struct lt lt_state;
static struct pvt_ladder_rung lt_rungs[LT_MAX_RUNGS];

static struct lt *lt_init(unsigned int nrungs)
{
    struct lt *t = &lt_state;
    unsigned int i;

    ASSERT_OK(pvt_ladder_init(&t->l, lt_rungs, nrungs));
    for (i = 0; i < LT_NODES; i++) {
        ASSERT_OK(pvt_ladder_node_init(&t->it[i].node));
        t->it[i].id = i;
    }
    t->nref = 0;
    t->seq = t->pops = t->depth = 0;
    t->pop_hash = 0xcbf29ce484222325ull;
    return t;
}

static void lt_check(struct lt *t)
{
    ASSERT_UEQ(pvt_ladder_count(&t->l), t->nref);
    if (t->nref)
        ASSERT_PTR_EQ(pvt_ladder_first(&t->l), &t->it[t->ref[0].id].node);
    else
        ASSERT_NULL(pvt_ladder_first(&t->l));
    if (t->l.nrungs > t->depth)
        t->depth = t->l.nrungs;
}

static void lt_insert(struct lt *t, unsigned int id, int64_t key)
{
    struct pvt_ladder_node *n = &t->it[id].node;
    unsigned int i;

    ASSERT_OK(pvt_ladder_insert(&t->l, n, key));
    ASSERT(pvt_ladder_node_queued(n));
    ASSERT_EQ(n->key, key);
    ASSERT_UEQ(n->seq, t->seq);
    for (i = t->nref; i > 0 && t->ref[i - 1].key > key; i--)
        t->ref[i] = t->ref[i - 1];
    t->ref[i] = (struct rent){.key = key, .seq = t->seq, .id = id};
    t->nref++;
    t->seq++;
}

static void ref_drop(struct lt *t, unsigned int i)
{
    for (t->nref--; i < t->nref; i++)
        t->ref[i] = t->ref[i + 1];
}

static void lt_remove(struct lt *t, unsigned int id)
{
    struct pvt_ladder_node *n = &t->it[id].node;
    int64_t key = n->key;
    uint64_t seq = n->seq;
    unsigned int i;

    ASSERT_OK(pvt_ladder_remove(&t->l, n));
    ASSERT_FALSE(pvt_ladder_node_queued(n));
    ASSERT_EQ(n->key, key);
    ASSERT_UEQ(n->seq, seq);
    for (i = 0; i < t->nref && t->ref[i].id != id; i++)
        ;
    ASSERT_ULT(i, t->nref);
    ref_drop(t, i);
}

/* Pop the first: the reference's first. Returns its id. */
static unsigned int lt_pop(struct lt *t)
{
    struct pvt_ladder_node *n = pvt_ladder_pop(&t->l);
    unsigned int id;

    ASSERT_UGT(t->nref, 0);
    id = t->ref[0].id;
    ASSERT_PTR_EQ(n, &t->it[id].node);
    ASSERT_PTR_EQ(PVT_LADDER_ENTRY(n, struct item, node), &t->it[id]);
    ASSERT_FALSE(pvt_ladder_node_queued(n));
    ASSERT_EQ(n->key, t->ref[0].key);
    ASSERT_UEQ(n->seq, t->ref[0].seq);
    ref_drop(t, 0);
    t->pops++;
    t->pop_hash = (t->pop_hash ^ id ^ (uint64_t)n->key) * 0x100000001b3ull;
    return id;
}

/* Pop everything, checking each against the reference. */
static void lt_drain(struct lt *t)
{
    while (t->nref) {
        lt_pop(t);
        if (t->nref % 64 == 0)
            lt_check(t);
    }
    ASSERT_NULL(pvt_ladder_pop(&t->l));
    lt_check(t);
}

/* ---- validation ------------------------------------------------------- */

TEST_IMPL(ladder_errors)
{
    static struct pvt_ladder l, other;
    static struct pvt_ladder_rung r[2], ro[4];
    struct pvt_ladder_node a = {0}, b = {0}, c = {0}, far = {0};

    ASSERT_ERR(pvt_ladder_init(NULL, r, 2), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_init(&l, NULL, 2), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_init(&l, r, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_init(&l, r, PVT_LADDER_MAX_RUNGS + 1), PVT_EINVAL);
    ASSERT_OK(pvt_ladder_init(&l, r, 2));
    ASSERT_OK(pvt_ladder_init(&other, ro, 4));
    ASSERT_UEQ(pvt_ladder_count(&l), 0);
    ASSERT_NULL(pvt_ladder_first(&l));
    ASSERT_NULL(pvt_ladder_pop(&l));

    /* NULLs */
    ASSERT_ERR(pvt_ladder_node_init(NULL), PVT_EINVAL);
    ASSERT_FALSE(pvt_ladder_node_queued(NULL));
    ASSERT_FALSE(pvt_ladder_node_queued(&a));
    ASSERT_ERR(pvt_ladder_insert(NULL, &a, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_insert(&l, NULL, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_remove(NULL, &a), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_remove(&l, NULL), PVT_EINVAL);
    ASSERT_NULL(pvt_ladder_first(NULL));
    ASSERT_NULL(pvt_ladder_pop(NULL));
    ASSERT_UEQ(pvt_ladder_count(NULL), 0);

    /* nodes of another container, where l cannot hold them: its empty
     * heap and top list, a rung it does not use */
    ASSERT_OK(pvt_ladder_insert(&other, &b, 10));          /* other's first */
    ASSERT_OK(pvt_ladder_insert(&other, &far, INT64_MAX)); /* other's top */
    ASSERT_UEQ(far.where, PVT_LADDER_IN_TOP);
    ASSERT_OK(pvt_ladder_insert(&other, &c, 11)); /* other's rung 0 */
    ASSERT_UGE(c.where, PVT_LADDER_IN_RUNG);
    ASSERT_ERR(pvt_ladder_remove(&l, &b), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_remove(&l, &far), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_remove(&l, &c), PVT_EINVAL);

    /* a node in no container cannot be removed; one in a container cannot
     * be inserted again, here or elsewhere */
    ASSERT_ERR(pvt_ladder_remove(&l, &a), PVT_ENOENT);
    ASSERT_OK(pvt_ladder_insert(&l, &a, 5));
    ASSERT_ERR(pvt_ladder_insert(&l, &a, 6), PVT_EBUSY);
    ASSERT_ERR(pvt_ladder_insert(&other, &a, 6), PVT_EBUSY);
    ASSERT_EQ(a.key, 5);
    ASSERT_UEQ(pvt_ladder_count(&l), 1);
    ASSERT_UEQ(pvt_ladder_count(&other), 3);
    /* l's heap holds a, not other's first; l's top list is still empty */
    ASSERT_ERR(pvt_ladder_remove(&l, &b), PVT_EINVAL);
    ASSERT_ERR(pvt_ladder_remove(&l, &far), PVT_EINVAL);
    ASSERT_OK(pvt_ladder_remove(&l, &a));
    ASSERT_UEQ(pvt_ladder_count(&l), 0);
    ASSERT_UEQ(pvt_ladder_count(&other), 3);
    ASSERT_PTR_EQ(pvt_ladder_first(&other), &b);

    /* a removed node keeps its key and seq and may go in again */
    ASSERT_OK(pvt_ladder_remove(&other, &b));
    ASSERT_EQ(b.key, 10);
    ASSERT_UEQ(b.seq, 0);
    ASSERT_OK(pvt_ladder_insert(&l, &b, -7));
    ASSERT_UEQ(b.seq, 1); /* l's second insert */
    ASSERT_PTR_EQ(pvt_ladder_pop(&l), &b);
    ASSERT_PTR_EQ(pvt_ladder_pop(&other), &c);
    ASSERT_PTR_EQ(pvt_ladder_pop(&other), &far);
    ASSERT_NULL(pvt_ladder_pop(&other));

    /* node_init forgets a (stale) place */
    far.where = 12345;
    ASSERT(pvt_ladder_node_queued(&far));
    ASSERT_OK(pvt_ladder_node_init(&far));
    ASSERT_FALSE(pvt_ladder_node_queued(&far));
    RETURN_OK();
}

/* ---- memory ------------------------------------------------------------- */

/* The figures ladder.h gives, restated from its text. */
TEST_IMPL(ladder_memory)
{
    const size_t rung =
        24 + PVT_LADDER_BUCKETS / 8 +
        PVT_LADDER_BUCKETS * (PVT_LADDER_CHAINS * sizeof(void *) + 4);

    ASSERT_UEQ(sizeof(struct pvt_ladder_rung), rung);
    if (sizeof(void *) == 8) {
        ASSERT_UEQ(sizeof(struct pvt_ladder_rung), 9272);
        ASSERT_UEQ(sizeof(struct pvt_ladder), 120 + 64 * (8 + 2));
        ASSERT_UEQ(sizeof(struct pvt_ladder_node), 48);
        ASSERT_UEQ(sizeof(struct pvt_ladder) +
                       8 * sizeof(struct pvt_ladder_rung),
                   74936);
    } else if (sizeof(void *) == 4) {
        ASSERT_UEQ(sizeof(struct pvt_ladder_rung), 5176);
    }
    RETURN_OK();
}

/* ---- random workloads against the reference ---------------------------- */

/* A key: relative to now (near, far, past, crowded on one value, at the
 * end of time) or, for `anywhere`, also from the whole int64_t range. */
static int64_t lt_key(struct rng *r, int64_t now, bool anywhere)
{
    uint64_t k = rng_next(r) % 100;

    if (anywhere && k < 15)
        return (int64_t)rng_next(r);
    if (anywhere && k < 20)
        return INT64_MIN + (int64_t)(rng_next(r) % 3);
    if (k < 40) /* log-uniform, up to 2^40 ahead */
        return pvt_add_sat_s64(
            now, (int64_t)(rng_next(r) & ((1ull << (rng_next(r) % 41)) - 1)));
    if (k < 55)
        return pvt_add_sat_s64(now, 777777);
    if (k < 65)
        return pvt_add_sat_s64(now, -(int64_t)(rng_next(r) % 1000));
    if (k < 70)
        return INT64_MAX - (int64_t)(rng_next(r) % 3);
    return pvt_add_sat_s64(now, (int64_t)(rng_next(r) % 5000000));
}

#define LT_OPS 20000

/*
 * Fill (the first key far ahead, so that what follows lands below it, in
 * the heap, until that is demoted), then insert, re-insert, remove, and
 * move `now` on popping what is due, checking every pop.
 */
static void lt_workload(struct lt *t, uint64_t seed, bool anywhere)
{
    struct rng r;
    int64_t now = anywhere ? -((int64_t)1 << 50) : 0;
    unsigned int i, id, op;

    rng_seed(&r, seed);
    for (i = 0; i < LT_NODES; i++)
        lt_insert(t, i, i == 0 ? (int64_t)1 << 41 : lt_key(&r, now, anywhere));
    lt_check(t);
    for (op = 0; op < LT_OPS; op++) {
        uint64_t k = rng_next(&r) % 100;

        id = (unsigned int)(rng_next(&r) % LT_NODES);
        if (k < 60) {
            if (pvt_ladder_node_queued(&t->it[id].node))
                lt_remove(t, id);
            lt_insert(t, id, lt_key(&r, now, anywhere));
        } else if (k < 80) {
            if (pvt_ladder_node_queued(&t->it[id].node))
                lt_remove(t, id);
        } else {
            uint64_t bits = rng_next(&r), width = rng_next(&r) % 28;
            now = pvt_add_sat_s64(now, (int64_t)(bits & ((1ull << width) - 1)));
            while (t->nref && t->ref[0].key <= now)
                lt_pop(t);
            ASSERT(!t->nref || pvt_ladder_first(&t->l)->key > now);
        }
        if (op % 64 == 0 || k >= 80)
            lt_check(t);
    }
    lt_drain(t);
}

/* One workload on 1, 2, 8 and 16 rungs: every pop as the reference says,
 * so the same sequence; the deeper ladders really used their rungs. */
static void lt_rung_counts(uint64_t seed, bool anywhere)
{
    static const unsigned int counts[] = {1, 2, 8, LT_MAX_RUNGS};
    uint64_t hash = 0, pops = 0;
    unsigned int c;

    for (c = 0; c < PVT_ARRAY_SIZE(counts); c++) {
        struct lt *t = lt_init(counts[c]);

        lt_workload(t, seed, anywhere);
        pvt_test_printf("%u rungs: %llu pops, rungs spawned %llu, heap "
                        "demotions %llu, deepest %u\n",
                        counts[c], (unsigned long long)t->pops,
                        (unsigned long long)t->l.stats.rungs_spawned,
                        (unsigned long long)t->l.stats.heap_demotions,
                        t->depth);
        ASSERT_ULE(t->depth, counts[c]);
        if (counts[c] == 1) {
            ASSERT_UEQ(t->l.stats.rungs_spawned, 0);
            ASSERT_UEQ(t->l.stats.heap_demotions, 0);
            hash = t->pop_hash;
            pops = t->pops;
        } else {
            ASSERT_UEQ(t->pop_hash, hash);
            ASSERT_UEQ(t->pops, pops);
        }
        if (counts[c] >= 8) {
            ASSERT_UGT(t->l.stats.rungs_spawned, 0);
            ASSERT_UGT(t->l.stats.heap_demotions, 0);
            ASSERT_UGE(t->depth, 3);
        }
    }
}

TEST_IMPL(ladder_order_against_reference)
{
    lt_rung_counts(0x1add, false);
    RETURN_OK();
}

/* Keys from the whole int64_t range: distances near 2^64 */
TEST_IMPL(ladder_order_full_range)
{
    lt_rung_counts(0xf011, true);
    RETURN_OK();
}

/* ---- the paths, set up on purpose ------------------------------------- */

#define SPAWN_CLUSTER 300
#define SPAWN_FAR     200
#define SPAWN_TOP     50
#define SPAWN_LOW     20

/*
 * 1 node at 0 (it becomes the first, on a rung 0 of 1 ns buckets from 0);
 * SPAWN_CLUSTER nodes in [1000, 1000 + 4096) and SPAWN_FAR in [10^6,
 * 10^6 + 2^20), all past that rung: the top list. Popping the first drains
 * rung 0 and spreads the top list over a new rung 0 of 8192 ns buckets
 * (its span, about 2^21, over 256), whose first bucket holds the whole
 * cluster: more than PVT_LADDER_BUCKET_MAX, so it is spread over a rung 1
 * as many times finer as gives about 128 nodes a bucket (ladder.h): 300 /
 * 128 is 2.3, so 4 times (2^2), 2048 ns buckets, whose first (about half
 * the cluster) goes to the heap. Then SPAWN_TOP
 * nodes past rung 0 (the top list again) and SPAWN_LOW below rung 1 (the
 * heap). Returns the number of nodes queued.
 */
static unsigned int spawn_setup(struct lt *t)
{
    unsigned int i, id = 0;

    lt_insert(t, id++, 0);
    for (i = 0; i < SPAWN_CLUSTER; i++)
        lt_insert(t, id++, 1000 + (int64_t)((i * 37) % 4096));
    for (i = 0; i < SPAWN_FAR; i++)
        lt_insert(t, id++, 1000000 + (int64_t)((i * 5227) % (1 << 20)));
    ASSERT_EQ(lt_pop(t), 0);
    for (i = 0; i < SPAWN_TOP; i++)
        lt_insert(t, id++, 3000000 + (int64_t)(i % 7));
    for (i = 0; i < SPAWN_LOW; i++)
        lt_insert(t, id++, 900 + (int64_t)(i % 5));
    lt_check(t);
    return id;
}

TEST_IMPL(ladder_rung_spawn)
{
    struct lt *t = lt_init(8);
    uint64_t hash;

    spawn_setup(t);
    ASSERT_UEQ(t->l.stats.rungs_spawned, 1);
    ASSERT_UEQ(t->l.nrungs, 2);
    ASSERT_EQ(t->l.rung[0].lo, 1000);
    ASSERT_EQ(t->l.rung[0].shift, 13);
    ASSERT_EQ(t->l.rung[1].lo, 1000);
    ASSERT_EQ(t->l.rung[1].shift, 13 - 2);
    ASSERT_UEQ(t->l.rung[1].chains, 1);
    ASSERT_UEQ(t->l.rung[0].chains, PVT_LADDER_CHAINS);
    lt_drain(t);
    hash = t->pop_hash;

    /* with one rung, the cluster goes to the heap whole: the same order */
    t = lt_init(1);
    spawn_setup(t);
    ASSERT_UEQ(t->l.stats.rungs_spawned, 0);
    ASSERT_UEQ(t->l.nrungs, 1);
    ASSERT_UGE(t->l.heap_count, SPAWN_CLUSTER);
    lt_drain(t);
    ASSERT_UEQ(t->pop_hash, hash);
    RETURN_OK();
}

#define DEMOTE_LOW 600

/*
 * 1 node at 0, 1 at 10^9: popping the first leaves the other alone on a
 * rung 0 of 1 ns buckets from 10^9. DEMOTE_LOW nodes below it then go to
 * the heap until it holds PVT_LADDER_HEAP_MAX and a node later than its
 * first comes: the heap becomes rung 1, spanning [its first, 10^9 + 1).
 */
TEST_IMPL(ladder_heap_demotion)
{
    static const unsigned int nrungs[] = {8, 1};
    unsigned int c, i;
    uint64_t hash = 0;

    for (c = 0; c < PVT_ARRAY_SIZE(nrungs); c++) {
        struct lt *t = lt_init(nrungs[c]);
        unsigned int id = 0;

        lt_insert(t, id++, 0);
        lt_insert(t, id++, 1000000000);
        ASSERT_EQ(lt_pop(t), 0);
        ASSERT_UEQ(t->l.heap_count, 1);
        for (i = 0; i < DEMOTE_LOW; i++) {
            /* the first of them the lowest, the rest above it */
            lt_insert(t, id++, 100 + (int64_t)((i * 7919) % 99000));
            if (nrungs[c] > 1 && i + 2 <= PVT_LADDER_HEAP_MAX) {
                ASSERT_UEQ(t->l.heap_count, i + 2); /* with the one at 10^9 */
                ASSERT_UEQ(t->l.stats.heap_demotions, 0);
            }
        }
        if (nrungs[c] > 1) {
            ASSERT_UEQ(t->l.stats.heap_demotions, 1);
            ASSERT_EQ(t->l.rung[1].lo, 100);
            ASSERT_UGE(t->l.nrungs, 2);
        } else {
            ASSERT_UEQ(t->l.stats.heap_demotions, 0);
            ASSERT_UEQ(t->l.heap_count, DEMOTE_LOW + 1);
        }
        lt_check(t);
        lt_drain(t);
        if (c == 0)
            hash = t->pop_hash;
        else
            ASSERT_UEQ(t->pop_hash, hash);
    }
    RETURN_OK();
}

/* What kind of place a node is in. */
enum lt_place { AT_ROOT, IN_HEAP, IN_RUNG0, IN_DEEPER, IN_TOP, NPLACES };

static enum lt_place lt_place_of(const struct lt *t,
                                 const struct pvt_ladder_node *n)
{
    if (n == t->l.root)
        return AT_ROOT;
    if (n->where == PVT_LADDER_IN_HEAP)
        return IN_HEAP;
    if (n->where == PVT_LADDER_IN_TOP)
        return IN_TOP;
    return n->where - PVT_LADDER_IN_RUNG < PVT_LADDER_BUCKETS ? IN_RUNG0
                                                              : IN_DEEPER;
}

/* Remove each node in turn from a fresh copy of the spawn set-up (every
 * place is taken there); the rest still comes out in order. */
TEST_IMPL(ladder_remove_everywhere)
{
    unsigned int seen[NPLACES] = {0};
    unsigned int n, id, p;

    n = spawn_setup(lt_init(8));
    for (id = 1; id < n; id++) {
        struct lt *t = lt_init(8);

        spawn_setup(t);
        seen[lt_place_of(t, &t->it[id].node)]++;
        lt_remove(t, id);
        lt_check(t);
        lt_drain(t);
        ASSERT_UEQ(t->pops, n - 1); /* node 0, then all but id */
    }
    for (p = 0; p < NPLACES; p++)
        ASSERT_UGT(seen[p], 0);
    ASSERT_UEQ(seen[IN_TOP], SPAWN_TOP);
    ASSERT_UEQ(seen[IN_RUNG0], SPAWN_FAR);
    RETURN_OK();
}

/* ---- a long top list, spread over a rung above rung 0 ------------------ */

#define TS_NODES 3000
#define TS_RUNGS 8

static struct pvt_ladder_node ts_node[TS_NODES];
static bool ts_removed[TS_NODES];
static struct pvt_ladder_rung ts_rungs[TS_RUNGS];

/* Node i's key: from 1000 on, over about 10^6, every value taken by 3
 * nodes (equal keys come out in insertion order). */
static int64_t ts_key(unsigned int i)
{
    return 1000 + (int64_t)(((i / 3) * 7919u) % 1000000u);
}

/*
 * 1 node at 0: it becomes the first, on a rung 0 of 1 ns buckets from 0,
 * which hands that bucket on: the top list starts at 256. The next
 * PVT_LADDER_TOP_MAX nodes go to the top list, the last of them spreads it
 * over a new rung above rung 0, in the storage's last slot (the rungs in
 * use are a ring), from 256 on; the rest go straight into its buckets.
 * Every third node is then removed (heads and middles of a bucket's
 * chains), and the rest must come out in (key, seq) order, each once.
 */
TEST_IMPL(ladder_top_spread)
{
    struct pvt_ladder l;
    struct pvt_ladder_node *n, *prev = NULL;
    unsigned int i, left = 0, pass;

    for (pass = 0; pass < 2; pass++) {
        ASSERT_OK(pvt_ladder_init(&l, ts_rungs, TS_RUNGS));
        for (i = 0; i < TS_NODES; i++) {
            ASSERT_OK(pvt_ladder_node_init(&ts_node[i]));
            ts_removed[i] = false;
        }
        ASSERT_OK(pvt_ladder_insert(&l, &ts_node[0], 0));
        ASSERT_UEQ(l.nrungs, 1);
        ASSERT_EQ(l.top_start, 256);
        for (i = 1; i < TS_NODES; i++) {
            ASSERT_OK(pvt_ladder_insert(&l, &ts_node[i], ts_key(i)));
            if (i < PVT_LADDER_TOP_MAX) {
                ASSERT_UEQ(ts_node[i].where, PVT_LADDER_IN_TOP);
                ASSERT_UEQ(l.stats.top_spreads, 0);
            }
        }
        ASSERT_UEQ(l.stats.top_spreads, 1);
        ASSERT_UEQ(l.top_count, 0);
        ASSERT_UEQ(l.nrungs, 2);
        ASSERT_UEQ(l.base, TS_RUNGS - 1);
        ASSERT_EQ(l.rung[TS_RUNGS - 1].lo, 256);
        /* every node but the first in a bucket of that rung */
        for (i = 1; i < TS_NODES; i++)
            ASSERT_UEQ((ts_node[i].where - PVT_LADDER_IN_RUNG) /
                           PVT_LADDER_BUCKETS,
                       TS_RUNGS - 1);
        ASSERT_UEQ(pvt_ladder_count(&l), TS_NODES);

        /* remove every third (the first pass from the front, the second
         * from the back: other heads and tails of the chains) */
        left = TS_NODES;
        for (i = 0; i < TS_NODES; i++) {
            unsigned int id = pass ? TS_NODES - 1 - i : i;
            if (id % 3 == 1) {
                ASSERT_OK(pvt_ladder_remove(&l, &ts_node[id]));
                ts_removed[id] = true;
                left--;
            }
        }
        ASSERT_UEQ(pvt_ladder_count(&l), left);

        prev = NULL;
        for (i = 0; i < left; i++) {
            unsigned int id;
            n = pvt_ladder_pop(&l);
            ASSERT_NOT_NULL(n);
            id = (unsigned int)(n - ts_node);
            ASSERT_ULT(id, TS_NODES);
            ASSERT_FALSE(ts_removed[id]);
            ts_removed[id] = true; /* popped: not again */
            ASSERT_EQ(n->key, id ? ts_key(id) : 0);
            if (prev)
                ASSERT(prev->key < n->key ||
                       (prev->key == n->key && prev->seq < n->seq));
            prev = n;
        }
        ASSERT_NULL(pvt_ladder_pop(&l));
        ASSERT_UEQ(pvt_ladder_count(&l), 0);
    }
    RETURN_OK();
}
