/*
 * The tool's option parser (contracts in options.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "pvtimer/pvtimer.h"
#include "sim/params.h"

/* An argument as a message may echo it: non-printable bytes escaped. */
#define ESC(buf, str)                                                          \
    (pvt_sim_escape((buf), sizeof(buf), (str), strlen(str)), (buf))

/* Column of an option's help text. */
#define HELP_COLUMN 24

static void help_lines(FILE *f, const char *text, int indent)
{
    const char *line = text;

    for (;;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);

        fprintf(f, "%.*s\n", len, line);
        if (nl == NULL || nl[1] == '\0')
            return;
        line = nl + 1;
        fprintf(f, "%*s", indent, "");
    }
}

void pvt_options_help(const struct pvt_command_spec *spec, FILE *f)
{
    size_t i;

    if (spec == NULL || f == NULL)
        return;
    fprintf(f, "%s\n", spec->usage);
    if (spec->about)
        fprintf(f, "%s\n", spec->about);
    fprintf(f, "\n");
    for (i = 0; i < spec->nopts; i++) {
        const struct pvt_option *o = &spec->opts[i];
        int w = fprintf(f, "  %s%s%s", o->name, o->arg ? " " : "",
                        o->arg ? o->arg : "");

        if (w >= HELP_COLUMN) {
            fprintf(f, "\n");
            w = 0;
        }
        fprintf(f, "%*s", HELP_COLUMN - w, "");
        help_lines(f, o->help, HELP_COLUMN);
    }
    if (spec->epilog)
        fprintf(f, "%s", spec->epilog);
}

int pvt_options_strategies(const char *cmd, const char *arg,
                           struct pvt_opt_strategies *out)
{
    size_t count, i;
    const struct pvt_strategy *const *all = pvt_strategies(&count);
    char buf[256], *tok, *save = NULL;

    if (cmd == NULL || arg == NULL || out == NULL)
        return -1;
    out->n = 0;
    if (strcmp(arg, "all") == 0) {
        for (i = 0; i < count && i < PVT_OPT_STRATEGIES_MAX; i++)
            out->s[out->n++] = all[i];
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        const struct pvt_strategy *s = pvt_strategy_find(tok);
        char e[128];

        if (!s) {
            fprintf(stderr,
                    "pvtimer %s: unknown strategy '%s' (pvtimer strategies "
                    "lists them)\n",
                    cmd, ESC(e, tok));
            return -1;
        }
        for (i = 0; i < out->n; i++)
            if (out->s[i] == s)
                break;
        if (i == out->n && out->n < PVT_OPT_STRATEGIES_MAX)
            out->s[out->n++] = s;
    }
    if (out->n == 0) {
        fprintf(stderr, "pvtimer %s: --strategy names no strategy\n", cmd);
        return -1;
    }
    return 0;
}

/* "[min, max]" or "(min, max]", for messages. */
static const char *range(char *buf, size_t len, const struct pvt_option *o)
{
    snprintf(buf, len, "%c%.15g, %.15g%c", o->min_open ? '(' : '[', o->min,
             o->max, o->max_open ? ')' : ']');
    return buf;
}

static bool in_range(const struct pvt_option *o, double v)
{
    if (o->min == 0 && o->max == 0)
        return true;
    return (o->min_open ? v > o->min : v >= o->min) &&
           (o->max_open ? v < o->max : v <= o->max);
}

