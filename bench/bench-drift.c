/*
 * `pvtimer bench drift`: how fast and how well the drift estimator finds a
 * clock's frequency, against two baselines fed the same sample streams:
 *
 *   linreg    pvtimer's estimator (drift.h): least squares over adaptive
 *             windows, in fixed point
 *   PI        a PI servo steering a clock after B, in the manner of
 *             linuxptp's pi.c: frequency from the first two samples, then
 *             freq = kp * offset + integral, integral += ki * offset, with
 *             its default gains for hardware time stamps at a 1 s interval
 *             (kp 0.7, ki 0.3); a first offset over 20 us is stepped away.
 *             Its estimate of the frequency is the integral; the frequency
 *             it applies also carries kp * offset, the phase correction
 *             (reported too, as pi_applied_ppb)
 *   2-point   the frequency from the last two samples alone
 *
 * Streams: clock A is true time, clock B runs at 1 + r against it with r
 * drawn uniformly in [-1000, +1000] ppm, read with a uniform jitter of
 * +-J ns, one sample per second. The error reported is the RMS, over many
 * streams, of (estimated - true) frequency after N samples, in ppb.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "pvtimer/pvtimer.h"

#define INTERVAL_NS 1000000000.0
#define MAX_N       256

static const unsigned int checkpoints[] = {2, 4, 8, 16, 32, 64, 128, 256};
static const double jitters[] = {100, 1000, 10000};

#define NCP  (sizeof(checkpoints) / sizeof(checkpoints[0]))
#define NJIT (sizeof(jitters) / sizeof(jitters[0]))

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

static void pi_init(struct pi *s, double b0)
{
    memset(s, 0, sizeof(*s));
    s->kp = 0.7; /* per second of interval */
    s->ki = 0.3;
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

struct errs {
    /* sums of squared errors: linreg, PI (its integral: the drift it has
     * learnt), 2-point, PI (the frequency it applies: + kp * offset) */
    double sq[NJIT][NCP][4];
    unsigned int streams;
};

static void run_stream(uint64_t *seed, size_t jx, struct errs *e)
{
    double r_ppm = rng_unit(seed) * 2000 - 1000;
    double r = r_ppm * 1e-6;
    double jit = jitters[jx];
    double b0 = 3.0 * 86400 * 1e9;
    double prev_a = 0, prev_b = 0;
    struct pvt_drift d;
    struct pvt_drift_config cfg;
    struct pi pi;
    unsigned int i, cp = 0;

    pvt_drift_config_default(&cfg);
    cfg.min_interval_ns = 0;
    cfg.max_delay_ns = 0;
    pvt_drift_init(&d, &cfg);
    pi_init(&pi, b0);
    for (i = 1; i <= MAX_N; i++) {
        double t = (double)(i - 1) * INTERVAL_NS;
        double j = (rng_unit(seed) * 2 - 1) * jit;
        double b = b0 + t * (1 + r) + j; /* B as read */
        struct pvt_drift_sample s = {
            .a_ns = (int64_t)(1e12 + t),
            .b_ns = (uint64_t)llround(b),
            .delay_ns = 40,
        };
        double two_point;

        pvt_drift_feed(&d, &s);
        pi_sample(&pi, pi.c - b, t);
        two_point = i > 1 ? ((b - prev_b) / (t - prev_a) - 1) * 1e9 : 0;
        prev_a = t;
        prev_b = b;
        /* C runs on for the next interval at its new frequency */
        pi.c += INTERVAL_NS * (1 + pi.freq * 1e-9);

        if (cp < NCP && i == checkpoints[cp]) {
            struct pvt_drift_estimate est;
            double lin;
            pvt_drift_get(&d, &est);
            /* before it locks the estimator says nothing: rate 1 */
            lin = (double)est.slope_q48 / 281474976710656.0 * 1e9;
            e->sq[jx][cp][0] += pow(lin - r_ppm * 1e3, 2);
            e->sq[jx][cp][1] += pow(pi.integral - r_ppm * 1e3, 2);
            e->sq[jx][cp][3] += pow(pi.freq - r_ppm * 1e3, 2);
            e->sq[jx][cp][2] += pow(two_point - r_ppm * 1e3, 2);
            cp++;
        }
    }
}

