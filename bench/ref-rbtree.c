/*
 * The red-black tree with a cached leftmost node (see ref-rbtree.h).
 * Absent children are NULL and count as black.
 */
#include "ref-rbtree.h"

void ref_rb_init(struct ref_rbtree *t)
{
    t->root = t->leftmost = NULL;
    t->count = 0;
}

static bool is_red(const struct ref_rb_node *n)
{
    return n && n->red;
}

/* Make c take p's place under p's parent. */
static void replace_child(struct ref_rbtree *t, struct ref_rb_node *p,
                          struct ref_rb_node *c)
{
    if (!p->parent)
        t->root = c;
    else if (p->parent->left == p)
        p->parent->left = c;
    else
        p->parent->right = c;
    if (c)
        c->parent = p->parent;
}

/* x's right child y rises; x becomes y's left child. */
static void rotate_left(struct ref_rbtree *t, struct ref_rb_node *x)
{
    struct ref_rb_node *y = x->right;

    x->right = y->left;
    if (y->left)
        y->left->parent = x;
    replace_child(t, x, y);
    y->left = x;
    x->parent = y;
}

/* x's left child y rises; x becomes y's right child. */
static void rotate_right(struct ref_rbtree *t, struct ref_rb_node *x)
{
    struct ref_rb_node *y = x->left;

    x->left = y->right;
    if (y->right)
        y->right->parent = x;
    replace_child(t, x, y);
    y->right = x;
    x->parent = y;
}

void ref_rb_insert(struct ref_rbtree *t, struct ref_rb_node *n, int64_t key)
{
    struct ref_rb_node **link = &t->root, *parent = NULL, *g, *u;
    bool leftmost = true;

    n->key = key;
    while (*link) {
        parent = *link;
        if (key < parent->key) {
            link = &parent->left;
        } else {
            link = &parent->right;
            leftmost = false;
        }
    }
    n->parent = parent;
    n->left = n->right = NULL;
    n->red = true;
    *link = n;
    if (leftmost)
        t->leftmost = n;
    t->count++;

    /* restore: no red node has a red parent; the root is black */
    while ((parent = n->parent) && parent->red) {
        g = parent->parent; /* exists: a red node is not the root */
        if (parent == g->left) {
            u = g->right;
            if (is_red(u)) {
                parent->red = u->red = false;
                g->red = true;
                n = g;
                continue;
            }
            if (n == parent->right) {
                rotate_left(t, parent);
                n = parent;
                parent = n->parent;
            }
            parent->red = false;
            g->red = true;
            rotate_right(t, g);
        } else {
            u = g->left;
            if (is_red(u)) {
                parent->red = u->red = false;
                g->red = true;
                n = g;
                continue;
            }
            if (n == parent->left) {
                rotate_right(t, parent);
                n = parent;
                parent = n->parent;
            }
            parent->red = false;
            g->red = true;
            rotate_left(t, g);
        }
    }
    t->root->red = false;
}

struct ref_rb_node *ref_rb_next(const struct ref_rb_node *n)
{
    const struct ref_rb_node *p;

    if (n->right) {
        n = n->right;
        while (n->left)
            n = n->left;
        return (struct ref_rb_node *)(uintptr_t)n;
    }
    while ((p = n->parent) && p->right == n)
        n = p;
    return (struct ref_rb_node *)(uintptr_t)p;
}

/*
 * After removing a black node: x (possibly NULL) under xp carries an extra
 * black; push it up or resolve it by recolouring and rotation.
 */
static void erase_fixup(struct ref_rbtree *t, struct ref_rb_node *x,
                        struct ref_rb_node *xp)
{
    struct ref_rb_node *w;

    while (x != t->root && !is_red(x)) {
        if (x == xp->left) {
            w = xp->right; /* exists: xp's right side has black height > 0 */
            if (w->red) {
                w->red = false;
                xp->red = true;
                rotate_left(t, xp);
                w = xp->right;
            }
            if (!is_red(w->left) && !is_red(w->right)) {
                w->red = true;
                x = xp;
                xp = x->parent;
                continue;
            }
            if (!is_red(w->right)) {
                w->left->red = false;
                w->red = true;
                rotate_right(t, w);
                w = xp->right;
            }
            w->red = xp->red;
            xp->red = false;
            w->right->red = false;
            rotate_left(t, xp);
            x = t->root;
        } else {
            w = xp->left;
            if (w->red) {
                w->red = false;
                xp->red = true;
                rotate_right(t, xp);
                w = xp->left;
            }
            if (!is_red(w->left) && !is_red(w->right)) {
                w->red = true;
                x = xp;
                xp = x->parent;
                continue;
            }
            if (!is_red(w->left)) {
                w->right->red = false;
                w->red = true;
                rotate_left(t, w);
                w = xp->left;
            }
            w->red = xp->red;
            xp->red = false;
            w->left->red = false;
            rotate_right(t, xp);
            x = t->root;
        }
    }
    if (x)
        x->red = false;
}

void ref_rb_remove(struct ref_rbtree *t, struct ref_rb_node *n)
{
    struct ref_rb_node *x, *xp, *y;
    bool removed_red;

    if (t->leftmost == n)
        t->leftmost = ref_rb_next(n);
    t->count--;
    if (!n->left || !n->right) {
        /* n leaves; its one child (or none) takes its place */
        x = n->left ? n->left : n->right;
        xp = n->parent;
        removed_red = n->red;
        replace_child(t, n, x);
    } else {
        /* n's successor y (no left child) leaves its place and takes n's */
        y = n->right;
        while (y->left)
            y = y->left;
        removed_red = y->red;
        x = y->right;
        if (y->parent == n) {
            xp = y;
        } else {
            xp = y->parent;
            replace_child(t, y, x);
            y->right = n->right;
            y->right->parent = y;
        }
        replace_child(t, n, y);
        y->left = n->left;
        y->left->parent = y;
        y->red = n->red;
    }
    if (!removed_red)
        erase_fixup(t, x, xp);
}
