/*
 * pvtimer: the ladder, an ordered container of intrusive nodes keyed by
 * (int64_t key, uint64_t seq), where seq is the insertion order: equal keys
 * come out in the order they went in. It knows nothing of clocks or
 * devices: the timer queue (timerqueue.h) keeps its timers in one, and a
 * simulator's event queue or a host timer service (keys in ns) can use it
 * alone.
 *
 * It is a ladder queue (Tang, Goh and Thng, 2005) over a pairing heap: the
 * nearest nodes are in the heap, which is kept small; later ones wait
 * unsorted in buckets of rungs of geometrically finer width, and the
 * farthest in an unsorted top list. When the heap runs dry the next
 * non-empty bucket moves into it, sorted (split by key into up to 64 parts
 * of about 4 nodes, each sorted by insertion), so that each pop is then
 * O(1); a bucket of more than PVT_LADDER_BUCKET_MAX nodes is first spread
 * over a finer rung, as many times finer (a power of two, at most
 * PVT_LADDER_BUCKETS) as puts about 128 of its nodes in each bucket when
 * they are spread evenly. A heap that grows past PVT_LADDER_HEAP_MAX (many
 * nodes inserted nearer than every rung) is demoted to a rung of its own,
 * and a top list that reaches PVT_LADDER_TOP_MAX nodes is spread (when two
 * rungs are free) over a new rung above the coarsest, its buckets twice as
 * wide as the list's span needs, so that later inserts go straight into
 * buckets instead of waiting to be walked twice. Each node is sorted only
 * when it comes near, in small groups that stay in cache:
 *
 *   insert           O(1) amortised
 *   first            O(1)
 *   remove           O(1), or O(log n) amortised in the heap
 *   pop              O(log n) amortised
 *
 * Rungs: the caller gives the container its rung storage (an array of
 * struct pvt_ladder_rung and its length), which bounds how deep the ladder
 * may grow. One rung is enough for correct order; more rungs keep the
 * buckets that reach the heap small when keys crowd together. The order
 * does not depend on the rung count. The rungs in use are a ring in the
 * storage (from `base`), so that one can be added at either end.
 *
 * Buckets: a bucket is PVT_LADDER_CHAINS lists (chains), which inserts
 * take in turn. The nodes are the users' and lie anywhere in memory: a
 * walk down one list waits for each node before it knows the next, a
 * cache (and TLB) miss each; handing a bucket on walks its chains in turn,
 * so that PVT_LADDER_CHAINS misses are in flight at once. The finer rung
 * a bucket of up to 1,024 nodes is spread over when handed on uses one
 * chain per bucket: its nodes have just been walked, they are in cache.
 *
 * Memory: the container costs sizeof(struct pvt_ladder) + nrungs *
 * sizeof(struct pvt_ladder_rung), and nothing per node beyond the node
 * itself. A rung is 24 + PVT_LADDER_BUCKETS / 8 + PVT_LADDER_BUCKETS *
 * (PVT_LADDER_CHAINS * sizeof(void *) + 4) bytes: 9,272 on LP64 (x86-64),
 * 5,176 on ILP32. The fixed part, struct pvt_ladder, is 120 bytes on
 * LP64 and PVT_LADDER_LOAD_PARTS * (sizeof(void *) + 2) of scratch for
 * sorting a bucket (so 760); a node is 48. So 8 rungs on LP64 take 760 +
 * 8 * 9,272 = 74,936 bytes. (tests/core/test-ladder.c checks these figures against sizeof.)
 *
 * Concurrency: none. No function takes a lock or disables interrupts; the
 * caller serialises every call on one container (and on its nodes), e.g.
 * by keeping a container per CPU and touching it with interrupts off.
 * Every function may be called from any context, interrupt handlers
 * included: none allocates, blocks or recurses.
 */
#ifndef PVTIMER_LADDER_H
#define PVTIMER_LADDER_H

#include "pvtimer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PVT_LADDER_BUCKET_BITS 8 /* buckets per rung, log2 */
#define PVT_LADDER_BUCKETS     (1u << PVT_LADDER_BUCKET_BITS)
#define PVT_LADDER_BUCKET_MAX  256  /* larger buckets are spread, not heaped */
#define PVT_LADDER_HEAP_MAX    512  /* a larger heap becomes a rung */
#define PVT_LADDER_TOP_MAX     1024 /* a longer top list becomes a rung */
#define PVT_LADDER_CHAINS      4    /* lists per bucket, walked in turn */
#define PVT_LADDER_LOAD_PARTS  64   /* parts a bucket is sorted in */
#define PVT_LADDER_MAX_RUNGS   65536u /* the most rung storage taken */

/* Where a node is (struct pvt_ladder_node's `where`). */
#define PVT_LADDER_NOWHERE 0u /* in no container: a zeroed node */
#define PVT_LADDER_IN_HEAP 1u
#define PVT_LADDER_IN_TOP  2u
#define PVT_LADDER_IN_RUNG                                                     \
    3u /* + slot * PVT_LADDER_BUCKETS + bucket, where
                                 slot is the rung's place in the storage */

/*
 * The node users embed in their own struct (PVT_LADDER_ENTRY gets back to
 * it). key and seq are set by pvt_ladder_insert and keep their values after
 * the node leaves; the rest is the container's. A zeroed node is in no
 * container. Out of a container, child, next and prev are the user's until
 * the next pvt_ladder_insert, which sets them (the timer queue keeps a
 * look-ahead in child while a timer waits in an expiry round).
 */
