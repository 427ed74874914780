/*
 * `pvtimer bench drift`: how well the drift estimator finds a clock's
 * frequency, against baselines fed the same sample streams:
 *
 *   estimator  pvtimer's (drift.h): least squares over adaptive windows,
 *              in fixed point
 *   linreg     the reference: linuxptp's linreg method (linreg.h), in
 *              double precision
 *   PI         a PI servo steering a clock after B, in the manner of
 *              linuxptp's pi.c: frequency from the first two samples, then
 *              freq = kp * offset + integral, integral += ki * offset, with
 *              its default gains for hardware time stamps at the sample
 *              interval I (kp = min(0.7 I^-0.3, 0.7 / I), ki = min(0.3
 *              I^0.4, 0.3 / I), I in s); a first offset over 20 us is
 *              stepped away. Its estimate of the frequency is the integral;
 *              the frequency it applies also carries kp * offset, the phase
 *              correction (reported too, as pi_applied_ppb)
 *   2-point    the frequency from the last two samples alone
 *
 * Streams: clock A is true time, clock B runs at 1 + r against it with r
 * drawn uniformly in [-1000, +1000] ppm, read with noise of scale J:
 * uniform in [-J, +J] or Gaussian with sigma J; 1 or 10 samples a second.
 * The error reported is the RMS, over the streams, of (estimated - true)
 * frequency after N samples, in ppb; `steps` counts the steps the estimator
 * found over all the streams of a cell (none is true: each is false).
 *
 * The step response: B jumps by 1 ms (its rate unchanged) after 128
 * samples (Gaussian sigma 1 us, one a second); the RMS frequency error 1,
 * 10 and 50 samples later.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "linreg.h"
#include "options.h"
#include "pvtimer/pvtimer.h"

#define MAX_N 256

static const unsigned int checkpoints[] = {2, 4, 8, 16, 32, 64, 128, 256};
static const double jitters[] = {100, 1000, 10000};
static const char *const noises[] = {"uniform", "gaussian"};
static const unsigned int rates_hz[] = {1, 10};
/* the step response: a 1 ms step after STEP_AT samples, errors this many
 * samples after it */
static const unsigned int step_after[] = {1, 10, 50};
#define STEP_AT    128
#define STEP_NS    1000000.0
#define STEP_NOISE 1000.0

#define NCP    (sizeof(checkpoints) / sizeof(checkpoints[0]))
#define NJIT   (sizeof(jitters) / sizeof(jitters[0]))
#define NNOISE (sizeof(noises) / sizeof(noises[0]))
#define NRATE  (sizeof(rates_hz) / sizeof(rates_hz[0]))
#define NAFTER (sizeof(step_after) / sizeof(step_after[0]))

enum { EST, LINREG, PI_INT, TWO_POINT, PI_APPLIED, NCOL };

/* xorshift64*, deterministic */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* One reading's noise: uniform in [-j, j], or Gaussian with sigma j (Box
 * and Muller's transform of two uniforms). */
static double noise(uint64_t *s, bool gaussian, double j)
{
    double u1, u2;

    if (!gaussian)
        return (rng_unit(s) * 2 - 1) * j;
    u1 = 1.0 - rng_unit(s); /* (0, 1] */
    u2 = rng_unit(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2) * j;
}

/* A PI servo after linuxptp's, as a frequency estimator: it steers a
 * clock C (driven by A, frequency adjustment freq) after B. */
struct pi {
    double kp, ki;
    double integral; /* ppb */
    double freq;     /* ppb: C runs at 1 + freq * 1e-9 against A */
    double c;        /* C's value, ns */
    double first_offset, first_t;
    unsigned int count;
};

static void pi_init(struct pi *s, double b0, double interval_s)
{
    memset(s, 0, sizeof(*s));
    s->kp = fmin(0.7 * pow(interval_s, -0.3), 0.7 / interval_s);
    s->ki = fmin(0.3 * pow(interval_s, 0.4), 0.3 / interval_s);
    s->c = b0;
}

/* offset = C - B as measured at A time t (ns). */
static void pi_sample(struct pi *s, double offset, double t)
{
    switch (s->count) {
    case 0:
        s->first_offset = offset;
        s->first_t = t;
        s->count = 1;
        break;
    case 1:
        /* the frequency from the first two: C - B changed by
         * (freq - r) * dt, freq being 0 so far */
        s->integral = -(offset - s->first_offset) / (t - s->first_t) * 1e9;
        s->freq = s->integral;
        if (fabs(offset) > 20000) /* first step threshold */
            s->c -= offset;
        s->count = 2;
        break;
    default:
        /* a positive offset (C ahead) slows C down */
        s->integral -= s->ki * offset;
        s->freq = s->integral - s->kp * offset;
        break;
    }
}

struct cell {
    double sq[NCP][NCOL]; /* sums of squared errors, ppb^2 */
    uint64_t steps;
};

struct step_response {
    double sq[NAFTER + 1][3]; /* before the step, then step_after[] */
};

