/*
 * The tool's option parser (tools/options.c), in process: what each kind
 * of option takes and refuses, and the help generated from a table.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "pvtimer/pvtimer.h"
#include "runner/test.h"

/* Every kind once. */
struct dest {
    bool flag;
    const char *str;
    struct pvt_opt_list list, operands;
    unsigned long count;
    double number, secs, ms;
    uint64_t seed;
    struct pvt_opt_strategies strat;
};

#define NOPTS 8

static void table(struct dest *d, struct pvt_option *o,
                  struct pvt_command_spec *spec, bool operands)
{
    const struct pvt_option opts[NOPTS] = {
        PVT_OPT("--flag", PVT_OPT_FLAG, &d->flag, NULL, "a flag"),
        PVT_OPT("--str", PVT_OPT_STRING, &d->str, "S", "a string"),
        PVT_OPT("--set", PVT_OPT_LIST, &d->list, "K=V", "repeated"),
        PVT_OPT_RANGE("--count", PVT_OPT_COUNT, &d->count, "N", "a count", 1,
                      10),
        PVT_OPT_OPEN("--number", PVT_OPT_NUMBER, &d->number, "X",
                     "a number\nover two lines", -1, 1),
        PVT_OPT_TIME("--secs", &d->secs, "S", "seconds", 0, true, 3600, "s"),
        PVT_OPT_TIME("--ms", &d->ms, "MS", "milliseconds", 1, false, 60000,
                     "ms"),
        PVT_OPT("--seed", PVT_OPT_SEED, &d->seed, "N", "a seed"),
    };

    memset(d, 0, sizeof(*d));
    memcpy(o, opts, sizeof(opts));
    memset(spec, 0, sizeof(*spec));
    spec->name = "test";
    spec->usage = "usage: pvtimer test [OPTIONS]";
    spec->opts = o;
    spec->nopts = NOPTS;
    spec->operands = operands ? &d->operands : NULL;
}

/* Parses the NULL-terminated arguments after the command's name; returns
 * -1 when parsing went on, else the status the command must return. */
static int parse(const struct pvt_command_spec *spec, const char *const *args)
{
    static char buf[80][64];
    char *argv[80];
    int argc = 1, status;

    snprintf(buf[0], sizeof(buf[0]), "test");
    argv[0] = buf[0];
    while (*args && argc < 79) {
        snprintf(buf[argc], sizeof(buf[argc]), "%s", *args++);
        argv[argc] = buf[argc];
        argc++;
    }
    argv[argc] = NULL;
    if (pvt_options_parse(spec, argc, argv, &status))
        return status;
    return status == 0 ? -1 : 99;
}

#define PARSE(spec, ...) parse(spec, (const char *const[]){__VA_ARGS__, NULL})

TEST_IMPL(options_values_and_units)
{
    struct dest d;
    struct pvt_option o[NOPTS];
    struct pvt_command_spec spec;

    table(&d, o, &spec, false);
    ASSERT_EQ(PARSE(&spec, "--flag", "--str", "--not-an-option", "--set", "a=1",
                    "--set", "b=2", "--count", "10", "--number", "-0.5",
                    "--seed", "18446744073709551615"),
              -1);
    ASSERT(d.flag);
    /* a value is the next argument, whatever it looks like */
    ASSERT_STR_EQ(d.str, "--not-an-option");
    ASSERT_UEQ(d.list.n, 2);
    ASSERT_STR_EQ(d.list.v[1], "b=2");
    ASSERT_UEQ(d.count, 10);
    ASSERT(d.number == -0.5);
    ASSERT_UEQ(d.seed, UINT64_MAX);

    /* durations: a bare number in the option's unit, or any time unit */
    ASSERT_EQ(PARSE(&spec, "--secs", "2m", "--ms", "250"), -1);
    ASSERT(d.secs == 120);
    ASSERT(d.ms == 250);
    ASSERT_EQ(PARSE(&spec, "--secs", "500ms", "--ms", "1.5s"), -1);
    ASSERT(d.secs == 0.5);
    ASSERT(d.ms == 1500);
    ASSERT_EQ(PARSE(&spec, "--ms", "2000us"), -1);
    ASSERT(d.ms == 2);
    /* a unit of another dimension, or none known */
    ASSERT_EQ(PARSE(&spec, "--secs", "5kHz"), 2);
    ASSERT_EQ(PARSE(&spec, "--secs", "5 fortnights"), 2);
    /* ranges: (0, 3600] s and [1, 60000] ms, whatever unit was given */
    ASSERT_EQ(PARSE(&spec, "--secs", "0"), 2);
    ASSERT_EQ(PARSE(&spec, "--secs", "2h"), 2);
    ASSERT_EQ(PARSE(&spec, "--secs", "1h"), -1);
    ASSERT(d.secs == 3600);
    ASSERT_EQ(PARSE(&spec, "--ms", "500us"), 2);
    RETURN_OK();
}

