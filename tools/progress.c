/* A progress bar on standard error (progress.h). */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double pvt_wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pvt_progress_start(struct pvt_progress *p, const char *label)
{
    p->start = pvt_wall_now();
    p->label = label ? label : "";
    p->tty = isatty(STDERR_FILENO) != 0;
    p->shown = false;
}

void pvt_progress_show(void *ctx, double frac)
{
    struct pvt_progress *p = ctx;
    int width = 30, filled, j;

    if (!p || !p->tty || pvt_wall_now() - p->start < 1.0)
        return;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    filled = (int)(frac * width);
    fprintf(stderr, "\r%s [", p->label);
    for (j = 0; j < width; j++)
        fputc(j < filled ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", (int)(frac * 100));
    fflush(stderr);
    p->shown = true;
}

void pvt_progress_end(struct pvt_progress *p)
{
    if (p && p->shown)
        fprintf(stderr, "\r%-72s\r", "");
}
