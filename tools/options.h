/*
 * The tool's one option parser: each command describes its options in a
 * table (name, kind, destination, help) and gets the same behaviour for
 * every one of them: `--name VALUE` (the next argument, whatever it looks
 * like), "needs a value" when it is missing, numbers and ranges checked
 * the same way, durations with units everywhere (the simulator's unit
 * parser), seeds non-negative, and the help text generated from the
 * table. Messages go to stderr as "pvtimer CMD: ...".
 */
#ifndef PVTIMER_TOOLS_OPTIONS_H
#define PVTIMER_TOOLS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pvt_strategy;

enum pvt_opt_kind {
    PVT_OPT_FLAG,       /* bool: set true; takes no value */
    PVT_OPT_STRING,     /* const char *: the value as given */
    PVT_OPT_LIST,       /* struct pvt_opt_list: values appended */
    PVT_OPT_COUNT,      /* unsigned long: a decimal integer in [min, max] */
    PVT_OPT_NUMBER,     /* double: a number in [min, max] */
    PVT_OPT_DURATION,   /* double: a time with an optional unit, stored in
                           the unit `unit` names ("s", "ms"), in [min, max] */
    PVT_OPT_SEED,       /* uint64_t: a non-negative integer */
    PVT_OPT_STRATEGIES, /* struct pvt_opt_strategies: a list or "all" */
};

#define PVT_OPT_LIST_MAX 64

/* The values of a repeated option (--set), in order. */
struct pvt_opt_list {
    const char *v[PVT_OPT_LIST_MAX];
    size_t n;
};

#define PVT_OPT_STRATEGIES_MAX 16

/* A --strategy list: names resolved, duplicates dropped, in order. */
struct pvt_opt_strategies {
    const struct pvt_strategy *s[PVT_OPT_STRATEGIES_MAX];
    size_t n;
    bool given;
};

struct pvt_option {
    const char *name; /* "--seed" */
    enum pvt_opt_kind kind;
    void *dest;       /* of the kind's type (above) */
    const char *arg;  /* the value's name in the help ("N"); NULL: none */
    const char *help; /* one line, or several separated by '\n' */
    double min, max;  /* COUNT, NUMBER, DURATION; both 0: no range */
    bool min_open;    /* NUMBER, DURATION: min itself is refused */
    bool max_open;    /* and max */
    const char *unit; /* DURATION: "ns" "us" "ms" "s" ...; NULL: "s" */
};

/* Table rows: an option without a range; with [min, max]; with (min,
 * max); a duration in unit with (min, max] (min_open) or [min, max]. */
/* clang-format off */
#define PVT_OPT(name, kind, dest, arg, help) \
    {(name), (kind), (dest), (arg), (help), 0, 0, false, false, NULL}
#define PVT_OPT_RANGE(name, kind, dest, arg, help, min, max) \
    {(name), (kind), (dest), (arg), (help), (min), (max), false, false, NULL}
#define PVT_OPT_OPEN(name, kind, dest, arg, help, min, max) \
    {(name), (kind), (dest), (arg), (help), (min), (max), true, true, NULL}
#define PVT_OPT_TIME(name, dest, arg, help, min, min_open, max, unit) \
    {(name), PVT_OPT_DURATION, (dest), (arg), (help), (min), (max), \
     (min_open), false, (unit)}
#define PVT_OPT_JSON(dest) \
    PVT_OPT("--json", PVT_OPT_FLAG, (dest), NULL, "one JSON object on stdout")
/* clang-format on */

struct pvt_command_spec {
    const char *name;  /* "sim": messages say "pvtimer sim: " */
    const char *usage; /* the usage lines, from "usage: " on */
    const char *about; /* a paragraph after the usage, or NULL */
    const struct pvt_option *opts;
    size_t nopts;
    const char *epilog; /* after the options, or NULL */
    /* Arguments that are no option (not starting with "--"), in order;
     * NULL: such an argument is an error ("unexpected argument"). */
    struct pvt_opt_list *operands;
};

/*
 * Parses argv[1 .. argc) (argv[0] is the command's name) into the
 * table's destinations. "--help" and "-h" print the help on stdout. Returns
 * true when the command must return *status now: 0 after the help, 2
 * after a message on stderr (an unknown option, a missing or malformed
 * value, one out of range, too many values; also, silently, for a NULL
 * spec or argv). false (*status 0): parsed; go on. Any thread.
 * The destinations keep their defaults for options not given.
 */
/* A command with options and a usage text only. */
#define PVT_COMMAND_SPEC(cmd, text, table)                                     \
    {                                                                          \
        .name = (cmd), .usage = (text), .opts = (table),                       \
        .nopts = sizeof(table) / sizeof((table)[0]),                           \
    }

bool pvt_options_parse(const struct pvt_command_spec *spec, int argc,
                       char **argv, int *status);

/* Prints the help generated from spec on f (nothing when either is
 * NULL). */
void pvt_options_help(const struct pvt_command_spec *spec, FILE *f);

/*
 * Parses a comma-separated list of strategy names, or "all", into out.
 * Returns 0; -1 with a message on stderr naming cmd for an unknown name or
 * an empty list (and without one for NULL arguments).
 */
int pvt_options_strategies(const char *cmd, const char *arg,
                           struct pvt_opt_strategies *out);

#endif /* PVTIMER_TOOLS_OPTIONS_H */
