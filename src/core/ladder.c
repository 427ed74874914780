/*
 * The ladder: unsorted buckets over a pairing heap of intrusive nodes (see
 * ladder.h).
 *
 * Heap links: `child` is the first child; siblings are a doubly linked
 * list through `next` and `prev`, where the first child's `prev` points to
 * its parent. The root has no prev and no next. In a bucket or the top
 * list, nodes are a doubly linked list through next/prev (child unused).
 *
 * Keys may be any int64_t: distances between keys are taken in uint64_t
 * (b - a, for a <= b, always fits there), never as a signed difference.
 */
#include "pvtimer/ladder.h"

#include "util.h"

/* b - a for a <= b, exactly. */
static uint64_t distance(int64_t a, int64_t b)
{
    return (uint64_t)b - (uint64_t)a;
}

/* ---- the pairing heap ------------------------------------------------- */

/* Lists up to this long are sorted by insertion, longer ones by merging. */
#define SORT_SHORT_MAX 32

/* A bucket handed to the heap is first split by key into up to
 * PVT_LADDER_LOAD_PARTS parts of about LOAD_FILL nodes (when its keys are
 * spread evenly), each then sorted by insertion: so it is sorted in O(1) a
 * node, without a rung. (PVT_LADDER_BUCKET_MAX is LOAD_PARTS * LOAD_FILL.)
 */
#define LOAD_PARTS PVT_LADDER_LOAD_PARTS
#define LOAD_FILL  4
_Static_assert(PVT_LADDER_BUCKET_MAX == LOAD_PARTS * LOAD_FILL,
               "a bucket the heap takes whole fits its parts");
_Static_assert((LOAD_PARTS & (LOAD_PARTS - 1)) == 0,
               "the parts a bucket is split in are a power of two");
_Static_assert(LOAD_PARTS * LOAD_FILL <= UINT16_MAX,
               "a part's size fits part_size");

/* A bigger bucket is spread over a finer rung whose buckets hold about
 * this many of its nodes each; with one chain a bucket when it has at most
 * SPREAD_CACHED nodes (they stay in cache until handed on: 80 KB of
 * 80-byte timers), else with PVT_LADDER_CHAINS. */
#define SPREAD_FILL   128
#define SPREAD_CACHED 1024

