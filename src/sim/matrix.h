/*
 * The fault matrix: the cross product of fault levels (boot clock drift,
 * TSC calibration, preemption, clock jumps, clocksource switch, narrow
 * counter, tickless idle, ... each an axis of simulator parameter
 * assignments), seeds and strategies, every combination a simulator run
 * that must fire no callback early, lose no timer and never see the guest
 * clock go backwards.
 *
 * A matrix is described in a small text format (docs/matrix.md); the
 * built-in "default" and "quick" matrices are written in it. Runs are
 * numbered: run = (combination * seeds + seed) * strategies + strategy,
 * the combination counting the axes' levels with the last axis fastest.
 * A shard I/N holds the runs whose number is I - 1 modulo N. A run's
 * result keeps its whole lateness histogram, so results from shards
 * merge exactly: the JSON of the merged shards is the unsharded run's,
 * byte for byte.
 */
#ifndef PVTIMER_SIM_MATRIX_H
#define PVTIMER_SIM_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "params.h"
#include "stats.h"

struct pvt_strategy;

#define PVT_SIM_MATRIX_NAME    32  /* names and labels, with the NUL */
#define PVT_SIM_MATRIX_SETS    512 /* a level's or the base's assignments */
#define PVT_SIM_MATRIX_AXES    12
#define PVT_SIM_MATRIX_LEVELS  32
#define PVT_SIM_MATRIX_SEEDS   64
#define PVT_SIM_MATRIX_KNOWN   32
#define PVT_SIM_MATRIX_MAXRUNS 10000000u

/* A failure a `known` line expects (a strategy's documented weakness). */
#define PVT_SIM_MATRIX_LOST  1u
#define PVT_SIM_MATRIX_EARLY 2u

struct pvt_sim_matrix_level {
    char label[PVT_SIM_MATRIX_NAME];
    char sets[PVT_SIM_MATRIX_SETS]; /* "key=value key=value" */
};

struct pvt_sim_matrix_axis {
    char name[PVT_SIM_MATRIX_NAME];
    size_t nlevels;
    struct pvt_sim_matrix_level level[PVT_SIM_MATRIX_LEVELS];
};

struct pvt_sim_matrix_known {
    const struct pvt_strategy *strategy;
    size_t axis, level;
    unsigned int what; /* PVT_SIM_MATRIX_LOST | PVT_SIM_MATRIX_EARLY */
};

struct pvt_sim_matrix {
    char name[PVT_SIM_MATRIX_NAME];
    char base[PVT_SIM_MATRIX_SETS];
    size_t naxes;
    struct pvt_sim_matrix_axis axis[PVT_SIM_MATRIX_AXES];
    size_t nseeds;
    uint64_t seed[PVT_SIM_MATRIX_SEEDS];
    size_t nstrategies;
    const struct pvt_strategy *strategy[16];
    size_t nknown;
    struct pvt_sim_matrix_known known[PVT_SIM_MATRIX_KNOWN];
    size_t combos;   /* the product of the axes' level counts */
    size_t runs;     /* combos * nseeds * nstrategies */
    uint64_t digest; /* FNV-1a of the canonical description */
};

/* A lateness histogram as a run keeps it: the non-empty buckets only. */
struct pvt_sim_matrix_hist {
    uint64_t count, negative, max_abs;
    int64_t min, max;
    size_t n;
    uint32_t *idx; /* bucket numbers, increasing */
    uint64_t *cnt;
};

struct pvt_sim_matrix_run {
    bool done;
    bool truncated;
    uint64_t timers, fired, cancelled, pending, lost, early;
    uint64_t backwards; /* guest clock readings below an earlier one */
    uint64_t clamps;    /* readings the timekeeper's guard held up */
    struct pvt_sim_matrix_hist lateness;
};

/* A shard: runs i, i + n, i + 2n, ... (i counted from 0 here; the command
 * line's I/N is 1-based). */
struct pvt_sim_matrix_shard {
    size_t i, n;
};

