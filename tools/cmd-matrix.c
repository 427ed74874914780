/*
 * `pvtimer sim --matrix[=FILE]`: the fault matrix, whole or one shard;
 * `pvtimer merge A.json B.json ...`: shards' results combined.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "sim/matrix.h"

/* "I/N" with 1 <= I <= N into s (0-based i). */
static int parse_shard(const char *v, struct pvt_sim_matrix_shard *s)
{
    unsigned long i, n;
    char *end;

    if (!v || *v < '1' || *v > '9')
        return -1;
    errno = 0;
    i = strtoul(v, &end, 10);
    if (errno || *end != '/' || end[1] < '1' || end[1] > '9')
        return -1;
    n = strtoul(end + 1, &end, 10);
    if (errno || *end || i < 1 || i > n || n > 1000000)
        return -1;
    s->i = i - 1;
    s->n = n;
    return 0;
}

/* Flushes stdout; 0, or 1 after a message when the output was lost. */
static int finish_stdout(const char *cmd)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "pvtimer %s: writing the results: %s\n", cmd,
                strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

static const char sim_usage[] =
    "usage: pvtimer sim --matrix[=FILE] [--quick] [--shard I/N] "
    "[--threads N] [--json]\n"
    "       pvtimer sim --matrix[=FILE] [--quick] --describe";

static const char sim_about[] =
    "Runs the fault matrix: every combination of its faults' levels (boot "
    "drift, TSC\ncalibration, preemption, clock jumps, clocksource switch, "
    "narrow counter,\ntickless idle, ...), seed and strategy, each a "
    "simulator run that must fire\nno callback early, lose no timer and never "
    "see the guest clock go backwards.\nWithout FILE the built-in default "
    "matrix (>= 10^8 timers), or with --quick\nthe reduced one; FILE is a "
    "matrix description (docs/matrix.md). Prints a\ntable per combination "
    "(or JSON), and exits 1 when a run failed. A shard\n(--shard I/N, I from "
    "1) runs runs I-1, I-1+N, ...; `pvtimer merge` combines\nthe shards' "
    "JSON into the whole run's.";

int pvt_cmd_sim_matrix(int argc, char **argv)
{
    const char *file = NULL, *shard_arg = NULL;
    bool quick = false, json = false, describe = false;
    unsigned long threads = 0;
    const struct pvt_option opts[] = {
        PVT_OPT("--quick", PVT_OPT_FLAG, &quick, NULL,
                "the reduced built-in matrix (every fault, short runs)"),
        PVT_OPT("--shard", PVT_OPT_STRING, &shard_arg, "I/N",
                "run shard I of N (I from 1): runs I-1, I-1+N, ..."),
        PVT_OPT_RANGE("--threads", PVT_OPT_COUNT, &threads, "N",
                      "worker threads (default: one per online CPU)", 1, 256),
        PVT_OPT_JSON(&json),
        PVT_OPT("--describe", PVT_OPT_FLAG, &describe, NULL,
                "print the matrix's description (a FILE to start from)"),
    };
    struct pvt_command_spec spec = PVT_COMMAND_SPEC("sim", sim_usage, opts);
    struct pvt_sim_matrix_shard shard = {0, 0};
    struct pvt_sim_matrix *m;
    struct pvt_sim_matrix_run *runs;
    char **args, err[768];
    int i, n = 0, rc = 0, matrices = 0;

    spec.about = sim_about;
    /* --matrix[=FILE] is taken out here; the parser gets the rest */
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args) {
        fprintf(stderr, "pvtimer sim: out of memory\n");
        return 1;
    }
    for (i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--matrix") == 0) {
            matrices++;
            continue;
        }
        if (i > 0 && strncmp(argv[i], "--matrix=", 9) == 0) {
            matrices++;
            file = argv[i] + 9;
            continue;
        }
        args[n++] = argv[i];
    }
    if (pvt_options_parse(&spec, n, args, &rc)) {
        free(args);
        return rc;
    }
    free(args);
    if (matrices > 1) {
        fprintf(stderr, "pvtimer sim: --matrix given twice\n");
        return 2;
    }
    if (file && !*file) {
        fprintf(stderr, "pvtimer sim: --matrix=FILE: an empty file name\n");
        return 2;
    }
    if (file && quick) {
        fprintf(stderr, "pvtimer sim: --quick is the built-in reduced "
                        "matrix; give it no FILE\n");
        return 2;
    }
    if (shard_arg && parse_shard(shard_arg, &shard)) {
        fprintf(stderr,
                "pvtimer sim: --shard takes I/N with 1 <= I <= N, not '%s'\n",
                shard_arg);
        return 2;
    }
    m = malloc(sizeof(*m));
    if (!m) {
        fprintf(stderr, "pvtimer sim: out of memory\n");
        return 1;
    }
    if (file ? pvt_sim_matrix_load(m, file, err, sizeof(err))
             : pvt_sim_matrix_builtin(m, quick ? "quick" : "default", err,
                                      sizeof(err))) {
        fprintf(stderr, "pvtimer sim: %s\n", err);
        free(m);
        return 2;
    }
    if (describe) {
        pvt_sim_matrix_describe(stdout, m);
        free(m);
        return finish_stdout("sim");
    }
    runs = calloc(m->runs, sizeof(*runs));
    if (!runs) {
        fprintf(stderr, "pvtimer sim: out of memory\n");
        free(m);
        return 1;
    }
    {
        struct pvt_progress bar;
        int failed;

        pvt_progress_start(&bar, "fault matrix");
        failed = pvt_sim_matrix_execute(
            m, shard.n ? &shard : NULL, (unsigned int)threads, runs,
            pvt_progress_show, &bar, err, sizeof(err));
        pvt_progress_end(&bar);
        if (failed) {
            fprintf(stderr, "pvtimer sim: %s\n", err);
            pvt_sim_matrix_runs_free(runs, m->runs);
            free(m);
            return 1;
        }
    }
    if (json)
        pvt_sim_matrix_json(stdout, m, shard.n ? &shard : NULL, runs);
    else
        pvt_sim_matrix_table(stdout, m, shard.n ? &shard : NULL, runs);
    rc = pvt_sim_matrix_ok(m, runs) ? 0 : 1;
    if (finish_stdout("sim"))
        rc = 1;
    pvt_sim_matrix_runs_free(runs, m->runs);
    free(m);
    return rc;
}