static bool before(const struct pvt_ladder_node *a,
                   const struct pvt_ladder_node *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

/* Merge two heap roots (both without siblings); returns the new root. */
static struct pvt_ladder_node *link(struct pvt_ladder_node *a,
                                    struct pvt_ladder_node *b)
{
    struct pvt_ladder_node *t;

    if (before(b, a)) {
        t = a;
        a = b;
        b = t;
    }
    /* b becomes a's first child */
    b->prev = a;
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    return a;
}

/*
 * Merge a sibling list into one heap with the standard two passes, without
 * recursion (the list can be as long as the container): first link pairs
 * left to right, stacking the results through `next`; then fold the stack,
 * which holds the pairs right to left, into one root.
 */
static struct pvt_ladder_node *merge_pairs(struct pvt_ladder_node *first)
{
    struct pvt_ladder_node *stack = NULL, *root, *a, *b, *rest;

    while (first) {
        a = first;
        b = a->next;
        rest = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if (b) {
            b->next = b->prev = NULL;
            a = link(a, b);
        }
        a->next = stack;
        stack = a;
        first = rest;
    }
    if (!stack)
        return NULL;
    root = stack;
    stack = stack->next;
    root->next = NULL;
    while (stack) {
        rest = stack->next;
        stack->next = NULL;
        root = link(root, stack);
        stack = rest;
    }
    root->prev = NULL;
    return root;
}

static void heap_insert(struct pvt_ladder *l, struct pvt_ladder_node *n)
{
    n->child = n->next = n->prev = NULL;
    n->where = PVT_LADDER_IN_HEAP;
    l->root = l->root ? link(l->root, n) : n;
    l->heap_count++;
}

static void heap_remove(struct pvt_ladder *l, struct pvt_ladder_node *n)
{
    struct pvt_ladder_node *sub;

    if (n == l->root) {
        l->root = merge_pairs(n->child);
    } else {
        /* unlink from its sibling list; prev is the parent or a sibling */
        if (n->prev->child == n)
            n->prev->child = n->next;
        else
            n->prev->next = n->next;
        if (n->next)
            n->next->prev = n->prev;
        sub = merge_pairs(n->child);
        if (sub)
            l->root = link(l->root, sub);
    }
    n->child = n->next = n->prev = NULL;
    l->heap_count--;
}

/*
 * Sort a list (through `next`) by (key, seq): merge sort, bottom-up and
 * iterative, O(n log n) with no extra memory. Returns the new head.
 */
static struct pvt_ladder_node *sort_list(struct pvt_ladder_node *list)
{
    size_t width = 1, merges;

    if (!list)
        return NULL;
    do {
        struct pvt_ladder_node *p = list, *head = NULL, **tail = &head;
        merges = 0;
        while (p) {
            struct pvt_ladder_node *a = p, *b = p;
            size_t na = 0, nb = width;
            merges++;
            while (b && na < width) {
                na++;
                b = b->next;
            }
            while (na || (nb && b)) {
                struct pvt_ladder_node *x;
                if (!na || (nb && b && before(b, a))) {
                    x = b;
                    b = b->next;
                    nb--;
                } else {
                    x = a;
                    a = a->next;
                    na--;
                }
                *tail = x;
                tail = &x->next;
            }
            p = b;
        }
        *tail = NULL;
        list = head;
        width *= 2;
    } while (merges > 1);
    return list;
}

/* Sort a short list (through `next`) by (key, seq): insertion, each node
 * going after every node not after it, so the sort is stable. */
static struct pvt_ladder_node *sort_short(struct pvt_ladder_node *list)
{
    struct pvt_ladder_node *sorted = NULL, *n, **at;

    while ((n = list) != NULL) {
        list = n->next;
        for (at = &sorted; *at && !before(n, *at); at = &(*at)->next)
            ;
        n->next = *at;
        *at = n;
    }
    return sorted;
}

/*
 * Hand every node of n chains (lists through next) to use(ctx, node), the
 * chains walked in turn: walking one list is a chain of dependent loads,
 * each node a likely cache miss; walking several in turn lets their misses
 * overlap (each chain's next node is asked for as soon as its address is
 * known, n nodes before it is used). The chains are left empty. (Inline,
 * so that `use` is too.)
 */
static inline __attribute__((always_inline)) void chains_walk(
    struct pvt_ladder_node **chain, unsigned int n,
    void (*use)(void *ctx, struct pvt_ladder_node *x), void *ctx)
{
    struct pvt_ladder_node *x;
    unsigned int k, live;

    do {
        live = 0;
        for (k = 0; k < n; k++) {
            if ((x = chain[k]) == NULL)
                continue;
            chain[k] = x->next;
            if (x->next)
                __builtin_prefetch(x->next, 1);
            live++;
            use(ctx, x);
        }
    } while (live);
}

struct split_to {
    struct pvt_ladder_node **part;
    uint16_t *size;
    int64_t start;
    unsigned int shift;
};

/* chains_walk's use for heap_load: onto the list of its part (the keys
 * are in the bucket, so the part is below 2^bits). */
static void split_one(void *ctx, struct pvt_ladder_node *x)
{
    const struct split_to *to = ctx;
    unsigned int p = (unsigned int)(distance(to->start, x->key) >> to->shift);

    x->next = to->part[p];
    to->part[p] = x;
    to->size[p]++;
}

/* chains_walk's use for heap_load: append to a list. */
static void append(void *ctx, struct pvt_ladder_node *x)
{
    struct pvt_ladder_node ***tail = ctx;

    **tail = x;
    *tail = &x->next;
}

/* Append a sorted list to the heap's chain (whose last node is *last,
 * NULL when empty): every node's one child is the next. */
static void chain_append(struct pvt_ladder *l, struct pvt_ladder_node **last,
                         struct pvt_ladder_node *list)
{
    struct pvt_ladder_node *n, *parent = *last;

    for (n = list; n; n = n->next) {
        n->where = PVT_LADDER_IN_HEAP;
        n->child = NULL;
        n->prev = parent;
        if (parent) {
            parent->child = n;
            parent->next = NULL;
        } else {
            l->root = n;
        }
        parent = n;
        l->heap_count++;
    }
    if (parent)
        parent->next = NULL;
    *last = parent;
}

/*
 * Make the (empty) heap from a bucket's chains, `count` nodes with keys in
 * [start, start + 2^shift): sorted, it is a chain in which every node's
 * one child is the next, so each pop is O(1). Up to LOAD_PARTS * LOAD_FILL
 * nodes are split by key into parts (the chains walked in turn: their
 * misses overlap), each sorted by insertion; more (a bucket no rung could
 * take) are sorted by merging.
 */
static inline __attribute__((always_inline)) void heap_load(
    struct pvt_ladder *l, struct pvt_ladder_node **chain, unsigned int nchains,
    uint32_t count, int64_t start, unsigned int shift)
{
    struct pvt_ladder_node **part = l->part, *last = NULL, *list = NULL,
                           **tail = &list;
    uint16_t *size = l->part_size;
    unsigned int bits = 0, pshift, p;
    struct split_to to = {part, size, start, 0};

    if (count > LOAD_PARTS * LOAD_FILL) {
        chains_walk(chain, nchains, append, &tail);
        *tail = NULL;
        chain_append(l, &last, sort_list(list));
        return;
    }
    while (((uint32_t)LOAD_FILL << bits) < count)
        bits++;
    pshift = shift > bits ? shift - bits : 0;
    to.shift = pshift;
    for (p = 0; p < (1u << bits); p++) {
        part[p] = NULL;
        size[p] = 0;
    }
    chains_walk(chain, nchains, split_one, &to);
    for (p = 0; p < (1u << bits); p++)
        if (part[p])
            chain_append(l, &last,
                         size[p] <= SORT_SHORT_MAX ? sort_short(part[p])
                                                   : sort_list(part[p]));
}

/* ---- the ladder: unsorted buckets above the heap ---------------------- */

static void list_push(struct pvt_ladder_node **head, struct pvt_ladder_node *n)
{
    n->child = NULL;
    n->prev = NULL;
    n->next = *head;
    if (*head)
        (*head)->prev = n;
    *head = n;
}

static void list_unlink(struct pvt_ladder_node **head,
                        struct pvt_ladder_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        *head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->next = n->prev = NULL;
}

/* lo + off, saturating: a rung may reach past the last representable
 * key. */
static int64_t offset_sat(int64_t lo, uint64_t off)
{
    return off > distance(lo, INT64_MAX) ? INT64_MAX
                                         : (int64_t)((uint64_t)lo + off);
}

/* Where a rung's first bucket not yet handed on begins. */
static int64_t rung_start(const struct pvt_ladder_rung *r)
{
    return r->start;
}

/* The smallest shift with PVT_LADDER_BUCKETS buckets of 2^shift covering
 * [lo, lo + span]. */
static unsigned int rung_shift(uint64_t span)
{
    unsigned int shift = 0;

    while ((span >> shift) >= PVT_LADDER_BUCKETS)
        shift++;
    return shift;
}

/* An empty rung of 2^shift buckets from lo, of which only the first
 * `used` can be put into (the keys that will go into it say so): only
 * those are cleared; the others are never read, their bitmap bits being
 * clear. */
static void rung_reset(struct pvt_ladder_rung *r, int64_t lo,
                       unsigned int shift, unsigned int used,
                       unsigned int chains)
{
    unsigned int b, c;

    r->lo = lo;
    r->start = lo;
    r->shift = shift;
    r->chains = chains;
    for (b = 0; b < PVT_LADDER_BUCKETS / 64; b++)
        r->bitmap[b] = 0;
    for (b = 0; b < used; b++) {
        r->count[b] = 0;
        for (c = 0; c < PVT_LADDER_CHAINS; c++)
            r->head[b][c] = NULL;
    }
}

/* The storage slot of rung i (0: the coarsest in use): the rungs in use
 * are a ring in the caller's array, from slot l->base, so that a coarser
 * rung can be put above rung 0 (top_spread) as a finer one below the
 * deepest, without moving any. */
static unsigned int rung_slot(const struct pvt_ladder *l, unsigned int i)
{
    unsigned int s = l->base + i;

    return s >= l->max_rungs ? s - l->max_rungs : s;
}

/* Into the bucket for n of the rung in `slot` (the caller knows it falls
 * in the rung). */
static inline void bucket_put(struct pvt_ladder *l, unsigned int slot,
                              struct pvt_ladder_node *n)
{
    struct pvt_ladder_rung *r = &l->rung[slot];
    unsigned int b = (unsigned int)(distance(r->lo, n->key) >> r->shift);

    /* the bucket's chains take turns */
    list_push(&r->head[b][r->count[b] & (r->chains - 1)], n);
    r->count[b]++;
    r->bitmap[b / 64] |= 1ull << (b % 64);
    n->where = PVT_LADDER_IN_RUNG + slot * PVT_LADDER_BUCKETS + b;
}

/* Spread the nodes of the n chains over the (reset) rung in `slot`. */
struct spread_to {
    struct pvt_ladder *l;
    unsigned int slot;
};

/* chains_walk's use for spread: into its bucket. */
static void spread_one(void *ctx, struct pvt_ladder_node *x)
{
    const struct spread_to *to = ctx;

    bucket_put(to->l, to->slot, x);
}

static void spread(struct pvt_ladder *l, unsigned int slot,
                   struct pvt_ladder_node **chain, unsigned int n)
{
    struct spread_to to = {l, slot};

    chains_walk(chain, n, spread_one, &to);
}

/* A new deepest rung from lo with 2^shift buckets, of which the nodes of
 * the n chains (and the keys later put into it) use the first `used`,
 * holding those nodes. */
static void rung_spawn(struct pvt_ladder *l, int64_t lo, unsigned int shift,
                       unsigned int used, unsigned int chains,
                       struct pvt_ladder_node **chain, unsigned int n)
{
    unsigned int slot = rung_slot(l, l->nrungs++);

    rung_reset(&l->rung[slot], lo, shift, used, chains);
    spread(l, slot, chain, n);
}

/*
 * The top list reached PVT_LADDER_TOP_MAX nodes: spread it over a new
 * coarsest rung, above rung 0, from top_start (where rung 0, or the heap,
 * ends), its buckets wide enough for twice the span the top list holds, so
 * that later inserts go straight into its buckets rather than wait in the
 * top list to be walked again when they come near. Its nodes were inserted
 * lately: they are still in cache.
 */
static void top_spread(struct pvt_ladder *l)
{
    int64_t lo = l->top_start;
    uint64_t span = distance(lo, l->top_max);
    unsigned int shift =
        rung_shift(span > UINT64_MAX / 2 ? UINT64_MAX : 2 * span);
    struct pvt_ladder_node *list = l->top;

    l->base = l->base ? l->base - 1 : l->max_rungs - 1;
    l->nrungs++;
    l->stats.top_spreads++;
    rung_reset(&l->rung[l->base], lo, shift, PVT_LADDER_BUCKETS,
               PVT_LADDER_CHAINS);
    l->top_start = offset_sat(lo, (uint64_t)PVT_LADDER_BUCKETS << shift);
    l->top = NULL;
    l->top_count = 0;
    spread(l, l->base, &list, 1);
}

/*
 * The heap grew past PVT_LADDER_HEAP_MAX (nodes inserted below every rung):
 * turn it into a new deepest rung spanning [its first, the old deepest
 * start), so that it is sorted a bucket at a time like the rest. The tree
 * is flattened into one list without recursion or memory: walking the list
 * from its head, each node's children are appended at the tail.
 */
static void heap_demote(struct pvt_ladder *l)
{
    int64_t lo = l->root->key;
    int64_t hi = l->nrungs ? rung_start(&l->rung[rung_slot(l, l->nrungs - 1)])
                           : l->top_start;
    struct pvt_ladder_node *head = l->root, *tail = l->root, *x;

    head->next = NULL;
    for (x = head; x; x = x->next) {
        if (x->child) {
            tail->next = x->child;
            while (tail->next)
                tail = tail->next;
            x->child = NULL;
        }
    }
    l->root = NULL;
    l->heap_count = 0;
    l->stats.heap_demotions++;
    rung_spawn(l, lo, rung_shift(distance(lo, hi)), PVT_LADDER_BUCKETS,
               PVT_LADDER_CHAINS, &head, 1);
}

/*
 * Where a node goes: top when at or past top_start; else the first rung
 * (coarsest first) whose unhanded part it falls in; else, below every
 * rung, the heap. Rung r + 1 always covers the bucket of rung r that was
 * handed on last (a rung spread from a bucket may reach past its end, but
 * rung r, tried first, takes every key there), so the ranges where nodes
 * go tile the key line in order: heap < deepest rung < ... < rung 0 < top.
 */
static void place(struct pvt_ladder *l, struct pvt_ladder_node *n)
{
    unsigned int ri, slot;

    if (n->key >= l->top_start) {
        if (l->top_count == 0 || n->key < l->top_min)
            l->top_min = n->key;
        if (l->top_count == 0 || n->key > l->top_max)
            l->top_max = n->key;
        list_push(&l->top, n);
        l->top_count++;
        n->where = PVT_LADDER_IN_TOP;
        /* (keep a rung free for the spreading of a big bucket) */
        if (l->top_count >= PVT_LADDER_TOP_MAX && l->nrungs + 1 < l->max_rungs)
            top_spread(l);
        return;
    }
    for (ri = 0, slot = l->base; ri < l->nrungs; ri++) {
        if (n->key >= rung_start(&l->rung[slot])) {
            bucket_put(l, slot, n);
            return;
        }
        if (++slot == l->max_rungs)
            slot = 0;
    }
    if (l->heap_count >= PVT_LADDER_HEAP_MAX && l->nrungs < l->max_rungs &&
        n->key > l->root->key) {
        heap_demote(l);
        bucket_put(l, rung_slot(l, l->nrungs - 1), n);
        return;
    }
    heap_insert(l, n);
}

static void unplace(struct pvt_ladder *l, struct pvt_ladder_node *n)
{
    if (n->where == PVT_LADDER_IN_HEAP) {
        heap_remove(l, n);
    } else if (n->where == PVT_LADDER_IN_TOP) {
        list_unlink(&l->top, n);
        l->top_count--;
    } else {
        unsigned int i = n->where - PVT_LADDER_IN_RUNG;
        struct pvt_ladder_rung *r = &l->rung[i / PVT_LADDER_BUCKETS];
        unsigned int b = i % PVT_LADDER_BUCKETS;
        unsigned int c = 0;
        if (!n->prev) /* the head of one of the bucket's chains */
            while (c + 1 < r->chains && r->head[b][c] != n)
                c++;
        list_unlink(&r->head[b][c], n);
        if (--r->count[b] == 0)
            r->bitmap[b / 64] &= ~(1ull << (b % 64));
    }
    n->where = PVT_LADDER_NOWHERE;
}

/*
 * How many times finer (log2) than a bucket of c nodes its rung is to be:
 * enough that each bucket gets about SPREAD_FILL of them (when evenly
 * spread), at most PVT_LADDER_BUCKETS times (the rung then covers exactly
 * the bucket; a coarser one covers it and more, which its parent, placed
 * first, keeps).
 */
static unsigned int spread_bits(uint32_t c)
{
    unsigned int bits = 0;

    while (bits < PVT_LADDER_BUCKET_BITS && ((uint64_t)SPREAD_FILL << bits) < c)
        bits++;
    return bits;
}

/*
 * Keep the first node in the heap: while the heap is empty and nodes wait
 * elsewhere, hand on the next bucket of the deepest rung (into the heap
 * when small, else spread over a new, finer rung whose buckets get about
 * SPREAD_FILL nodes each, one chain when its nodes stay in cache),
 * or, with no rung left, spread the top list over a new rung 0 that spans
 * it.
 */
static void refill(struct pvt_ladder *l)
{
    while (!l->root && l->count) {
        struct pvt_ladder_node *n;
        if (l->nrungs) {
            struct pvt_ladder_rung *r = &l->rung[rung_slot(l, l->nrungs - 1)];
            struct pvt_ladder_node *chain[PVT_LADDER_CHAINS];
            unsigned int b, w, k;
            int64_t bstart;
            uint32_t c;

            for (w = 0; w < PVT_LADDER_BUCKETS / 64 && !r->bitmap[w]; w++)
                ;
            if (w == PVT_LADDER_BUCKETS / 64) {
                /* drained: back to its parent's next bucket */
                if (--l->nrungs == 0)
                    l->base = 0;
                continue;
            }
            b = w * 64 + pvt__ctz64(r->bitmap[w]);
            /* (all of them: the ones the rung does not use are empty) */
            for (k = 0; k < PVT_LADDER_CHAINS; k++) {
                chain[k] = r->head[b][k];
                r->head[b][k] = NULL;
            }
            c = r->count[b];
            r->count[b] = 0;
            r->bitmap[w] &= ~(1ull << (b % 64));
            bstart = offset_sat(r->lo, (uint64_t)b << r->shift);
            r->start = offset_sat(r->lo, (uint64_t)(b + 1) << r->shift);
            /* the next bucket's first node: its miss overlaps this one's
             * work (small buckets are most of the work at the front) */
            if (r->bitmap[w]) {
                unsigned int nb = w * 64 + pvt__ctz64(r->bitmap[w]);

                for (k = 0; k < r->chains; k++)
                    __builtin_prefetch(r->head[nb][k]);
            }
            if (c > PVT_LADDER_BUCKET_MAX && r->shift > 0 &&
                l->nrungs < l->max_rungs) {
                unsigned int bits = spread_bits(c);

                l->stats.rungs_spawned++;
                /* (the bucket's keys, and those put in its place later,
                 * fall in its first 2^bits buckets: fewer when the bucket
                 * is narrower than that, at shift 0) */
                rung_spawn(l, bstart, r->shift > bits ? r->shift - bits : 0,
                           1u << bits,
                           c <= SPREAD_CACHED ? 1 : PVT_LADDER_CHAINS, chain,
                           r->chains);
            } else if (r->chains == 1) {
                heap_load(l, chain, 1, c, bstart, r->shift);
            } else {
                heap_load(l, chain, PVT_LADDER_CHAINS, c, bstart, r->shift);
            }
        } else if (l->top_count) {
            unsigned int shift = rung_shift(distance(l->top_min, l->top_max));

            l->top_start =
                offset_sat(l->top_min, (uint64_t)PVT_LADDER_BUCKETS << shift);
            n = l->top;
            l->top = NULL;
            l->top_count = 0;
            rung_spawn(l, l->top_min, shift, PVT_LADDER_BUCKETS,
                       PVT_LADDER_CHAINS, &n, 1);
        } else {
            break; /* cannot happen: count says nodes wait somewhere */
        }
    }
}

/* ---- public API --------------------------------------------------------- */

int pvt_ladder_init(struct pvt_ladder *l, struct pvt_ladder_rung *rungs,
                    unsigned int nrungs)
{
    if (!l || !rungs || nrungs == 0 || nrungs > PVT_LADDER_MAX_RUNGS)
        return -PVT_EINVAL;
    *l = (struct pvt_ladder){.rung = rungs, .max_rungs = nrungs};
    return 0;
}

int pvt_ladder_node_init(struct pvt_ladder_node *n)
{
    if (!n)
        return -PVT_EINVAL;
    *n = (struct pvt_ladder_node){.where = PVT_LADDER_NOWHERE};
    return 0;
}

bool pvt_ladder_node_queued(const struct pvt_ladder_node *n)
{
    return n && n->where != PVT_LADDER_NOWHERE;
}

int pvt_ladder_insert(struct pvt_ladder *l, struct pvt_ladder_node *n,
                      int64_t key)
{
    if (!l || !n)
        return -PVT_EINVAL;
    if (n->where != PVT_LADDER_NOWHERE)
        return -PVT_EBUSY;
    n->key = key;
    n->seq = l->next_seq++;
    l->count++;
    place(l, n);
    if (!l->root)
        refill(l);
    return 0;
}

/* Could n be in l, as far as O(1) can tell? */
static bool may_hold(const struct pvt_ladder *l,
                     const struct pvt_ladder_node *n)
{
    unsigned int slot;

    if (n->where == PVT_LADDER_IN_HEAP)
        return l->heap_count != 0 && (n == l->root || n->prev);
    if (n->where == PVT_LADDER_IN_TOP)
        return l->top_count != 0 && (n == l->top || n->prev);
    slot = (n->where - PVT_LADDER_IN_RUNG) / PVT_LADDER_BUCKETS;
    if (slot >= l->max_rungs)
        return false;
    return (slot >= l->base ? slot - l->base : slot + l->max_rungs - l->base) <
           l->nrungs;
}

int pvt_ladder_remove(struct pvt_ladder *l, struct pvt_ladder_node *n)
{
    if (!l || !n)
        return -PVT_EINVAL;
    if (n->where == PVT_LADDER_NOWHERE)
        return -PVT_ENOENT;
    if (!may_hold(l, n))
        return -PVT_EINVAL;
    unplace(l, n);
    l->count--;
    if (!l->root)
        refill(l);
    return 0;
}

struct pvt_ladder_node *pvt_ladder_pop(struct pvt_ladder *l)
{
    struct pvt_ladder_node *n = pvt_ladder_first(l), *c;

    if (!n)
        return NULL;
    /* the root's children; a sorted bucket is a chain of only children
     * (heap_load), so the next root is most often just that child */
    c = n->child;
    if (c && !c->next) {
        c->prev = NULL;
        l->root = c;
    } else {
        l->root = merge_pairs(c);
    }
    n->child = n->next = n->prev = NULL;
    n->where = PVT_LADDER_NOWHERE;
    l->heap_count--;
    if (--l->count && !l->root)
        refill(l);
    return n;
}