int pvt_bench_drift(int argc, char **argv)
{
    struct errs *e;
    unsigned int streams, k;
    bool json = false;
    uint64_t seed = 0x64726966747331ull;
    size_t jx, c;
    unsigned long nstreams = 200;
    const struct pvt_option opts[] = {
        PVT_OPT_RANGE("--streams", PVT_OPT_COUNT, &nstreams, "N",
                      "synthetic streams (default 200)", 1, 100000),
        PVT_OPT_JSON(&json),
    };
    static const char usage[] =
        "usage: pvtimer bench drift [--streams N] [--json]\n\n"
        "Frequency error (RMS over N synthetic streams, default "
        "200) after 2 to 256\nsamples: pvtimer's estimator "
        "(linreg), a PI servo with linuxptp's default\ngains, "
        "and two-point differencing of the last two samples.";
    const struct pvt_command_spec spec =
        PVT_COMMAND_SPEC("bench drift", usage, opts);
    int rc;

    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    streams = (unsigned int)nstreams;
    e = calloc(1, sizeof(*e));
    if (!e) {
        fprintf(stderr, "pvtimer bench drift: out of memory\n");
        return 1;
    }
    for (jx = 0; jx < NJIT; jx++)
        for (k = 0; k < streams; k++)
            run_stream(&seed, jx, e);
    e->streams = streams;

    if (json) {
        printf("{\"benchmark\": \"drift\", \"streams\": %u, "
               "\"interval_s\": 1, \"rate_ppm\": [-1000, 1000], \"rows\": [",
               streams);
        for (jx = 0; jx < NJIT; jx++)
            for (c = 0; c < NCP; c++)
                printf("%s{\"jitter_ns\": %.0f, \"samples\": %u, "
                       "\"linreg_ppb\": %.3f, \"pi_ppb\": %.3f, "
                       "\"two_point_ppb\": %.3f, \"pi_applied_ppb\": %.3f}",
                       jx || c ? ", " : "", jitters[jx], checkpoints[c],
                       sqrt(e->sq[jx][c][0] / streams),
                       sqrt(e->sq[jx][c][1] / streams),
                       sqrt(e->sq[jx][c][2] / streams),
                       sqrt(e->sq[jx][c][3] / streams));
        printf("]}\n");
        free(e);
        return 0;
    }
    printf("pvtimer bench drift: frequency error in ppb (RMS over %u streams) "
           "after N samples,\none a second; B's rate uniform in [-1000, "
           "+1000] ppm; uniform read jitter +-J\n\n",
           streams);
    printf("%5s", "");
    for (jx = 0; jx < NJIT; jx++)
        printf("  %-29s",
               jitters[jx] >= 1000
                   ? (jitters[jx] >= 10000 ? "J = 10 us" : "J = 1 us")
                   : "J = 100 ns");
    printf("\n%5s", "N");
    for (jx = 0; jx < NJIT; jx++)
        printf("  %9s %9s %9s", "linreg", "PI", "2-point");
    printf("\n");
    for (c = 0; c < NCP; c++) {
        printf("%5u", checkpoints[c]);
        for (jx = 0; jx < NJIT; jx++)
            printf("  %9.2f %9.2f %9.2f", sqrt(e->sq[jx][c][0] / streams),
                   sqrt(e->sq[jx][c][1] / streams),
                   sqrt(e->sq[jx][c][2] / streams));
        printf("\n");
    }
    printf("\nlinreg reports nothing before its 4th sample (rate 1: the "
           "error is the rate itself).\nPI: its integral term, the drift it "
           "has learnt (the frequency it applies adds\nkp x offset; --json "
           "gives that too, as pi_applied_ppb).\n");
    free(e);
    return 0;
}