/* Every estimator on one stream; the step response when sr is given. */
static void run_stream(uint64_t *seed, bool gaussian, double jit,
                       unsigned int hz, struct cell *c,
                       struct step_response *sr)
{
    double r_ppm = rng_unit(seed) * 2000 - 1000;
    double r = r_ppm * 1e-6, truth = r_ppm * 1e3;
    double interval = 1e9 / hz;
    double b0 = 3.0 * 86400 * 1e9, step = 0;
    double prev_t = 0, prev_b = 0;
    unsigned int n = sr ? STEP_AT + step_after[NAFTER - 1] : MAX_N;
    struct pvt_drift d;
    struct pvt_drift_config cfg;
    struct pvt_linreg lr;
    struct pi pi;
    unsigned int i, cp = 0, after = 0;

    pvt_drift_config_default(&cfg);
    cfg.min_interval_ns = 0;
    cfg.max_delay_ns = 0;
    pvt_drift_init(&d, &cfg);
    pvt_linreg_init(&lr);
    pi_init(&pi, b0, interval / 1e9);
    for (i = 1; i <= n; i++) {
        double t = (double)(i - 1) * interval;
        double b; /* B as read */
        struct pvt_drift_sample s = {.delay_ns = 40};
        struct pvt_drift_estimate est;
        double f[NCOL];

        if (sr && i == STEP_AT + 1)
            step = STEP_NS;
        b = b0 + t * (1 + r) + step + noise(seed, gaussian, jit);
        s.a_ns = (int64_t)(1e12 + t);
        s.b_ns = (uint64_t)llround(b);
        pvt_drift_feed(&d, &s);
        pvt_linreg_feed(&lr, t, b - b0 - t);
        pi_sample(&pi, pi.c - b, t);
        /* C runs on for the next interval at its new frequency */
        pi.c += interval * (1 + pi.freq * 1e-9);
        f[TWO_POINT] = i > 1 ? ((b - prev_b) / (t - prev_t) - 1) * 1e9 : 0;
        prev_t = t;
        prev_b = b;

        /* before it locks the estimator says nothing: rate 1 */
        pvt_drift_get(&d, &est);
        f[EST] = (double)est.slope_q48 / 281474976710656.0 * 1e9;
        f[LINREG] = pvt_linreg_slope(&lr) * 1e9;
        f[PI_INT] = pi.integral;
        f[PI_APPLIED] = pi.freq;
        if (sr) {
            unsigned int k;
            if (i == STEP_AT ||
                (after < NAFTER && i == STEP_AT + step_after[after])) {
                unsigned int row = i == STEP_AT ? 0 : ++after;
                for (k = 0; k < 3; k++)
                    sr->sq[row][k] += pow(f[k] - truth, 2);
            }
            continue;
        }
        if (cp < NCP && i == checkpoints[cp]) {
            unsigned int k;
            for (k = 0; k < NCOL; k++)
                c->sq[cp][k] += pow(f[k] - truth, 2);
            cp++;
        }
    }
    if (c) {
        struct pvt_drift_estimate est;
        pvt_drift_get(&d, &est);
        c->steps += est.steps;
    }
}

static double rms(double sq, unsigned int streams)
{
    return sqrt(sq / streams);
}

static void print_json(const struct cell *cells, const struct step_response *sr,
                       unsigned int streams)
{
    size_t nx, hx, jx, c, k;
    const char *sep = "";

    printf("{\"benchmark\": \"drift\", \"streams\": %u, "
           "\"rate_ppm\": [-1000, 1000], \"rows\": [",
           streams);
    for (nx = 0; nx < NNOISE; nx++)
        for (hx = 0; hx < NRATE; hx++)
            for (jx = 0; jx < NJIT; jx++)
                for (c = 0; c < NCP; c++) {
                    const struct cell *e =
                        &cells[(nx * NRATE + hx) * NJIT + jx];
                    double est = rms(e->sq[c][EST], streams);
                    double lin = rms(e->sq[c][LINREG], streams);
                    printf("%s{\"noise\": \"%s\", \"jitter_ns\": %.0f, "
                           "\"rate_hz\": %u, \"samples\": %u, "
                           "\"estimator_ppb\": %.3f, \"linreg_ppb\": %.3f, "
                           "\"ratio\": %.3f, \"pi_ppb\": %.3f, "
                           "\"two_point_ppb\": %.3f, "
                           "\"pi_applied_ppb\": %.3f, \"steps\": %llu}",
                           sep, noises[nx], jitters[jx], rates_hz[hx],
                           checkpoints[c], est, lin, lin > 0 ? est / lin : 0,
                           rms(e->sq[c][PI_INT], streams),
                           rms(e->sq[c][TWO_POINT], streams),
                           rms(e->sq[c][PI_APPLIED], streams),
                           (unsigned long long)e->steps);
                    sep = ", ";
                }
    printf("], \"step_response\": {\"step_ns\": %.0f, \"after_samples\": %u, "
           "\"noise\": \"gaussian\", \"jitter_ns\": %.0f, \"rate_hz\": 1, "
           "\"rows\": [",
           STEP_NS, STEP_AT, STEP_NOISE);
    for (k = 0; k <= NAFTER; k++)
        printf("%s{\"samples_after\": %u, \"estimator_ppb\": %.3f, "
               "\"linreg_ppb\": %.3f, \"pi_ppb\": %.3f}",
               k ? ", " : "", k ? step_after[k - 1] : 0,
               rms(sr->sq[k][EST], streams), rms(sr->sq[k][LINREG], streams),
               rms(sr->sq[k][PI_INT], streams));
    printf("]}}\n");
}

