/*
 * The linreg reference (linreg.h): written from the published description
 * of linuxptp's linreg servo, not from its code.
 */
#include "linreg.h"

#include <math.h>
#include <string.h>

#define INITIAL_UPDATES 10   /* plain mean of the first errors */
#define SMOOTH          0.02 /* then exponential smoothing */
#define EQUAL           1.05 /* errors within this ratio are equal */

void pvt_linreg_init(struct pvt_linreg *l)
{
    memset(l, 0, sizeof(*l));
    l->newest = PVT_LINREG_POINTS - 1;
    l->size = -1;
}

static void predicted(struct pvt_linreg_result *r, double e)
{
    if (r->updates < INITIAL_UPDATES) {
        r->err = (r->err * r->updates + e) / (r->updates + 1);
        r->updates++;
    } else {
        r->err += SMOOTH * (e - r->err);
    }
}

/* Least squares over the newest n points, centred (two passes) so that
 * nothing cancels; the intercept is taken at the newest point. */
static void fit(struct pvt_linreg *l, struct pvt_linreg_result *r,
                unsigned int n)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    unsigned int i;

    for (i = 0; i < n; i++) {
        unsigned int k =
            (l->newest + PVT_LINREG_POINTS - i) % PVT_LINREG_POINTS;
        mx += l->x[k];
        my += l->y[k];
    }
    mx /= n;
    my /= n;
    for (i = 0; i < n; i++) {
        unsigned int k =
            (l->newest + PVT_LINREG_POINTS - i) % PVT_LINREG_POINTS;
        sxx += (l->x[k] - mx) * (l->x[k] - mx);
        sxy += (l->x[k] - mx) * (l->y[k] - my);
    }
    r->slope = sxy / sxx;
    r->intercept = my + r->slope * (l->x[l->newest] - mx);
    r->fitted = true;
}

unsigned int pvt_linreg_feed(struct pvt_linreg *l, double x, double y)
{
    double dx = l->count ? x - l->x[l->newest] : 0, best = 0;
    unsigned int k;

    /* each fit predicts the new point from the newest old one */
    for (k = 0; k < PVT_LINREG_WINDOWS; k++) {
        struct pvt_linreg_result *r = &l->res[k];
        if (r->fitted)
            predicted(r, fabs(r->intercept + r->slope * dx - y));
    }
    l->newest = (l->newest + 1) % PVT_LINREG_POINTS;
    l->x[l->newest] = x;
    l->y[l->newest] = y;
    if (l->count < PVT_LINREG_POINTS)
        l->count++;
    for (k = 0; k < PVT_LINREG_WINDOWS; k++)
        if ((4u << k) <= l->count)
            fit(l, &l->res[k], 4u << k);

    l->size = -1;
    for (k = 0; k < PVT_LINREG_WINDOWS; k++) {
        const struct pvt_linreg_result *r = &l->res[k];
        if (!r->fitted)
            continue;
        if (l->size < 0 ||
            (r->updates >= INITIAL_UPDATES && r->err < best * EQUAL)) {
            l->size = (int)k;
            best = r->err;
        }
    }
    return l->size < 0 ? 0 : 4u << l->size;
}

double pvt_linreg_slope(const struct pvt_linreg *l)
{
    return l->size < 0 ? 0 : l->res[l->size].slope;
}
