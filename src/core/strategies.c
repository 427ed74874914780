/*
 * The table of built-in strategies. Kept apart from strategy.c because it
 * names compensated, and so links the drift estimator: a guest that names
 * its strategy directly links strategy.c without drift.c.
 */
#include "pvtimer/strategy.h"

#include "util.h"

static const struct pvt_strategy *const strategies[] = {
    &pvt_strategy_abs_boot_offset, &pvt_strategy_abs_mode_offset,
    &pvt_strategy_relative,        &pvt_strategy_delta,
    &pvt_strategy_coupled,         &pvt_strategy_compensated,
};

const struct pvt_strategy *const *pvt_strategies(size_t *count)
{
    if (count)
        *count = PVT_ARRAY_SIZE(strategies);
    return strategies;
}

const struct pvt_strategy *pvt_strategy_find(const char *name)
{
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; i < PVT_ARRAY_SIZE(strategies); i++)
        if (pvt__strcmp(strategies[i]->name, name) == 0)
            return strategies[i];
    return NULL;
}
