/*
 * The guest's monotonic clock: anchor + converted counter delta, never
 * backwards, continuous across clocksource switches.
 */
#include "pvtimer/timekeeping.h"

#include "timekeeping-internal.h"
#include "util.h"

static bool cs_usable(const struct pvt_clocksource *cs)
{
    return cs && cs->read && cs->mult != 0 && cs->max_cycles != 0 &&
           cs->shift <= PVT_CS_MAX_SHIFT;
}

static void anchor(struct pvt_timekeeper *tk, struct pvt_clocksource *cs,
                   int64_t ns)
{
    tk->cs = cs;
    tk->cycle_last = cs->read(cs) & cs->mask;
    tk->base_ns = ns;
    tk->frac = 0;
}

int pvt_timekeeper_init(struct pvt_timekeeper *tk, struct pvt_clocksource *cs,
                        int64_t start_ns)
{
    if (!tk || !cs_usable(cs) || start_ns < 0)
        return -PVT_EINVAL;
    anchor(tk, cs, start_ns);
    tk->last_ns = start_ns;
    tk->cs_generation = 0;
    tk->backwards = 0;
    tk->listeners = NULL;
    return 0;
}

/*
 * Read the clock; when `accumulate`, or when the delta has passed a
 * quarter of the counter's range, move the anchor to this reading.
 */
static int64_t read_clock(struct pvt_timekeeper *tk, bool accumulate)
{
    const struct pvt_clocksource *cs = tk->cs;
    uint64_t cycles = cs->read(tk->cs) & cs->mask;
    uint64_t delta = (cycles - tk->cycle_last) & cs->mask;
    uint64_t off, rem;
    int64_t now;

    if (delta > (cs->mask >> 1)) {
        /* the counter stepped back behind the anchor */
        tk->backwards++;
        return tk->last_ns;
    }
    off = pvt__mul_add_shr(delta, cs->mult, tk->frac, cs->shift, &rem);
    now = off > (uint64_t)INT64_MAX
              ? INT64_MAX
              : pvt_add_sat_s64(tk->base_ns, (int64_t)off);
    if (accumulate || delta > (cs->mask >> 2)) {
        tk->cycle_last = cycles;
        tk->base_ns = now;
        tk->frac = rem;
    }
    if (now < tk->last_ns) {
        tk->backwards++;
        return tk->last_ns;
    }
    tk->last_ns = now;
    return now;
}

int64_t pvt__timekeeper_now(struct pvt_timekeeper *tk)
{
    return read_clock(tk, false);
}

int64_t pvt__timekeeper_update(struct pvt_timekeeper *tk)
{
    return read_clock(tk, true);
}

int64_t pvt_timekeeper_now(struct pvt_timekeeper *tk)
{
    if (!tk || !cs_usable(tk->cs))
        return -PVT_EINVAL;
    return read_clock(tk, false);
}

int64_t pvt_timekeeper_update(struct pvt_timekeeper *tk)
{
    if (!tk || !cs_usable(tk->cs))
        return -PVT_EINVAL;
    return read_clock(tk, true);
}

static void tell(struct pvt_timekeeper *tk, enum pvt_timekeeper_event what)
{
    struct pvt_timekeeper_listener *l;

    for (l = tk->listeners; l; l = l->next)
        l->fn(l, what);
}

int pvt_timekeeper_set_clocksource(struct pvt_timekeeper *tk,
                                   struct pvt_clocksource *cs)
{
    int64_t now;

    if (!tk || !cs_usable(cs) || !cs_usable(tk->cs))
        return -PVT_EINVAL;
    if (cs == tk->cs)
        return 0;
    now = read_clock(tk, true);
    anchor(tk, cs, now);
    tk->cs_generation++;
    tell(tk, PVT_TK_CLOCKSOURCE);
    return 0;
}

int pvt_timekeeper_resume(struct pvt_timekeeper *tk)
{
    if (!tk || !cs_usable(tk->cs))
        return -PVT_EINVAL;
    anchor(tk, tk->cs, tk->last_ns);
    tell(tk, PVT_TK_RESUME);
    return 0;
}

int pvt_timekeeper_add_listener(struct pvt_timekeeper *tk,
                                struct pvt_timekeeper_listener *l)
{
    struct pvt_timekeeper_listener *p;

    if (!tk || !l || !l->fn || !cs_usable(tk->cs))
        return -PVT_EINVAL;
    for (p = tk->listeners; p; p = p->next)
        if (p == l)
            return -PVT_EBUSY;
    l->next = tk->listeners;
    tk->listeners = l;
    return 0;
}

int pvt_timekeeper_remove_listener(struct pvt_timekeeper *tk,
                                   struct pvt_timekeeper_listener *l)
{
    struct pvt_timekeeper_listener **pos;

    if (!tk || !l)
        return -PVT_EINVAL;
    for (pos = &tk->listeners; *pos; pos = &(*pos)->next) {
        if (*pos == l) {
            *pos = l->next;
            l->next = NULL;
            return 0;
        }
    }
    return -PVT_ENOENT;
}

void pvt_timekeeper_follow(void *ctx, struct pvt_clocksource *old,
                           struct pvt_clocksource *new_cs)
{
    (void)old;
    if (ctx && new_cs)
        pvt_timekeeper_set_clocksource(ctx, new_cs);
}

int pvt_timekeeper_ns_to_cycles(const struct pvt_timekeeper *tk, int64_t ns,
                                uint64_t *cycles)
{
    const struct pvt_clocksource *cs;
    uint64_t c;

    if (!tk || !cycles || !cs_usable(tk->cs))
        return -PVT_EINVAL;
    cs = tk->cs;
    if (ns <= tk->base_ns) {
        *cycles = tk->cycle_last;
        return 0;
    }
    /* ignoring frac (>= 0) can only make the answer later, never earlier */
    c = pvt__shl_div_ceil((uint64_t)(ns - tk->base_ns), cs->shift, cs->mult);
    if (c > (cs->mask >> 1))
        return -PVT_ERANGE;
    *cycles = (tk->cycle_last + c) & cs->mask;
    return 0;
}
