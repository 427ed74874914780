/*
 * The timekeeper: conversion, accumulation without loss, wrap, never
 * backwards, continuity across clocksource switches.
 */
#include "pvtimer/clockevent.h"
#include "pvtimer/timekeeping.h"
#include "runner/test.h"

struct counter {
    uint64_t value;
};

static uint64_t counter_read(struct pvt_clocksource *cs)
{
    return ((struct counter *)cs->priv)->value;
}

static void make_cs(struct pvt_clocksource *cs, struct counter *c,
                    const char *name, uint64_t mask, uint64_t hz)
{
    *cs = (struct pvt_clocksource){
        .name = name,
        .read = counter_read,
        .priv = c,
        .mask = mask,
        .rating = 100,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    ASSERT_OK(pvt_clocksource_init_hz(cs, hz, 0));
}

TEST_IMPL(tk_errors)
{
    struct counter c = {0};
    struct pvt_clocksource cs, raw = {0};
    struct pvt_timekeeper tk;
    uint64_t cyc;

    make_cs(&cs, &c, "c", UINT64_MAX, 1000000);
    ASSERT_ERR(pvt_timekeeper_init(NULL, &cs, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_init(&tk, NULL, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_init(&tk, &raw, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_init(&tk, &cs, -1), PVT_EINVAL);
    ASSERT_EQ(pvt_timekeeper_now(NULL), -PVT_EINVAL);
    ASSERT_EQ(pvt_timekeeper_update(NULL), -PVT_EINVAL);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 0));
    ASSERT_ERR(pvt_timekeeper_set_clocksource(&tk, &raw), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_set_clocksource(NULL, &cs), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_ns_to_cycles(NULL, 1, &cyc), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_ns_to_cycles(&tk, 1, NULL), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(tk_converts_and_starts)
{
    struct counter c = {.value = 123456789};
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;

    /* 1 MHz converts exactly: 1 cycle = 1000 ns */
    make_cs(&cs, &c, "c", UINT64_MAX, 1000000);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 5000));
    ASSERT_EQ(pvt_timekeeper_now(&tk), 5000);
    c.value += 1000;
    ASSERT_EQ(pvt_timekeeper_now(&tk), 5000 + 1000000);
    c.value += 1;
    ASSERT_EQ(pvt_timekeeper_update(&tk), 5000 + 1001000);
    c.value += 2;
    ASSERT_EQ(pvt_timekeeper_now(&tk), 5000 + 1003000);
    RETURN_OK();
}

TEST_IMPL(tk_accumulates_without_loss)
{
    struct counter c = {0};
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
    uint64_t total = 0;
    int i;

    /* 3.579545 MHz: 279.36... ns per cycle, never exact. Folding 7 cycles
     * at a time a million times must give exactly the single conversion
     * of the total (the remainder is carried, not dropped). */
    make_cs(&cs, &c, "acpi_pm", UINT64_MAX, 3579545);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 0));
    for (i = 0; i < 1000000; i++) {
        c.value += 7;
        total += 7;
        pvt_timekeeper_update(&tk);
    }
    ASSERT_EQ(pvt_timekeeper_now(&tk),
              (int64_t)((unsigned __int128)total * cs.mult >> cs.shift));
    RETURN_OK();
}

TEST_IMPL(tk_wraps_narrow_counter)
{
    struct counter c = {.value = 0xfffff000u};
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
    int64_t expect = 0;
    int i;

    /* 32-bit counter at 1 MHz (1000 ns per cycle, exact) wrapping many
     * times: reading at least every quarter range keeps time. */
    make_cs(&cs, &c, "c32", UINT32_MAX, 1000000);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 0));
    for (i = 0; i < 40; i++) {
        uint64_t step = (UINT32_MAX >> 2) - 12345; /* < a quarter range */
        c.value = (c.value + step) & UINT32_MAX;
        expect += (int64_t)step * 1000;
        ASSERT_EQ(pvt_timekeeper_now(&tk), expect);
    }
    /* 40 quarter ranges is ten full wraps of the counter */
    ASSERT_GT(expect, (int64_t)UINT32_MAX * 1000 * 9);
    RETURN_OK();
}

