/*
 * The benchmarks' second reference timer container: a red-black tree with
 * a cached leftmost node, as Linux's hrtimers keep their timers (the
 * timerqueue over an rb_root_cached): ordered by deadline alone, a new
 * node going right of every equal key, so equal deadlines leave in the
 * order they were armed, as (deadline, arming sequence) orders them.
 *
 * The published algorithm (a red-black tree with parent links; insertion
 * and deletion with their recolouring and rotations, deletion through the
 * in-order successor), written for these benchmarks. Insert O(log n),
 * remove O(log n) (plus the successor when the leftmost leaves: O(1)
 * amortised), the first node O(1).
 *
 * Not the core's: hosted code in bench/, tested by tests/host/
 * test-bench-refs.c.
 */
#ifndef PVTIMER_BENCH_REF_RBTREE_H
#define PVTIMER_BENCH_REF_RBTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ref_rb_node {
    struct ref_rb_node *parent, *left, *right;
    int64_t key; /* the deadline */
    bool red;
};

struct ref_rbtree {
    struct ref_rb_node *root;
    struct ref_rb_node *leftmost; /* the first node, cached */
    size_t count;
};

void ref_rb_init(struct ref_rbtree *t);

/* Insert n (not in the tree) with `key`, after every equal key. */
void ref_rb_insert(struct ref_rbtree *t, struct ref_rb_node *n, int64_t key);

/* Remove n, which is in t. */
void ref_rb_remove(struct ref_rbtree *t, struct ref_rb_node *n);

/* The in-order successor of n, or NULL. */
struct ref_rb_node *ref_rb_next(const struct ref_rb_node *n);

/* The first node, or NULL when empty. */
static inline struct ref_rb_node *ref_rb_first(const struct ref_rbtree *t)
{
    return t->leftmost;
}

#endif /* PVTIMER_BENCH_REF_RBTREE_H */
