/*
 * The jiffies clocksource: the tick counter, read as a clock.
 */
#include "pvtimer/clocksource.h"

#include "util.h"

static uint64_t jiffies_read(struct pvt_clocksource *cs)
{
    const struct pvt_jiffies *j = cs->priv;

    return j->jiffies;
}

int pvt_jiffies_init(struct pvt_jiffies *j, uint32_t hz)
{
    uint64_t tick_ns;
    uint32_t shift = PVT_JIFFIES_SHIFT;

    if (!j || hz == 0 || hz > PVT_HZ_MAX)
        return -PVT_EINVAL;
    tick_ns = pvt__div64_u64((uint64_t)PVT_NSEC_PER_SEC + hz / 2, hz);
    /* as Linux, a smaller shift for slow ticks so that mult fits 32 bits */
    while (shift > 0 && (tick_ns << shift) > UINT32_MAX)
        shift--;

    j->jiffies = 0;
    j->hz = hz;
    j->cs = (struct pvt_clocksource){
        .name = "jiffies",
        .read = jiffies_read,
        .priv = j,
        .mask = UINT32_MAX,
        .mult = (uint32_t)(tick_ns << shift),
        .shift = shift,
        .rating = 1,
        .flags = 0, /* neither continuous nor valid for high-res */
    };
    return pvt_clocksource_init(&j->cs);
}