TEST_IMPL(tk_never_backwards)
{
    struct counter c = {.value = 1000000};
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
    int64_t t1;

    make_cs(&cs, &c, "c", UINT64_MAX, 1000000);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 0));
    c.value += 10;
    t1 = pvt_timekeeper_now(&tk);
    ASSERT_EQ(t1, 10000);
    /* the counter steps back 5 cycles: the clock holds */
    c.value -= 5;
    ASSERT_EQ(pvt_timekeeper_now(&tk), t1);
    /* ... even behind the anchor (a wrapped, huge delta) */
    c.value -= 100;
    ASSERT_EQ(pvt_timekeeper_now(&tk), t1);
    ASSERT_EQ(pvt_timekeeper_update(&tk), t1);
    ASSERT_UEQ(tk.backwards, 3);
    /* and resumes once the counter is past it again */
    c.value = 1000000 + 20;
    ASSERT_EQ(pvt_timekeeper_now(&tk), 20000);
    RETURN_OK();
}

TEST_IMPL(tk_switch_is_continuous)
{
    struct counter slow = {.value = 77}, fast = {.value = 1ull << 40};
    struct pvt_clocksource a, b;
    struct pvt_timekeeper tk;
    struct pvt_cs_registry reg;
    int64_t at_switch;

    make_cs(&a, &slow, "slow", UINT64_MAX, 1000000);    /* 1 us/cycle */
    make_cs(&b, &fast, "fast", UINT64_MAX, 1000000000); /* 1 ns/cycle */
    b.rating = 400;
    ASSERT_OK(pvt_timekeeper_init(&tk, &a, 0));
    ASSERT_OK(pvt_cs_registry_init(&reg, pvt_timekeeper_follow, &tk));
    ASSERT_OK(pvt_cs_registry_add(&reg, &a));
    ASSERT_PTR_EQ(tk.cs, &a);
    slow.value += 5000;
    at_switch = pvt_timekeeper_now(&tk);
    ASSERT_EQ(at_switch, 5000000);

    /* the better clocksource arrives: time continues from 5 ms */
    ASSERT_OK(pvt_cs_registry_add(&reg, &b));
    ASSERT_PTR_EQ(tk.cs, &b);
    ASSERT_UEQ(tk.cs_generation, 1);
    ASSERT_EQ(pvt_timekeeper_now(&tk), at_switch);
    /* the old counter no longer matters, the new one does */
    slow.value += 1000000;
    fast.value += 250;
    ASSERT_EQ(pvt_timekeeper_now(&tk), at_switch + 250);
    /* switching to the same source is a no-op */
    ASSERT_OK(pvt_timekeeper_set_clocksource(&tk, &b));
    ASSERT_UEQ(tk.cs_generation, 1);
    RETURN_OK();
}

TEST_IMPL(tk_resume_is_continuous)
{
    struct counter c = {.value = 500};
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
    int64_t before;

    make_cs(&cs, &c, "c", UINT64_MAX, 1000000000); /* 1 ns per cycle */
    ASSERT_ERR(pvt_timekeeper_resume(NULL), PVT_EINVAL);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 0));
    c.value += 7000;
    before = pvt_timekeeper_now(&tk);
    ASSERT_EQ(before, 7000);
    /* a migration: the counter jumps an hour ahead */
    c.value += 3600 * (uint64_t)PVT_NSEC_PER_SEC;
    ASSERT_OK(pvt_timekeeper_resume(&tk));
    ASSERT_EQ(pvt_timekeeper_now(&tk), before);
    c.value += 25;
    ASSERT_EQ(pvt_timekeeper_now(&tk), before + 25);
    /* and a jump backwards does not freeze it either */
    c.value -= 10 * (uint64_t)PVT_NSEC_PER_SEC;
    ASSERT_OK(pvt_timekeeper_resume(&tk));
    c.value += 5;
    ASSERT_EQ(pvt_timekeeper_now(&tk), before + 30);
    RETURN_OK();
}