TEST_IMPL(options_refusals)
{
    struct dest d;
    struct pvt_option o[NOPTS];
    struct pvt_command_spec spec;
    int i;

    table(&d, o, &spec, false);
    /* a missing value, for every kind that takes one */
    ASSERT_EQ(PARSE(&spec, "--str"), 2);
    ASSERT_EQ(PARSE(&spec, "--seed"), 2);
    ASSERT_EQ(PARSE(&spec, "--flag", "--secs"), 2);
    /* unknown options; a bare argument where none is taken */
    ASSERT_EQ(PARSE(&spec, "--frobnicate"), 2);
    ASSERT_EQ(PARSE(&spec, "-x"), 2);
    ASSERT_EQ(PARSE(&spec, "word"), 2);
    /* bad numbers */
    ASSERT_EQ(PARSE(&spec, "--count", "x"), 2);
    ASSERT_EQ(PARSE(&spec, "--count", "3x"), 2);
    ASSERT_EQ(PARSE(&spec, "--count", "-3"), 2);
    ASSERT_EQ(PARSE(&spec, "--count", "0"), 2);
    ASSERT_EQ(PARSE(&spec, "--count", "11"), 2);
    ASSERT_EQ(PARSE(&spec, "--number", "1"), 2); /* open interval */
    ASSERT_EQ(PARSE(&spec, "--number", "nan"), 2);
    ASSERT_EQ(PARSE(&spec, "--number", ""), 2);
    ASSERT_EQ(PARSE(&spec, "--secs", "x"), 2);
    /* seeds: non-negative, whole, in 64 bits */
    ASSERT_EQ(PARSE(&spec, "--seed", "-1"), 2);
    ASSERT_EQ(PARSE(&spec, "--seed", "1.5"), 2);
    ASSERT_EQ(PARSE(&spec, "--seed", "18446744073709551616"), 2);
    ASSERT_EQ(PARSE(&spec, "--seed", "0"), -1);
    ASSERT_UEQ(d.seed, 0);
    /* a repeated option holds PVT_OPT_LIST_MAX values, then refuses */
    for (i = 0; i < PVT_OPT_LIST_MAX; i++)
        ASSERT_EQ(PARSE(&spec, "--set", "k=v"), -1);
    ASSERT_UEQ(d.list.n, PVT_OPT_LIST_MAX);
    ASSERT_EQ(PARSE(&spec, "--set", "k=v"), 2);
    RETURN_OK();
}

TEST_IMPL(options_operands_strategies_help)
{
    struct dest d;
    struct pvt_option o[NOPTS];
    struct pvt_command_spec spec;
    const struct pvt_strategy *const *all;
    size_t n;
    FILE *f;
    char text[4096];
    size_t len;

    table(&d, o, &spec, true);
    /* operands, a leading single dash included, in order */
    ASSERT_EQ(PARSE(&spec, "one", "--flag", "-two"), -1);
    ASSERT_UEQ(d.operands.n, 2);
    ASSERT_STR_EQ(d.operands.v[0], "one");
    ASSERT_STR_EQ(d.operands.v[1], "-two");

    /* strategies: names in order, duplicates dropped; all; unknown */
    all = pvt_strategies(&n);
    ASSERT_OK(pvt_options_strategies("test", "delta,coupled,delta", &d.strat));
    ASSERT_UEQ(d.strat.n, 2);
    ASSERT_PTR_EQ(d.strat.s[0], pvt_strategy_find("delta"));
    ASSERT_PTR_EQ(d.strat.s[1], pvt_strategy_find("coupled"));
    ASSERT_OK(pvt_options_strategies("test", "all", &d.strat));
    ASSERT_UEQ(d.strat.n, n);
    ASSERT_PTR_EQ(d.strat.s[0], all[0]);
    ASSERT_EQ(pvt_options_strategies("test", "delta,nope", &d.strat), -1);
    ASSERT_EQ(pvt_options_strategies("test", ",", &d.strat), -1);

    /* --help and -h: status 0; the text lists every option of the table,
     * continuation lines under the help column */
    ASSERT_EQ(PARSE(&spec, "--count", "x", "--help"), 2);
    ASSERT_EQ(PARSE(&spec, "--help"), 0);
    ASSERT_EQ(PARSE(&spec, "-h"), 0);
    f = tmpfile();
    ASSERT_NOT_NULL(f);
    pvt_options_help(&spec, f);
    rewind(f);
    len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    ASSERT(strncmp(text, "usage: pvtimer test [OPTIONS]\n", 30) == 0);
    ASSERT(strstr(text, "\n  --count N             a count\n") != NULL);
    ASSERT(strstr(text, "a number\n                        over two lines\n") !=
           NULL);
    for (size_t i = 0; i < NOPTS; i++)
        ASSERT(strstr(text, o[i].name) != NULL);
    RETURN_OK();
}
