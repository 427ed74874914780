/*
 * The guest's command-line arguments: space-separated "key=value" words.
 * Contracts in guest.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "pvtimer/strategy.h"

/* Contract in guest.h. */
const char *pvt_guest_arg(const char *args, const char *key)
{
    const char *p = args;

    while (*p) {
        size_t i = 0;

        while (key[i] && p[i] == key[i])
            i++;
        if (!key[i] && p[i] == '=')
            return p + i + 1;
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    return NULL;
}

/* Contract in guest.h. */
int pvt_guest_arg_int(const char *args, const char *key, int64_t *out)
{
    const char *w = pvt_guest_arg(args, key);
    uint64_t v = 0;
    bool neg = false;

    if (w == NULL)
        return 0;
    if (*w == '-') {
        neg = true;
        w++;
    }
    if (*w < '0' || *w > '9')
        return -1;
    while (*w >= '0' && *w <= '9') {
        if (v > (uint64_t)INT64_MAX / 10)
            return -1;
        v = v * 10 + (uint64_t)(*w++ - '0');
    }
    if ((*w && *w != ' ') || v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 1;
}

/* Contract in guest.h. */
int pvt_guest_scenario_args(const char *args, const char *const keys[],
                            int64_t *const dst[], size_t n,
                            const struct pvt_strategy **strategy)
{
    char name[32];
    const char *s;
    size_t i;

    for (i = 0; i < n; i++) {
        if (pvt_guest_arg_int(args, keys[i], dst[i]) < 0) {
            pvt_guest_printf("guest: scenario: bad value for %s\n", keys[i]);
            return -1;
        }
    }
    s = pvt_guest_arg(args, "strategy");
    if (s == NULL) {
        pvt_guest_printf("guest: scenario: no strategy=NAME\n");
        return -1;
    }
    for (i = 0; i + 1 < sizeof(name) && s[i] && s[i] != ' '; i++)
        name[i] = s[i];
    name[i] = '\0';
    *strategy = pvt_strategy_find(name);
    if (*strategy == NULL) {
        pvt_guest_printf("guest: scenario: unknown strategy '%s'\n", name);
        return -1;
    }
    return 0;
}