TEST_IMPL(tk_ns_to_cycles)
{
    struct counter c = {.value = 1000};
    struct pvt_clocksource cs, c32;
    struct pvt_timekeeper tk;
    uint64_t cyc;
    int64_t target;
    int i;

    /* 2.596128 GHz: a cycle is ~0.385 ns */
    make_cs(&cs, &c, "tsc", UINT64_MAX, 2596128000u);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 0));
    c.value += 123457; /* leave a sub-ns remainder in the anchor */
    pvt_timekeeper_update(&tk);
    for (i = 1; i < 2000; i++) {
        struct counter saved = c;
        target = pvt_timekeeper_now(&tk) + (int64_t)i * 7919;
        ASSERT_OK(pvt_timekeeper_ns_to_cycles(&tk, target, &cyc));
        /* at cyc the clock has reached the target ... */
        c.value = cyc;
        ASSERT_GE(pvt_timekeeper_now(&tk), target);
        /* ... and cyc is less than 1 ns (2.6 cycles) late, so 4 cycles
         * earlier it had not */
        c.value = cyc - 4;
        tk.last_ns = 0; /* look without the monotonic guard */
        ASSERT_LT(pvt_timekeeper_now(&tk), target);
        c = saved;
        tk.last_ns = 0;
    }
    /* a time already passed maps to the anchor */
    ASSERT_OK(pvt_timekeeper_ns_to_cycles(&tk, 0, &cyc));
    ASSERT_UEQ(cyc, tk.cycle_last);

    /* a 32-bit counter cannot express a deadline half its range away */
    make_cs(&c32, &c, "c32", UINT32_MAX, 1000000000);
    ASSERT_OK(pvt_timekeeper_init(&tk, &c32, 0));
    ASSERT_ERR(pvt_timekeeper_ns_to_cycles(&tk, 3 * PVT_NSEC_PER_SEC, &cyc),
               PVT_ERANGE);
    ASSERT_OK(pvt_timekeeper_ns_to_cycles(&tk, PVT_NSEC_PER_SEC, &cyc));
    ASSERT_UEQ(cyc, (c.value + 1000000000) & UINT32_MAX);
    RETURN_OK();
}

/* A listener that records what it was told, and in which order. */
struct heard {
    struct pvt_timekeeper_listener l;
    unsigned int clocksource, resume;
    unsigned int order; /* the call's rank among all listeners' calls */
};

static unsigned int heard_calls;

static void hear(struct pvt_timekeeper_listener *l,
                 enum pvt_timekeeper_event what)
{
    struct heard *h = (struct heard *)(void *)l; /* l is h's first member */

    if (what == PVT_TK_CLOCKSOURCE)
        h->clocksource++;
    else
        h->resume++;
    h->order = ++heard_calls;
}

