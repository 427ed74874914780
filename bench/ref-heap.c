/*
 * The libuv-ordered pointer heap (see ref-heap.h).
 */
#include "ref-heap.h"

void ref_heap_init(struct ref_heap *h)
{
    h->root = NULL;
    h->count = 0;
    h->next_seq = 0;
}

/* The link that points at n: its parent's left or right, or the root. */
static struct ref_heap_node **link_to(struct ref_heap *h,
                                      struct ref_heap_node *n)
{
    if (!n->parent)
        return &h->root;
    return n->parent->left == n ? &n->parent->left : &n->parent->right;
}

/*
 * Exchange c with its parent p in the tree's shape: c takes p's place and
 * p becomes c's child on the side c was on.
 */
static void swap_with_parent(struct ref_heap *h, struct ref_heap_node *p,
                             struct ref_heap_node *c)
{
    struct ref_heap_node *cl = c->left, *cr = c->right;

    *link_to(h, p) = c;
    c->parent = p->parent;
    if (p->left == c) {
        c->left = p;
        c->right = p->right;
        if (c->right)
            c->right->parent = c;
    } else {
        c->right = p;
        c->left = p->left;
        if (c->left)
            c->left->parent = c;
    }
    p->parent = c;
    p->left = cl;
    p->right = cr;
    if (cl)
        cl->parent = p;
    if (cr)
        cr->parent = p;
}

static void sift_up(struct ref_heap *h, struct ref_heap_node *n)
{
    while (n->parent && ref_heap_before(n, n->parent))
        swap_with_parent(h, n->parent, n);
}

static void sift_down(struct ref_heap *h, struct ref_heap_node *n)
{
    for (;;) {
        struct ref_heap_node *c = n->left;
        if (!c)
            return;
        if (n->right && ref_heap_before(n->right, c))
            c = n->right;
        if (!ref_heap_before(c, n))
            return;
        swap_with_parent(h, n, c);
    }
}

/*
 * The link for slot k (1-based, breadth-first), k >= 2: walk from the root
 * by the bits of k below its top bit, stopping at the parent's link.
 */
static struct ref_heap_node **slot_link(struct ref_heap *h, size_t k,
                                        struct ref_heap_node **parent)
{
    struct ref_heap_node *p = h->root;
    int bit = 0;

    while ((k >> bit) > 1)
        bit++;
    for (bit--; bit > 0; bit--)
        p = (k >> bit) & 1 ? p->right : p->left;
    *parent = p;
    return k & 1 ? &p->right : &p->left;
}

void ref_heap_insert(struct ref_heap *h, struct ref_heap_node *n, int64_t key)
{
    struct ref_heap_node *parent = NULL;

    n->key = key;
    n->seq = h->next_seq++;
    n->left = n->right = NULL;
    h->count++;
    if (h->count == 1) {
        n->parent = NULL;
        h->root = n;
        return;
    }
    *slot_link(h, h->count, &parent) = n;
    n->parent = parent;
    sift_up(h, n);
}

void ref_heap_remove(struct ref_heap *h, struct ref_heap_node *n)
{
    struct ref_heap_node *last, *parent, **lp;

    if (h->count == 1) {
        h->root = NULL;
        h->count = 0;
        return;
    }
    /* detach the last slot's node */
    lp = slot_link(h, h->count, &parent);
    last = *lp;
    *lp = NULL;
    h->count--;
    if (last == n)
        return;
    /* last takes n's place */
    last->left = n->left;
    last->right = n->right;
    last->parent = n->parent;
    *link_to(h, n) = last;
    if (last->left)
        last->left->parent = last;
    if (last->right)
        last->right->parent = last;
    sift_down(h, last);
    sift_up(h, last);
}