/* One option's value into its destination; 0, or -1 after a message. */
static int take(const char *cmd, const struct pvt_option *o, const char *v)
{
    char r[64], err[256], ev[128];
    char *end;

    if (v)
        ESC(ev, v);

    switch (o->kind) {
    case PVT_OPT_FLAG:
        *(bool *)o->dest = true;
        return 0;
    case PVT_OPT_STRING:
        *(const char **)o->dest = v;
        return 0;
    case PVT_OPT_LIST: {
        struct pvt_opt_list *l = o->dest;

        if (l->n == PVT_OPT_LIST_MAX) {
            fprintf(stderr, "pvtimer %s: too many %s (at most %d)\n", cmd,
                    o->name, PVT_OPT_LIST_MAX);
            return -1;
        }
        l->v[l->n++] = v;
        return 0;
    }
    case PVT_OPT_COUNT: {
        unsigned long x;

        errno = 0;
        x = strtoul(v, &end, 10);
        if (*v < '0' || *v > '9' || *end || errno || !in_range(o, (double)x)) {
            fprintf(stderr,
                    "pvtimer %s: %s takes a whole number in %s, not '%s'\n",
                    cmd, o->name, range(r, sizeof(r), o), ev);
            return -1;
        }
        *(unsigned long *)o->dest = x;
        return 0;
    }
    case PVT_OPT_SEED: {
        unsigned long long x;

        if (*v == '-') {
            fprintf(stderr, "pvtimer %s: %s must be non-negative, not '%s'\n",
                    cmd, o->name, ev);
            return -1;
        }
        errno = 0;
        x = strtoull(v, &end, 0);
        if (*v < '0' || *v > '9' || *end || errno) {
            fprintf(stderr, "pvtimer %s: %s takes a number, not '%s'\n", cmd,
                    o->name, ev);
            return -1;
        }
        *(uint64_t *)o->dest = x;
        return 0;
    }
    case PVT_OPT_NUMBER: {
        double x;

        errno = 0;
        x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x)) {
            fprintf(stderr, "pvtimer %s: %s takes a number, not '%s'\n", cmd,
                    o->name, ev);
            return -1;
        }
        if (!in_range(o, x)) {
            fprintf(stderr, "pvtimer %s: %s takes a number in %s, not '%s'\n",
                    cmd, o->name, range(r, sizeof(r), o), ev);
            return -1;
        }
        *(double *)o->dest = x;
        return 0;
    }
    case PVT_OPT_DURATION: {
        const char *unit = o->unit ? o->unit : "s";
        char one[16];
        double unit_ns, x;

        /* the unit's worth in ns, by the same parser */
        snprintf(one, sizeof(one), "1%s", unit);
        if (pvt_sim_parse_quantity(o->name, one, PVT_SIM_UNIT_TIME, 1, &unit_ns,
                                   err, sizeof(err)) < 0 ||
            pvt_sim_parse_quantity(o->name, v, PVT_SIM_UNIT_TIME, unit_ns, &x,
                                   err, sizeof(err)) < 0) {
            fprintf(stderr, "pvtimer %s: %s\n", cmd, err);
            return -1;
        }
        if (!in_range(o, x)) {
            fprintf(stderr, "pvtimer %s: %s takes a time in %s %s, not '%s'\n",
                    cmd, o->name, range(r, sizeof(r), o), unit, ev);
            return -1;
        }
        *(double *)o->dest = x;
        return 0;
    }
    case PVT_OPT_STRATEGIES: {
        struct pvt_opt_strategies *s = o->dest;

        if (pvt_options_strategies(cmd, v, s) < 0)
            return -1;
        s->given = true;
        return 0;
    }
    }
    return -1;
}

bool pvt_options_parse(const struct pvt_command_spec *spec, int argc,
                       char **argv, int *status)
{
    int a;

    if (status == NULL)
        return true;
    *status = 2;
    if (spec == NULL || argv == NULL || (spec->opts == NULL && spec->nopts))
        return true;
    for (a = 1; a < argc; a++) {
        const char *arg = argv[a];
        const struct pvt_option *o = NULL;
        char e[128];
        size_t i;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            pvt_options_help(spec, stdout);
            *status = 0;
            return true;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (spec->operands == NULL) {
                fprintf(stderr,
                        "pvtimer %s: unexpected argument '%s' (try pvtimer "
                        "%s --help)\n",
                        spec->name, ESC(e, arg), spec->name);
                return true;
            }
            if (spec->operands->n == PVT_OPT_LIST_MAX) {
                fprintf(stderr, "pvtimer %s: too many arguments\n", spec->name);
                return true;
            }
            spec->operands->v[spec->operands->n++] = arg;
            continue;
        }
        for (i = 0; i < spec->nopts && o == NULL; i++)
            if (strcmp(arg, spec->opts[i].name) == 0)
                o = &spec->opts[i];
        if (o == NULL) {
            fprintf(stderr,
                    "pvtimer %s: unknown option '%s' (try pvtimer %s "
                    "--help)\n",
                    spec->name, ESC(e, arg), spec->name);
            return true;
        }
        if (o->kind != PVT_OPT_FLAG && a + 1 >= argc) {
            fprintf(stderr, "pvtimer %s: %s needs a value\n", spec->name, arg);
            return true;
        }
        if (take(spec->name, o, o->kind == PVT_OPT_FLAG ? NULL : argv[++a]) < 0)
            return true;
    }
    *status = 0;
    return false;
}
