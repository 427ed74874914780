/*
 * The benchmarks' reference containers (bench/ref-heap.c, bench/ref-rbtree.c)
 * are code too: against a model (an array of live items, the minimum found
 * by scanning for the least (key, arming order)), random inserts with many
 * equal keys, removals of arbitrary items and pops must agree with the
 * model on every pop, and each structure's invariants must hold after every
 * operation: the heap's order, shape (complete: the count's path) and
 * parent links; the tree's search order, colours (no red under red, the
 * same black count on every path, a black root), parent links and cached
 * leftmost node.
 */
#include <stdlib.h>

#include "core/rng.h"
#include "ref-heap.h"
#include "ref-rbtree.h"
#include "runner/test.h"

#define ITEMS 300
#define ITEM_OF(n, member)                                                     \
    ((struct item *)(void *)((char *)(n)-offsetof(struct item, member)))
#define OPS 20000

struct item {
    struct ref_heap_node hn;
    struct ref_rb_node rn;
    int64_t key;
    uint64_t order; /* the model's arming order */
    bool live;
};

/* The model's first live item by (key, order), or NULL. */
static struct item *model_min(struct item *it, size_t n)
{
    struct item *best = NULL;
    size_t i;

    for (i = 0; i < n; i++)
        if (it[i].live &&
            (!best || it[i].key < best->key ||
             (it[i].key == best->key && it[i].order < best->order)))
            best = &it[i];
    return best;
}

/* ---- the heap's invariants ---------------------------------------------- */

/* Nodes under n (n included), checking order and links; -1 if broken. */
static long heap_check_sub(const struct ref_heap_node *n)
{
    long l = 0, r = 0;

    if (!n)
        return 0;
    if (n->left && (n->left->parent != n || ref_heap_before(n->left, n)))
        return -1;
    if (n->right && (n->right->parent != n || ref_heap_before(n->right, n)))
        return -1;
    if (n->right && !n->left)
        return -1;
    l = heap_check_sub(n->left);
    r = heap_check_sub(n->right);
    if (l < 0 || r < 0)
        return -1;
    return l + r + 1;
}

/* Complete shape: every slot 1..count is reached by its path. */
static bool heap_shape(const struct ref_heap *h)
{
    size_t k;
    int bit;

    for (k = 1; k <= h->count; k++) {
        const struct ref_heap_node *p = h->root;
        for (bit = 0; (k >> bit) > 1; bit++)
            ;
        for (bit--; bit >= 0 && p; bit--)
            p = (k >> bit) & 1 ? p->right : p->left;
        if (!p)
            return false;
    }
    return true;
}

static bool heap_ok(const struct ref_heap *h)
{
    return (!h->root || !h->root->parent) &&
           heap_check_sub(h->root) == (long)h->count && heap_shape(h);
}

/* ---- the tree's invariants ---------------------------------------------- */

/* Black height under n, checking colours, links and order; -1 if broken.
 * *count gets the nodes visited. */
static int rb_check_sub(const struct ref_rb_node *n, size_t *count)
{
    int l, r;

    if (!n)
        return 1;
    ++*count;
    if (n->red && ((n->left && n->left->red) || (n->right && n->right->red)))
        return -1;
    if (n->left && (n->left->parent != n || n->left->key > n->key))
        return -1;
    if (n->right && (n->right->parent != n || n->right->key < n->key))
        return -1;
    l = rb_check_sub(n->left, count);
    r = rb_check_sub(n->right, count);
    if (l < 0 || l != r)
        return -1;
    return l + !n->red;
}

static bool rb_ok(const struct ref_rbtree *t)
{
    const struct ref_rb_node *first = t->root;
    size_t count = 0;

    while (first && first->left)
        first = first->left;
    if (t->root && (t->root->red || t->root->parent))
        return false;
    return rb_check_sub(t->root, &count) > 0 && count == t->count &&
           t->leftmost == first;
}

/* ---- the random walk ------------------------------------------------------ */

enum which { HEAP, RBTREE };

static struct item *first_of(enum which w, struct ref_heap *h,
                             struct ref_rbtree *t)
{
    if (w == HEAP) {
        struct ref_heap_node *n = ref_heap_min(h);
        return n ? ITEM_OF(n, hn) : NULL;
    } else {
        struct ref_rb_node *n = ref_rb_first(t);
        return n ? ITEM_OF(n, rn) : NULL;
    }
}

