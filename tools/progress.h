/*
 * A progress bar on standard error, for the commands that run for a while
 * (sim, sim --matrix): shown only on a terminal, and only once the work
 * has taken more than a second; erased at the end.
 */
#ifndef PVT_TOOLS_PROGRESS_H
#define PVT_TOOLS_PROGRESS_H

#include <stdbool.h>

struct pvt_progress {
    double start; /* pvt_wall_now() at pvt_progress_start */
    const char *label;
    bool tty, shown;
};

/* Seconds of CLOCK_MONOTONIC. */
double pvt_wall_now(void);

/* Starts the clock; label (kept, not copied) heads the bar. */
void pvt_progress_start(struct pvt_progress *p, const char *label);

/* The callback the runners take (ctx: a struct pvt_progress; frac: the
 * fraction done, 0 .. 1). */
void pvt_progress_show(void *ctx, double frac);

/* Erases the bar if it was shown. */
void pvt_progress_end(struct pvt_progress *p);

#endif