static const char merge_usage[] =
    "usage: pvtimer merge [--table] A.json B.json ...";

static const char merge_about[] =
    "Combines the JSON of `pvtimer sim --matrix --shard I/N --json` runs into "
    "the\nwhole matrix's JSON on stdout, byte for byte what the unsharded "
    "run writes\n(the runs' histograms add, so every percentile is the "
    "unsharded run's). The\nfiles must hold the same matrix, no run twice, "
    "and every run between them.\nExits 1 when a run failed (the output is "
    "written all the same), 2 for bad\ninput.";

int pvt_cmd_merge(int argc, char **argv)
{
    struct pvt_opt_list files = {0};
    bool table = false;
    const struct pvt_option opts[] = {
        PVT_OPT("--table", PVT_OPT_FLAG, &table, NULL,
                "print the table per combination instead of JSON"),
    };
    struct pvt_command_spec spec = PVT_COMMAND_SPEC("merge", merge_usage, opts);
    struct pvt_sim_matrix *m;
    struct pvt_sim_matrix_run *runs = NULL;
    char err[768];
    size_t i, r, missing = 0, first_missing = 0;
    int rc = 0;

    spec.about = merge_about;
    spec.operands = &files;
    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    if (files.n == 0) {
        fprintf(stderr, "pvtimer merge: no files (%s)\n", merge_usage + 7);
        return 2;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        fprintf(stderr, "pvtimer merge: out of memory\n");
        return 1;
    }
    for (i = 0; i < files.n; i++) {
        if (pvt_sim_matrix_read_json(files.v[i], m, &runs, i == 0, err,
                                     sizeof(err))) {
            fprintf(stderr, "pvtimer merge: %s\n", err);
            pvt_sim_matrix_runs_free(runs, runs ? m->runs : 0);
            free(m);
            return 2;
        }
    }
    for (r = 0; r < m->runs; r++)
        if (!runs[r].done && missing++ == 0)
            first_missing = r;
    if (missing) {
        fprintf(stderr,
                "pvtimer merge: %zu of the matrix's %zu runs are in none of "
                "the files (run %zu first): a shard missing\n",
                missing, m->runs, first_missing);
        pvt_sim_matrix_runs_free(runs, m->runs);
        free(m);
        return 2;
    }
    if (table)
        pvt_sim_matrix_table(stdout, m, NULL, runs);
    else
        pvt_sim_matrix_json(stdout, m, NULL, runs);
    rc = pvt_sim_matrix_ok(m, runs) ? 0 : 1;
    if (finish_stdout("merge"))
        rc = 1;
    pvt_sim_matrix_runs_free(runs, m->runs);
    free(m);
    return rc;
}