static int walk(enum which w, uint64_t seed, int64_t key_range)
{
    struct item *it = calloc(ITEMS, sizeof(*it));
    struct ref_heap h;
    struct ref_rbtree t;
    struct rng r;
    uint64_t order = 0;
    size_t live = 0, i, op;
    int rc = -1;

    if (!it)
        return -1;
    rng_seed(&r, seed);
    ref_heap_init(&h);
    ref_rb_init(&t);
    for (op = 0; op < OPS; op++) {
        unsigned int kind = (unsigned int)(rng_next(&r) % 8);
        struct item *x = &it[rng_next(&r) % ITEMS], *m;

        if (kind < 4 && !x->live) { /* insert */
            x->key = (int64_t)(rng_next(&r) % (uint64_t)key_range) - 10;
            x->order = order++;
            x->live = true;
            live++;
            if (w == HEAP)
                ref_heap_insert(&h, &x->hn, x->key);
            else
                ref_rb_insert(&t, &x->rn, x->key);
        } else if (kind < 6 && x->live) { /* remove an arbitrary one */
            x->live = false;
            live--;
            if (w == HEAP)
                ref_heap_remove(&h, &x->hn);
            else
                ref_rb_remove(&t, &x->rn);
        } else if (kind >= 6) { /* pop the first */
            m = model_min(it, ITEMS);
            if (first_of(w, &h, &t) != m)
                goto out;
            if (m) {
                m->live = false;
                live--;
                if (w == HEAP)
                    ref_heap_remove(&h, &m->hn);
                else
                    ref_rb_remove(&t, &m->rn);
            }
        }
        if ((w == HEAP ? h.count : t.count) != live)
            goto out;
        if (w == HEAP ? !heap_ok(&h) : !rb_ok(&t))
            goto out;
    }
    /* drain: every pop the model's minimum */
    for (i = 0; i < live; i++) {
        struct item *m = model_min(it, ITEMS);
        if (!m || first_of(w, &h, &t) != m)
            goto out;
        m->live = false;
        if (w == HEAP)
            ref_heap_remove(&h, &m->hn);
        else
            ref_rb_remove(&t, &m->rn);
    }
    rc = first_of(w, &h, &t) == NULL && model_min(it, ITEMS) == NULL ? 0 : -1;
out:
    free(it);
    return rc;
}

TEST_IMPL(bench_ref_heap_model)
{
    uint64_t seed;

    /* few distinct keys (many ties) and many */
    for (seed = 1; seed <= 6; seed++) {
        ASSERT_OK(walk(HEAP, seed, 20));
        ASSERT_OK(walk(HEAP, seed * 977, 1000000));
    }
    RETURN_OK();
}

TEST_IMPL(bench_ref_rbtree_model)
{
    uint64_t seed;

    for (seed = 1; seed <= 6; seed++) {
        ASSERT_OK(walk(RBTREE, seed, 20));
        ASSERT_OK(walk(RBTREE, seed * 977, 1000000));
    }
    RETURN_OK();
}

/* Ascending and descending insertion (the rotations' worst cases) of many
 * equal and distinct keys come out sorted, ties in arming order. */
TEST_IMPL(bench_ref_sorted_runs)
{
    enum { N = 2000 };
    struct item *it = calloc(N, sizeof(*it));
    struct ref_heap h;
    struct ref_rbtree t;
    size_t i;
    int dir;
    const struct item *prev;

    ASSERT_NOT_NULL(it);
    for (dir = 0; dir < 2; dir++) {
        ref_heap_init(&h);
        ref_rb_init(&t);
        prev = NULL;
        for (i = 0; i < N; i++) {
            it[i].key = dir ? (int64_t)(N - i) / 3 : (int64_t)i / 3;
            it[i].order = i;
            ref_heap_insert(&h, &it[i].hn, it[i].key);
            ref_rb_insert(&t, &it[i].rn, it[i].key);
        }
        ASSERT(heap_ok(&h));
        ASSERT(rb_ok(&t));
        for (i = 0; i < N; i++) {
            struct item *a = first_of(HEAP, &h, &t);
            struct item *b = first_of(RBTREE, &h, &t);
            ASSERT_PTR_EQ(a, b);
            /* keys ascending, ties in arming order */
            if (prev) {
                ASSERT(prev->key < a->key ||
                       (prev->key == a->key && prev->order < a->order));
            }
            prev = a;
            ref_heap_remove(&h, &a->hn);
            ref_rb_remove(&t, &b->rn);
        }
        ASSERT_NULL(ref_heap_min(&h));
        ASSERT_NULL(ref_rb_first(&t));
    }
    free(it);
    RETURN_OK();
}
