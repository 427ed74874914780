/*
 * The benchmarks' first reference timer container: a binary min-heap of
 * intrusive nodes linked by pointers (left, right, parent), ordered as
 * libuv orders its timers: by deadline, then by arming sequence, so equal
 * deadlines leave in the order they were armed.
 *
 * This is libuv's published algorithm (a pointer heap whose shape is that
 * of an array heap: node k, counted from 1 in breadth-first order, is
 * reached from the root by the bits of k below its top bit, 0 = left,
 * 1 = right), written for these benchmarks. Insert appends at slot
 * count + 1 and sifts up; removing any node moves the last node into its
 * place and sifts it down or up; every sift swaps nodes, not payloads
 * (the node is embedded in the user's struct). O(log n) each; the minimum
 * in O(1).
 *
 * Not the core's: hosted code in bench/, tested by tests/host/
 * test-bench-refs.c.
 */
#ifndef PVTIMER_BENCH_REF_HEAP_H
#define PVTIMER_BENCH_REF_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ref_heap_node {
    struct ref_heap_node *left, *right, *parent;
    int64_t key;  /* the deadline */
    uint64_t seq; /* the arming sequence */
};

struct ref_heap {
    struct ref_heap_node *root; /* the minimum */
    size_t count;
    uint64_t next_seq;
};

void ref_heap_init(struct ref_heap *h);

/* Insert n (not in the heap) with `key`; it gets the next sequence. */
void ref_heap_insert(struct ref_heap *h, struct ref_heap_node *n, int64_t key);

/* Remove n, which is in h. */
void ref_heap_remove(struct ref_heap *h, struct ref_heap_node *n);

/* The minimum by (key, seq), left in place; NULL when empty. */
static inline struct ref_heap_node *ref_heap_min(const struct ref_heap *h)
{
    return h->root;
}

/* Is a before b, by (key, seq)? */
static inline bool ref_heap_before(const struct ref_heap_node *a,
                                   const struct ref_heap_node *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

#endif /* PVTIMER_BENCH_REF_HEAP_H */