static void print_table(const struct cell *cells,
                        const struct step_response *sr, unsigned int streams)
{
    size_t nx, hx, jx, c, k;

    printf("pvtimer bench drift: frequency error in ppb (RMS over %u streams) "
           "after N samples;\nB's rate uniform in [-1000, +1000] ppm; "
           "ratio = estimator / linreg\n",
           streams);
    for (nx = 0; nx < NNOISE; nx++)
        for (hx = 0; hx < NRATE; hx++) {
            printf("\n%s noise, %u sample%s/s%s\n", noises[nx], rates_hz[hx],
                   rates_hz[hx] > 1 ? "s" : "", nx ? " (sigma J)" : " (+-J)");
            printf("%5s", "");
            for (jx = 0; jx < NJIT; jx++)
                printf("  %-25s", jitters[jx] >= 10000  ? "J = 10 us"
                                  : jitters[jx] >= 1000 ? "J = 1 us"
                                                        : "J = 100 ns");
            printf("\n%5s", "N");
            for (jx = 0; jx < NJIT; jx++)
                printf("  %9s %9s %5s", "estimator", "linreg", "ratio");
            printf("\n");
            for (c = 0; c < NCP; c++) {
                printf("%5u", checkpoints[c]);
                for (jx = 0; jx < NJIT; jx++) {
                    const struct cell *e =
                        &cells[(nx * NRATE + hx) * NJIT + jx];
                    double est = rms(e->sq[c][EST], streams);
                    double lin = rms(e->sq[c][LINREG], streams);
                    printf("  %9.2f %9.2f %5.2f", est, lin,
                           lin > 0 ? est / lin : 0);
                }
                printf("\n");
            }
            printf("steps");
            for (jx = 0; jx < NJIT; jx++)
                printf("  %25llu",
                       (unsigned long long)cells[(nx * NRATE + hx) * NJIT + jx]
                           .steps);
            printf("\n");
        }
    printf("\nstep response: B steps by 1 ms after %u samples (Gaussian "
           "sigma 1 us, one a second)\n%-14s %9s %9s %9s\n",
           STEP_AT, "samples after", "estimator", "linreg", "PI");
    for (k = 0; k <= NAFTER; k++)
        printf("%-14u %9.2f %9.2f %9.2f\n", k ? step_after[k - 1] : 0,
               rms(sr->sq[k][EST], streams), rms(sr->sq[k][LINREG], streams),
               rms(sr->sq[k][PI_INT], streams));
    printf("\nThe estimator reports nothing before its 4th sample (rate 1: "
           "the error is the rate\nitself); steps: the steps it found over all "
           "the streams (each one false). PI and\n2-point: --json.\n");
}

int pvt_bench_drift(int argc, char **argv)
{
    struct cell *cells;
    struct step_response sr = {0};
    unsigned int streams, k;
    bool json = false;
    uint64_t seed = 0x64726966747331ull;
    size_t nx, hx, jx;
    unsigned long nstreams = 1000;
    const struct pvt_option opts[] = {
        PVT_OPT_RANGE("--streams", PVT_OPT_COUNT, &nstreams, "N",
                      "synthetic streams per cell (default 1000)", 1, 100000),
        PVT_OPT_JSON(&json),
    };
    static const char usage[] =
        "usage: pvtimer bench drift [--streams N] [--json]\n\n"
        "Frequency error (RMS over N synthetic streams per cell, default "
        "1000) after 2 to\n256 samples, uniform and Gaussian noise of 100 "
        "ns to 10 us, 1 and 10 samples/s:\npvtimer's estimator against "
        "linuxptp's linreg method (a reference written after\nits "
        "description), a PI servo with linuxptp's default gains and "
        "two-point\ndifferencing; then the response to a 1 ms step.";
    const struct pvt_command_spec spec =
        PVT_COMMAND_SPEC("bench drift", usage, opts);
    int rc;

    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    streams = (unsigned int)nstreams;
    cells = calloc(NNOISE * NRATE * NJIT, sizeof(*cells));
    if (!cells) {
        fprintf(stderr, "pvtimer bench drift: out of memory\n");
        return 1;
    }
    for (nx = 0; nx < NNOISE; nx++)
        for (hx = 0; hx < NRATE; hx++)
            for (jx = 0; jx < NJIT; jx++)
                for (k = 0; k < streams; k++)
                    run_stream(&seed, nx == 1, jitters[jx], rates_hz[hx],
                               &cells[(nx * NRATE + hx) * NJIT + jx], NULL);
    for (k = 0; k < streams; k++)
        run_stream(&seed, true, STEP_NOISE, 1, NULL, &sr);

    if (json)
        print_json(cells, &sr, streams);
    else
        print_table(cells, &sr, streams);
    free(cells);
    return 0;
}