struct pvt_ladder_node {
    int64_t key;  /* read-only for the user */
    uint64_t seq; /* insertion order, read-only for the user */
    /* heap: first child, and siblings (the first child's prev is its
     * parent); bucket and top: a list through next/prev */
    struct pvt_ladder_node *child, *next, *prev;
    uint32_t where; /* PVT_LADDER_NOWHERE, _IN_HEAP, _IN_TOP, _IN_RUNG + i */
};

/* The struct of type `type` whose member `member` is the node n. */
#define PVT_LADDER_ENTRY(n, type, member)                                      \
    ((type *)(void *)((char *)(n)-offsetof(type, member)))

/* One rung: PVT_LADDER_BUCKETS buckets of 2^shift from lo; buckets below
 * start have been handed on (and are empty). */
struct pvt_ladder_rung {
    int64_t lo;
    int64_t start; /* where the buckets not yet handed on begin */
    unsigned int shift;
    unsigned int chains; /* how many of each bucket's chains it uses */
    uint64_t bitmap[PVT_LADDER_BUCKETS / 64]; /* non-empty buckets */
    /* each bucket a few lists (chains), which inserts take in turn */
    struct pvt_ladder_node *head[PVT_LADDER_BUCKETS][PVT_LADDER_CHAINS];
    uint32_t count[PVT_LADDER_BUCKETS];
};

struct pvt_ladder_stats {
    uint64_t rungs_spawned;  /* big buckets spread over a finer rung */
    uint64_t heap_demotions; /* overgrown heaps turned into a rung */
    uint64_t top_spreads;    /* long top lists spread over a coarser rung */
};

struct pvt_ladder {
    struct pvt_ladder_node *root; /* the first node (the heap's root) */
    uint64_t count;               /* nodes in the container, anywhere */
    uint64_t heap_count;
    struct pvt_ladder_node *top; /* unsorted, keys >= top_start */
    uint64_t top_count;
    int64_t top_start;
    int64_t top_min, top_max;     /* bounds of what top holds */
    struct pvt_ladder_rung *rung; /* the caller's storage */
    unsigned int max_rungs;       /* its length */
    unsigned int nrungs;          /* rungs in use, from rung[base] */
    unsigned int base;            /* where rung 0 is in the storage */
    uint64_t next_seq;
    struct pvt_ladder_stats stats;
    /* scratch for the sort of a bucket handed to the heap: split by key
     * into parts, each then sorted by insertion */
    struct pvt_ladder_node *part[PVT_LADDER_LOAD_PARTS];
    uint16_t part_size[PVT_LADDER_LOAD_PARTS];
};

/*
 * An empty container using rungs[0 .. nrungs - 1] (which it overwrites, and
 * which must stay valid and unshared while the container is in use).
 * Returns 0 or -PVT_EINVAL (NULL l or rungs, nrungs 0 or above
 * PVT_LADDER_MAX_RUNGS). O(1); the rungs are reset when first used.
 * Initialising a container that holds nodes abandons them (they still
 * look queued to pvt_ladder_node_queued).
 */
int pvt_ladder_init(struct pvt_ladder *l, struct pvt_ladder_rung *rungs,
                    unsigned int nrungs);

/* Make n a node in no container (as zeroing it does). Returns 0 or
 * -PVT_EINVAL (NULL). Must not be called on a queued node. O(1). */
int pvt_ladder_node_init(struct pvt_ladder_node *n);

/* Is n in a container (false for NULL)? O(1). */
bool pvt_ladder_node_queued(const struct pvt_ladder_node *n);

/*
 * Insert n (in no container) with `key` (any int64_t): it goes after every
 * node already in l with the same key. Sets n->key and n->seq. Returns 0,
 * -PVT_EINVAL (NULL l or n), -PVT_EBUSY (n already in a container: remove
 * it first). O(1) amortised: an insert can start the sort of a bucket or
 * the demotion of an overgrown heap, each node's share of which is O(1)
 * per rung it passes through.
 */
int pvt_ladder_insert(struct pvt_ladder *l, struct pvt_ladder_node *n,
                      int64_t key);

/*
 * Remove n from l; key and seq keep their values. Returns 0, -PVT_EINVAL
 * (NULL l or n, or n seen to be in another container), -PVT_ENOENT (n in
 * no container). n must be in l: a node of another container is caught
 * only when its place cannot be in l, otherwise both containers are
 * corrupted. O(1) in a bucket or the top list, O(log n) amortised in the
 * heap.
 */
int pvt_ladder_remove(struct pvt_ladder *l, struct pvt_ladder_node *n);

/* The first node, by (key, seq), left in place; NULL when l is empty or
 * NULL. O(1). (Inline: the timer queue asks on every arm.) */
static inline struct pvt_ladder_node *pvt_ladder_first(
    const struct pvt_ladder *l)
{
    return l ? l->root : NULL;
}

/* Remove and return the first node; NULL when l is empty or NULL.
 * O(log n) amortised. */
struct pvt_ladder_node *pvt_ladder_pop(struct pvt_ladder *l);

/* The number of nodes in l (0 for NULL). O(1). */
static inline uint64_t pvt_ladder_count(const struct pvt_ladder *l)
{
    return l ? l->count : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_LADDER_H */
