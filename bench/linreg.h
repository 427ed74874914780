/*
 * A reference for `pvtimer bench drift`: linuxptp's linreg servo as its
 * author published the method (an adaptive servo by linear regression),
 * written here from that description, in double precision, as a
 * frequency estimator:
 *
 *   - least squares over the newest 4, 8, 16, 32 and 64 points at once;
 *   - before each new point is used, every fitted window predicts it; the
 *     absolute prediction error is averaged plainly over a window's first
 *     10 predictions, then smoothed with weight 0.02;
 *   - the window in use: the smallest fitted one to begin with, then,
 *     going up the sizes, each window with 10 predictions or more whose
 *     error is below 1.05 times the one chosen so far replaces it.
 *
 * linreg steers a clock, but its fit is of the remote clock against the
 * local clock's uncorrected time, and its prediction error is taken in
 * those terms too: the estimate does not depend on the steering, so the
 * reference is fed open loop. linreg steps the clock on its first update
 * only (phc2sys's default step threshold is 0): a step changes neither
 * fit, so the reference has no step detection at all.
 *
 * Not part of the library (it uses floating point): the bench and its
 * tests only.
 */
#ifndef PVTIMER_BENCH_LINREG_H
#define PVTIMER_BENCH_LINREG_H

#include <stdbool.h>

#define PVT_LINREG_WINDOWS 5
#define PVT_LINREG_POINTS  64

struct pvt_linreg_result {
    double slope;     /* dy/dx of the window's fit */
    double intercept; /* the fit's y at the newest point's x */
    double err;       /* smoothed |prediction error| */
    unsigned int updates;
    bool fitted;
};

struct pvt_linreg {
    double x[PVT_LINREG_POINTS], y[PVT_LINREG_POINTS]; /* a ring */
    unsigned int count, newest;
    struct pvt_linreg_result res[PVT_LINREG_WINDOWS];
    int size; /* the window in use (index into res), -1 before any */
};

/* Start with no points. */
void pvt_linreg_init(struct pvt_linreg *l);

/*
 * Add a point: x the local clock's (uncorrected) time, y the offset of the
 * remote clock from it, both ns; x must increase. Returns the points in
 * the window then in use, 0 before the first fit.
 */
unsigned int pvt_linreg_feed(struct pvt_linreg *l, double x, double y);

/* The slope (dy/dx) of the window in use; 0 before the first fit. */
double pvt_linreg_slope(const struct pvt_linreg *l);

#endif /* PVTIMER_BENCH_LINREG_H */