TEST_IMPL(tk_listeners)
{
    struct counter c1 = {.value = 1}, c2 = {.value = 2};
    struct pvt_clocksource a, b;
    struct pvt_timekeeper tk;
    struct heard x = {.l.fn = hear}, y = {.l.fn = hear};
    struct pvt_timekeeper_listener nofn = {0};

    make_cs(&a, &c1, "a", UINT64_MAX, 1000000000);
    make_cs(&b, &c2, "b", UINT64_MAX, 1000000000);
    ASSERT_OK(pvt_timekeeper_init(&tk, &a, 0));
    ASSERT_NULL(tk.listeners);
    ASSERT_ERR(pvt_timekeeper_add_listener(NULL, &x.l), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_add_listener(&tk, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_add_listener(&tk, &nofn), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_remove_listener(NULL, &x.l), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_remove_listener(&tk, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_timekeeper_remove_listener(&tk, &x.l), PVT_ENOENT);

    ASSERT_OK(pvt_timekeeper_add_listener(&tk, &x.l));
    ASSERT_ERR(pvt_timekeeper_add_listener(&tk, &x.l), PVT_EBUSY);
    ASSERT_OK(pvt_timekeeper_add_listener(&tk, &y.l));
    /* a switch and a resume reach both, the last added first */
    heard_calls = 0;
    ASSERT_OK(pvt_timekeeper_set_clocksource(&tk, &b));
    ASSERT_UEQ(x.clocksource, 1);
    ASSERT_UEQ(y.clocksource, 1);
    ASSERT_UEQ(y.order, 1);
    ASSERT_UEQ(x.order, 2);
    ASSERT_OK(pvt_timekeeper_resume(&tk));
    ASSERT_UEQ(x.resume, 1);
    ASSERT_UEQ(y.resume, 1);
    /* no switch, no news */
    ASSERT_OK(pvt_timekeeper_set_clocksource(&tk, &b));
    ASSERT_UEQ(x.clocksource, 1);
    /* removed: told nothing more; the other still is */
    ASSERT_OK(pvt_timekeeper_remove_listener(&tk, &y.l));
    ASSERT_ERR(pvt_timekeeper_remove_listener(&tk, &y.l), PVT_ENOENT);
    ASSERT_OK(pvt_timekeeper_set_clocksource(&tk, &a));
    ASSERT_UEQ(x.clocksource, 2);
    ASSERT_UEQ(y.clocksource, 1);
    ASSERT_OK(pvt_timekeeper_remove_listener(&tk, &x.l));
    ASSERT_NULL(tk.listeners);
    ASSERT_OK(pvt_timekeeper_resume(&tk));
    ASSERT_UEQ(x.resume, 1);
    RETURN_OK();
}

/*
 * A writer that stopped half way (the sequence count left odd: a vCPU
 * preempted inside update(), or the code an interrupt interrupted) does not
 * hang anyone: readers give up after PVT_TK_MAX_RETRIES attempts and
 * return the last value returned (never backwards), counted in stale;
 * ns_to_cycles, set_clocksource and resume return -PVT_EAGAIN and change
 * nothing. Once the writer finishes, the clock reads the counter again.
 */
TEST_IMPL(tk_stopped_writer_bounded)
{
    struct counter c = {.value = 1000}, c2 = {.value = 5};
    struct pvt_clocksource cs, other;
    struct pvt_timekeeper tk;
    uint64_t cyc;

    make_cs(&cs, &c, "c", UINT64_MAX, 1000000); /* 1 us per cycle */
    make_cs(&other, &c2, "other", UINT64_MAX, 1000000);
    ASSERT_OK(pvt_timekeeper_init(&tk, &cs, 0));
    c.value += 10;
    ASSERT_EQ(pvt_timekeeper_now(&tk), 10000);
    c.value += 10;
    tk.seq++; /* odd: a writer is inside */
    ASSERT_EQ(pvt_timekeeper_now(&tk), 10000);
    ASSERT_EQ(pvt_timekeeper_update(&tk), 10000);
    ASSERT_UEQ(tk.stale, 2);
    ASSERT_UEQ(tk.backwards, 0);
    ASSERT_ERR(pvt_timekeeper_ns_to_cycles(&tk, 50000, &cyc), PVT_EAGAIN);
    ASSERT_ERR(pvt_timekeeper_set_clocksource(&tk, &other), PVT_EAGAIN);
    ASSERT_PTR_EQ(tk.cs, &cs);
    ASSERT_UEQ(tk.cs_generation, 0);
    ASSERT_ERR(pvt_timekeeper_resume(&tk), PVT_EAGAIN);
    ASSERT_UEQ(tk.cycle_last, 1000);
    tk.seq++; /* it finished (without changing the anchor) */
    ASSERT_EQ(pvt_timekeeper_now(&tk), 20000);
    ASSERT_OK(pvt_timekeeper_ns_to_cycles(&tk, 50000, &cyc));
    ASSERT_UEQ(cyc, 1050);
    ASSERT_UEQ(tk.stale, 2);
    RETURN_OK();
}

/*
 * A writer that changes the anchor while a reader is inside its section
 * (here: from within the counter read, as another vCPU's update() or
 * switch could at that moment) makes the reader start again on the new
 * anchor and read the counter again: the reading is the new clocksource's.
 */
struct meddler {
    struct counter c;
    struct pvt_timekeeper *tk;
    struct pvt_clocksource *to; /* switch to this during the next read */
    int reads;
};

static uint64_t meddler_read(struct pvt_clocksource *cs)
{
    struct meddler *m = cs->priv;
    struct pvt_clocksource *to = m->to;

    m->reads++;
    if (to) {
        m->to = NULL;
        ASSERT_OK(pvt_timekeeper_set_clocksource(m->tk, to));
    }
    return m->c.value;
}

TEST_IMPL(tk_reader_retries_after_writer)
{
    struct meddler m = {.c = {.value = 100}};
    struct counter fast = {.value = 1ull << 40};
    struct pvt_clocksource a, b;
    struct pvt_timekeeper tk;
    uint32_t seq;

    make_cs(&a, &m.c, "a", UINT64_MAX, 1000000); /* 1 us per cycle */
    a.read = meddler_read;
    a.priv = &m;
    make_cs(&b, &fast, "b", UINT64_MAX, 1000000000); /* 1 ns per cycle */
    ASSERT_OK(pvt_timekeeper_init(&tk, &a, 0));
    m.tk = &tk;
    m.c.value += 7; /* 7 us */
    m.to = &b;
    m.reads = 0;
    seq = tk.seq;
    /* the switch, inside the read, anchors b at a's 7 us (one more read
     * of a); the reader's first attempt is void, its second reads b */
    ASSERT_EQ(pvt_timekeeper_now(&tk), 7000);
    ASSERT_EQ(m.reads, 2);
    ASSERT_PTR_EQ(tk.cs, &b);
    ASSERT_UEQ(tk.seq, seq + 2);
    fast.value += 3;
    ASSERT_EQ(pvt_timekeeper_now(&tk), 7003);
    ASSERT_EQ(m.reads, 2);
    ASSERT_UEQ(tk.backwards, 0);
    RETURN_OK();
}