/*
 * Parses a matrix description (docs/matrix.md) into m. origin names the
 * text in messages ("FILE", "built-in default"). Every combination's
 * parameters are checked. Returns 0; -1 with "origin:line: problem" in
 * err.
 */
int pvt_sim_matrix_parse(struct pvt_sim_matrix *m, const char *text,
                         const char *origin, char *err, size_t errlen);

/* A matrix description file, read whole (up to 1 MiB). Same returns. */
int pvt_sim_matrix_load(struct pvt_sim_matrix *m, const char *path, char *err,
                        size_t errlen);

/* The built-in matrices: "default" (>= 10^8 timers) and "quick" (every
 * fault, short runs). Returns 0; -1 with a message for another name. */
int pvt_sim_matrix_builtin(struct pvt_sim_matrix *m, const char *name,
                           char *err, size_t errlen);

/* The canonical description of m (what its digest is of) into f. */
void pvt_sim_matrix_describe(FILE *f, const struct pvt_sim_matrix *m);

/*
 * The parameters, seed, strategy and level of every axis of run r
 * (levels: m->naxes entries, may be NULL). Returns 0; -1 with a message
 * (r out of range, parameters refused).
 */
int pvt_sim_matrix_cell(const struct pvt_sim_matrix *m, size_t r,
                        struct pvt_sim_params *p, uint64_t *seed,
                        const struct pvt_strategy **strategy, size_t *levels,
                        char *err, size_t errlen);

/* Whether run r of shard s. */
bool pvt_sim_matrix_in_shard(const struct pvt_sim_matrix_shard *s, size_t r);

/*
 * Runs the runs of shard s (NULL: all) on `threads` threads (0: one per
 * online CPU) into runs[0 .. m->runs) (calloc'd by the caller; the
 * shard's entries are filled and marked done). progress (may be NULL) gets
 * the fraction done, from the calling thread. Returns 0; -1 with the first
 * failure in err (a run's setup, out of memory).
 */
int pvt_sim_matrix_execute(const struct pvt_sim_matrix *m,
                           const struct pvt_sim_matrix_shard *s,
                           unsigned int threads,
                           struct pvt_sim_matrix_run *runs,
                           void (*progress)(void *ctx, double fraction),
                           void *ctx, char *err, size_t errlen);

/* Whether run r passed: no early callback, nothing lost (unless a known
 * line expects it), the guest clock never backwards, not truncated. */
bool pvt_sim_matrix_run_ok(const struct pvt_sim_matrix *m, size_t r,
                           const struct pvt_sim_matrix_run *run);

/* Whether every done run passed. */
bool pvt_sim_matrix_ok(const struct pvt_sim_matrix *m,
                       const struct pvt_sim_matrix_run *runs);

/* The done runs as JSON (shard NULL: a whole matrix, no shard member) and
 * as a table per combination. */
void pvt_sim_matrix_json(FILE *f, const struct pvt_sim_matrix *m,
                         const struct pvt_sim_matrix_shard *s,
                         const struct pvt_sim_matrix_run *runs);
void pvt_sim_matrix_table(FILE *f, const struct pvt_sim_matrix *m,
                          const struct pvt_sim_matrix_shard *s,
                          const struct pvt_sim_matrix_run *runs);

/*
 * Reads the JSON of pvt_sim_matrix_json from path. The first file
 * (*m's runs 0) sets *m and allocates *runs (m->runs entries); later files
 * must describe the same matrix, and their runs are added where not yet
 * done. Returns 0; -1 with a message naming path (not such a file,
 * another matrix, a run already read: overlapping shards, a malformed
 * run).
 */
int pvt_sim_matrix_read_json(const char *path, struct pvt_sim_matrix *m,
                             struct pvt_sim_matrix_run **runs, bool first,
                             char *err, size_t errlen);

/* Frees what runs[0 .. n) hold, and runs. */
void pvt_sim_matrix_runs_free(struct pvt_sim_matrix_run *runs, size_t n);

#endif /* PVTIMER_SIM_MATRIX_H */
