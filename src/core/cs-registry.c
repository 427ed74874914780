/*
 * The clocksource registry: which clocksources a guest has and which one it
 * uses. Intrusive list sorted by rating (best first, stable for ties).
 */
#include "pvtimer/clocksource.h"

#include "util.h"

int pvt_cs_registry_init(struct pvt_cs_registry *reg,
                         pvt_cs_registry_switch_fn on_switch, void *ctx)
{
    if (!reg)
        return -PVT_EINVAL;
    reg->list = NULL;
    reg->current = NULL;
    reg->override = NULL;
    reg->require_hres = false;
    reg->on_switch = on_switch;
    reg->ctx = ctx;
    return 0;
}

static bool eligible(const struct pvt_cs_registry *reg,
                     const struct pvt_clocksource *cs)
{
    return !reg->require_hres || (cs->flags & PVT_CS_VALID_FOR_HRES);
}

static struct pvt_clocksource *find_best(const struct pvt_cs_registry *reg)
{
    struct pvt_clocksource *cs;

    if (reg->override && eligible(reg, reg->override))
        return reg->override;
    for (cs = reg->list; cs; cs = cs->next)
        if (eligible(reg, cs))
            return cs;
    return NULL;
}

/* Switch to the best eligible clocksource; keep the current one when none
 * is eligible (there is always something to read time from). */
static void reselect(struct pvt_cs_registry *reg)
{
    struct pvt_clocksource *best = find_best(reg);
    struct pvt_clocksource *old = reg->current;

    if (!best || best == old)
        return;
    reg->current = best;
    if (reg->on_switch)
        reg->on_switch(reg->ctx, old, best);
}

struct pvt_clocksource *pvt_cs_registry_find(const struct pvt_cs_registry *reg,
                                             const char *name)
{
    struct pvt_clocksource *cs;

    if (!reg || !name)
        return NULL;
    for (cs = reg->list; cs; cs = cs->next)
        if (pvt__strcmp(cs->name, name) == 0)
            return cs;
    return NULL;
}

int pvt_cs_registry_add(struct pvt_cs_registry *reg, struct pvt_clocksource *cs)
{
    struct pvt_clocksource **pos;

    if (!reg || !cs || !cs->name || !cs->read || cs->mult == 0 ||
        cs->max_cycles == 0)
        return -PVT_EINVAL;
    if (cs->registered || pvt_cs_registry_find(reg, cs->name))
        return -PVT_EEXIST;

    /* after every clocksource of the same or better rating */
    for (pos = &reg->list; *pos && (*pos)->rating >= cs->rating;
         pos = &(*pos)->next)
        ;
    cs->next = *pos;
    *pos = cs;
    cs->registered = true;
    reselect(reg);
    return 0;
}

static bool unlink_cs(struct pvt_cs_registry *reg, struct pvt_clocksource *cs)
{
    struct pvt_clocksource **pos;

    for (pos = &reg->list; *pos; pos = &(*pos)->next) {
        if (*pos == cs) {
            *pos = cs->next;
            cs->next = NULL;
            return true;
        }
    }
    return false;
}

int pvt_cs_registry_remove(struct pvt_cs_registry *reg,
                           struct pvt_clocksource *cs)
{
    struct pvt_clocksource *best = NULL;
    struct pvt_clocksource *it;

    if (!reg || !cs)
        return -PVT_EINVAL;
    if (cs == reg->current) {
        /* find the replacement before touching anything */
        if (reg->override && reg->override != cs &&
            eligible(reg, reg->override))
            best = reg->override;
        for (it = reg->list; !best && it; it = it->next)
            if (it != cs && eligible(reg, it))
                best = it;
        if (!best)
            return -PVT_EBUSY;
    }
    if (!unlink_cs(reg, cs))
        return -PVT_ENOENT;
    cs->registered = false;
    if (reg->override == cs)
        reg->override = NULL;
    if (best) {
        reg->current = best;
        if (reg->on_switch)
            reg->on_switch(reg->ctx, cs, best);
    }
    return 0;
}

int pvt_cs_registry_select(struct pvt_cs_registry *reg, const char *name)
{
    struct pvt_clocksource *cs = NULL;

    if (!reg)
        return -PVT_EINVAL;
    if (name) {
        cs = pvt_cs_registry_find(reg, name);
        if (!cs)
            return -PVT_ENOENT;
    }
    reg->override = cs;
    reselect(reg);
    return 0;
}

int pvt_cs_registry_require_hres(struct pvt_cs_registry *reg, bool require)
{
    if (!reg)
        return -PVT_EINVAL;
    reg->require_hres = require;
    reselect(reg);
    return 0;
}
