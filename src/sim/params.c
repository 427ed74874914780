/*
 * Simulator parameters: the table, the scenarios, parsing with units.
 */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define P(field) offsetof(struct pvt_sim_params, field)
#define NS       1.0
#define US       1e3
#define MS       1e6
#define SEC      1e9

/* The defaults are the seed-boot scenario. */
static const struct pvt_sim_params defaults = {
    .boot_s = 20,
    .duration_s = 120,
    .drain_s = 10,
    .boot_drift_ppm = -300,
    .hz = 250,
    .boot_clock = PVT_SIM_BOOT_JIFFIES,
    .tsc_ghz = 2.0,
    .tsc_cal_ppm = 0,
    .preempt_rate_hz = 20,
    .preempt_mean_ms = 2,
    .timer_rate_hz = 2000,
    .delta_min_us = 10,
    .delta_max_s = 4,
    .cancel_fraction = 0.1,
    .slop_us = 50,
    .latency_median_us = 20,
    .latency_sigma = 0.6,
    .hv_uptime_s = 3 * 86400,
    .guest_read_ns = 50,
    .guest_path_ns = 2000,
    .migrate_at_s = -1,
    .migrate_jump_s = 3600,
    .migrate_tsc_ppm = 50,
    .nohz = 0,
    .pvclock = 1,
    .vcpus = 1,
    .tsc_skew_ns = 0,
    .tsc_stable = 1,
    .pvclock_guard = 1,
    .remote_fraction = 0,
    .tsc_bits = 64,
    .hv_step_at_s = -1,
    .hv_step_us = -500,
};

static const struct pvt_sim_param_def defs[] = {
    {"boot_s", "s", PVT_SIM_UNIT_TIME, SEC, P(boot_s), 0, 86400 * 365, false,
     "boot phase length; at its end the guest installs the pvclock "
     "clocksource and goes high-res (times are the model's: the guest's "
     "clock differs by its drift)"},
    {"pvclock", "", PVT_SIM_UNIT_COUNT, 1, P(pvclock), 0, 1, true,
     "1: install the pvclock clocksource at boot_s; 0: keep the boot "
     "clocksource"},
    {"duration_s", "s", PVT_SIM_UNIT_TIME, SEC, P(duration_s), 0.001,
     86400 * 365, false, "whole run (the workload runs until then)"},
    {"drain_s", "s", PVT_SIM_UNIT_TIME, SEC, P(drain_s), 0, 86400, false,
     "guest time after the run for armed timers to fire"},
    {"boot_drift_ppm", "ppm", PVT_SIM_UNIT_PPM, 1, P(boot_drift_ppm), -100000,
     100000, false,
     "drift of the boot clocksource against the hypervisor clock, on top of "
     "what lost ticks cost"},
    {"hz", "Hz", PVT_SIM_UNIT_FREQ, 1, P(hz), 1, 1000, true,
     "tick rate (the jiffies clocksource advances one tick per tick; the "
     "boot tick is the hypervisor's periodic timer, 1 ms at the shortest)"},
    {"boot_clock", "", PVT_SIM_UNIT_COUNT, 1, P(boot_clock), 0, 1, true,
     "boot clocksource: 0 jiffies (counted from the tick, which comes from "
     "the hypervisor's periodic timer), 1 the guest's TSC (high-res from "
     "the start)"},
    {"tsc_ghz", "GHz", PVT_SIM_UNIT_FREQ, 1e9, P(tsc_ghz), 0.001, 4.29, false,
     "true TSC frequency"},
    {"tsc_cal_ppm", "ppm", PVT_SIM_UNIT_PPM, 1, P(tsc_cal_ppm), -100000, 100000,
     false,
     "error of the guest's TSC calibration (its TSC clocksource "
     "drifts by about minus this)"},
    {"preempt_rate_hz", "Hz", PVT_SIM_UNIT_FREQ, 1, P(preempt_rate_hz), 0,
     100000, false, "vCPU preemptions per second (Poisson process)"},
    {"preempt_mean_ms", "ms", PVT_SIM_UNIT_TIME, MS, P(preempt_mean_ms), 0,
     10000, false, "mean preemption length (exponential)"},
    {"timer_rate_hz", "Hz", PVT_SIM_UNIT_FREQ, 1, P(timer_rate_hz), 0, 1000000,
     false, "timers armed per second of guest time (Poisson process)"},
    {"delta_min_us", "us", PVT_SIM_UNIT_TIME, US, P(delta_min_us), 0.001, 1e12,
     false, "shortest timer delay (delays are log-uniform)"},
    {"delta_max_s", "s", PVT_SIM_UNIT_TIME, SEC, P(delta_max_s), 1e-9, 86400,
     false, "longest timer delay"},
    {"cancel_fraction", "", PVT_SIM_UNIT_RATIO, 1, P(cancel_fraction), 0, 1,
     false, "fraction of timers cancelled before they expire"},
    {"slop_us", "us", PVT_SIM_UNIT_TIME, US, P(slop_us), 0, 1e6, false,
     "hypervisor timer slop: a deadline closer than this fires this long "
     "after it was set (late, never early)"},
    {"latency_median_us", "us", PVT_SIM_UNIT_TIME, US, P(latency_median_us), 0,
     1e6, false, "interrupt delivery latency, median (log-normal)"},
    {"latency_sigma", "", PVT_SIM_UNIT_COUNT, 1, P(latency_sigma), 0, 3, false,
     "log-normal shape of the delivery latency (its long tail)"},
    {"hv_uptime_s", "s", PVT_SIM_UNIT_TIME, SEC, P(hv_uptime_s), 0,
     86400 * 3650, false, "hypervisor clock when the guest boots"},
    {"guest_read_ns", "ns", PVT_SIM_UNIT_TIME, NS, P(guest_read_ns), 0, 1e6,
     false, "guest time spent reading a clock"},
    {"guest_path_ns", "ns", PVT_SIM_UNIT_TIME, NS, P(guest_path_ns), 0, 1e6,
     false, "guest time from computing a programming to the hypercall"},
    {"migrate_at_s", "s", PVT_SIM_UNIT_TIME, SEC, P(migrate_at_s), -1,
     86400 * 365, false, "guest time of a live migration (negative: none)"},
    {"migrate_jump_s", "s", PVT_SIM_UNIT_TIME, SEC, P(migrate_jump_s), -86400,
     86400 * 365, false, "hypervisor clock on the new host minus the old one"},
    {"migrate_tsc_ppm", "ppm", PVT_SIM_UNIT_PPM, 1, P(migrate_tsc_ppm), -100000,
     100000, false, "TSC rate on the new host relative to the old"},
    {"nohz", "", PVT_SIM_UNIT_COUNT, 1, P(nohz), 0, 1, true,
     "1: tickless idle (the tick stops while the guest waits)"},
    /* appended, so that the JSON's params keep their order */
    {"vcpus", "", PVT_SIM_UNIT_COUNT, 1, P(vcpus), 1, PVT_SIM_MAX_VCPUS, true,
     "vCPUs, each with its own singleshot timer, timer queue, preemptions, "
     "pvclock page and TSC; one guest clock; timer_rate_hz is shared out"},
    {"tsc_skew_ns", "ns", PVT_SIM_UNIT_TIME, NS, P(tsc_skew_ns), 0, 1e9, false,
     "TSC offset errors of the vCPUs, spread evenly over [-this, +this] "
     "(vCPU 0 lowest): what the hypervisor failed to synchronise"},
    {"tsc_stable", "", PVT_SIM_UNIT_COUNT, 1, P(tsc_stable), 0, 1, true,
     "1: the pvclock pages publish TSC_STABLE (the guest trusts it and "
     "skips the last-value guard); 0: they do not"},
    {"pvclock_guard", "", PVT_SIM_UNIT_COUNT, 1, P(pvclock_guard), 0, 1, true,
     "1: one pvclock last-value guard for the whole guest; 0: one per vCPU "
     "(the cross-vCPU guard bypassed, to show clock_backwards)"},
    {"remote_fraction", "", PVT_SIM_UNIT_RATIO, 1, P(remote_fraction), 0, 1,
     false,
     "fraction of each vCPU's timers armed on another vCPU's queue (a "
     "remote enqueue and a kick to the owner)"},
    /* faults, appended for the same reason */
    {"tsc_bits", "", PVT_SIM_UNIT_COUNT, 1, P(tsc_bits), 16, 64, true,
     "width of the guest's TSC clocksource counter (boot_clock=1): below "
     "64 a narrow counter that wraps every 2^bits / tsc_ghz (32 bits at "
     "2 GHz: 2.1 s); pvclock reads the full TSC"},
    {"hv_step_at_s", "s", PVT_SIM_UNIT_TIME, SEC, P(hv_step_at_s), -1,
     86400 * 365, false,
     "guest time of an unannounced step of the hypervisor clock (the pages "
     "republished, no migration; negative: none)"},
    {"hv_step_us", "us", PVT_SIM_UNIT_TIME, US, P(hv_step_us), -1e9, 1e9, false,
     "that step (negative: the hypervisor clock goes back)"},
};

static const struct pvt_sim_scenario scenarios[] = {
    {"seed-boot",
     "boot 20 s on drifting jiffies (tick from the periodic timer), then "
     "pvclock and high-res; 2000 timers/s",
     ""},
    {"steady-drift",
     "TSC clocksource calibrated 100 ppm wrong, 24 h at 100 timers/s, no "
     "mode switch",
     "boot_clock=1 tsc_cal_ppm=-100 pvclock=0 boot_s=0 duration_s=86400 "
     "timer_rate_hz=100"},
    {"preempt", "seed-boot under heavy preemption: 200/s, mean 5 ms",
     "preempt_rate_hz=200 preempt_mean_ms=5"},
    {"migrate",
     "seed-boot, live-migrated at half time to a host 1 h ahead whose TSC is "
     "50 ppm faster",
     "migrate_at_s=60"},
    {"nohz-idle",
     "mostly idle, tickless guest with waits longer than the device's "
     "max_delta",
     "boot_s=5 duration_s=600 timer_rate_hz=0.5 delta_min_us=1000 "
     "delta_max_s=300 nohz=1 drain_s=300"},
    {"smp",
     "4 vCPUs (vcpus=N for more), TSCs skewed by up to 20 us and not "
     "stable (the guard in use), 10% of timers armed remotely, 10 s",
     "vcpus=4 tsc_skew_ns=20000 tsc_stable=0 remote_fraction=0.1 boot_s=2 "
     "duration_s=10 drain_s=5 timer_rate_hz=4000"},
};

const struct pvt_sim_param_def *pvt_sim_param_defs(size_t *count)
{
    *count = sizeof(defs) / sizeof(defs[0]);
    return defs;
}

const struct pvt_sim_scenario *pvt_sim_scenarios(size_t *count)
{
    *count = sizeof(scenarios) / sizeof(scenarios[0]);
    return scenarios;
}

const struct pvt_sim_scenario *pvt_sim_scenario_find(const char *name)
{
    size_t i;

    for (i = 0; name && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

void pvt_sim_params_default(struct pvt_sim_params *p)
{
    *p = defaults;
}

double pvt_sim_param_get(const struct pvt_sim_params *p,
                         const struct pvt_sim_param_def *d)
{
    return *(const double *)((const char *)p + d->offset);
}

struct unit {
    const char *name;
    enum pvt_sim_param_kind kind;
    double base; /* in ns, Hz, ppm or plain units */
};

static const struct unit units[] = {
    {"ns", PVT_SIM_UNIT_TIME, 1},     {"us", PVT_SIM_UNIT_TIME, 1e3},
    {"ms", PVT_SIM_UNIT_TIME, 1e6},   {"s", PVT_SIM_UNIT_TIME, 1e9},
    {"m", PVT_SIM_UNIT_TIME, 60e9},   {"min", PVT_SIM_UNIT_TIME, 60e9},
    {"h", PVT_SIM_UNIT_TIME, 3600e9}, {"d", PVT_SIM_UNIT_TIME, 86400e9},
    {"Hz", PVT_SIM_UNIT_FREQ, 1},     {"kHz", PVT_SIM_UNIT_FREQ, 1e3},
    {"MHz", PVT_SIM_UNIT_FREQ, 1e6},  {"GHz", PVT_SIM_UNIT_FREQ, 1e9},
    {"/s", PVT_SIM_UNIT_FREQ, 1},     {"ppm", PVT_SIM_UNIT_PPM, 1},
    {"ppb", PVT_SIM_UNIT_PPM, 1e-3},  {"%", PVT_SIM_UNIT_RATIO, 0.01},
};

static const char *kind_units(enum pvt_sim_param_kind k)
{
    switch (k) {
    case PVT_SIM_UNIT_TIME:
        return "a time: ns, us, ms, s, m, h, d";
    case PVT_SIM_UNIT_FREQ:
        return "a frequency: Hz, kHz, MHz, GHz";
    case PVT_SIM_UNIT_PPM:
        return "a drift: ppm, ppb";
    case PVT_SIM_UNIT_RATIO:
        return "a fraction: a plain number or %";
    case PVT_SIM_UNIT_COUNT:
        return "a plain number";
    }
    return "?";
}

size_t pvt_sim_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    if (dst == NULL || dstlen == 0)
        return 0;
    for (i = 0; src != NULL && i < srclen; i++) {
        unsigned char c = (unsigned char)src[i];
        char esc[5];
        size_t k, n;

        if (c == '\\' || c < 0x20 || c >= 0x7f) {
            esc[0] = '\\';
            esc[1] = c == '\\' ? '\\' : 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 15];
            n = c == '\\' ? 2 : 4;
        } else {
            esc[0] = (char)c;
            n = 1;
        }
        if (o + n >= dstlen) {
            /* no room for it: end with "..." where there is room */
            for (k = 0; k < 3 && o > 0 && dstlen > 4; k++)
                o--;
            for (k = 0; k < 3 && o + 1 < dstlen; k++)
                dst[o++] = '.';
            break;
        }
        memcpy(dst + o, esc, n);
        o += n;
    }
    dst[o] = '\0';
    return o;
}

/* The same, NUL-terminated, into a buffer of its own for one message. */
#define ESC(buf, str)                                                          \
    (pvt_sim_escape((buf), sizeof(buf), (str), strlen(str)), (buf))

/*
 * The length of the plain decimal number text starts with: [+-] digits
 * [. digits] [e [+-] digits], at least one digit before the exponent; 0
 * when it does not start with one. strtod also takes hexadecimal ("0x1"),
 * "inf", "nan" and more, which a scenario must not mean by accident.
 */
static size_t decimal_len(const char *t)
{
    size_t i = 0, digits = 0;

    if (t[i] == '+' || t[i] == '-')
        i++;
    while (isdigit((unsigned char)t[i])) {
        i++;
        digits++;
    }
    if (t[i] == '.') {
        i++;
        while (isdigit((unsigned char)t[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (t[i] == 'e' || t[i] == 'E') {
        size_t j = i + 1;
        if (t[j] == '+' || t[j] == '-')
            j++;
        if (isdigit((unsigned char)t[j])) {
            while (isdigit((unsigned char)t[j]))
                j++;
            i = j;
        }
    }
    return i;
}

int pvt_sim_parse_quantity(const char *name, const char *text,
                           enum pvt_sim_param_kind kind, double unit,
                           double *out, char *err, size_t errlen)
{
    const char *v = text, *suffix;
    char *end, e1[128], e2[96];
    double x, scale = 1;
    size_t i, dlen;

    if (name == NULL || text == NULL || out == NULL || !(unit > 0)) {
        snprintf(err, errlen, "no value to parse");
        return -1;
    }
    while (isspace((unsigned char)*v))
        v++;
    dlen = decimal_len(v);
    errno = 0;
    x = dlen ? strtod(v, &end) : 0;
    if (dlen == 0 || end != v + dlen || errno == ERANGE || !isfinite(x)) {
        snprintf(err, errlen, "%s: '%s' is not a decimal number", ESC(e2, name),
                 ESC(e1, v));
        return -1;
    }
    suffix = end;
    while (isspace((unsigned char)*suffix))
        suffix++;
    if (*suffix) {
        size_t slen = strlen(suffix);
        while (slen && isspace((unsigned char)suffix[slen - 1]))
            slen--;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strlen(units[i].name) == slen &&
                strncmp(units[i].name, suffix, slen) == 0)
                break;
        if (i == sizeof(units) / sizeof(units[0]) || units[i].kind != kind) {
            pvt_sim_escape(e1, sizeof(e1), suffix, slen);
            snprintf(err, errlen, "%s: bad unit '%s' (%s is %s)", ESC(e2, name),
                     e1, e2, kind_units(kind));
            return -1;
        }
        /* to the caller's unit */
        scale = units[i].base / unit;
    }
    *out = x * scale;
    return 0;
}

static const struct pvt_sim_param_def *find_def(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
        if (strlen(defs[i].name) == len &&
            strncmp(defs[i].name, name, len) == 0)
            return &defs[i];
    return NULL;
}

int pvt_sim_params_set(struct pvt_sim_params *p, const char *assignment,
                       char *err, size_t errlen)
{
    const char *eq, *k = assignment;
    size_t klen;
    const struct pvt_sim_param_def *d;
    double x;
    char e[128];

    if (p == NULL || assignment == NULL) {
        snprintf(err, errlen, "no parameter to set");
        return -1;
    }
    eq = strchr(assignment, '=');
    if (!eq) {
        snprintf(err, errlen, "'%s': expected key=value", ESC(e, assignment));
        return -1;
    }
    while (isspace((unsigned char)*k))
        k++;
    klen = (size_t)(eq - k);
    while (klen && isspace((unsigned char)k[klen - 1]))
        klen--;
    d = find_def(k, klen);
    if (!d) {
        pvt_sim_escape(e, sizeof(e), k, klen);
        snprintf(err, errlen,
                 "unknown parameter '%s' (pvtimer sim --list shows them)", e);
        return -1;
    }
    if (pvt_sim_parse_quantity(d->name, eq + 1, d->kind, d->unit_ns, &x, err,
                               errlen) < 0)
        return -1;
    if (x < d->min || x > d->max) {
        snprintf(err, errlen, "%s: %g %s is out of range [%g, %g]", d->name, x,
                 d->unit, d->min, d->max);
        return -1;
    }
    if (d->integer && x != floor(x)) {
        snprintf(err, errlen, "%s: %g is not a whole number", d->name, x);
        return -1;
    }
    *(double *)((char *)p + d->offset) = x;
    return 0;
}

int pvt_sim_params_scenario(struct pvt_sim_params *p, const char *name,
                            char *err, size_t errlen)
{
    const struct pvt_sim_scenario *s = pvt_sim_scenario_find(name);
    char buf[512], *tok, *save = NULL, e[128];

    if (!s) {
        snprintf(err, errlen,
                 "unknown scenario '%s' (pvtimer sim --list shows them)",
                 name ? ESC(e, name) : "(null)");
        return -1;
    }
    pvt_sim_params_default(p);
    snprintf(buf, sizeof(buf), "%s", s->overrides);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (pvt_sim_params_set(p, tok, err, errlen))
            return -1;
    return 0;
}

int pvt_sim_params_apply(struct pvt_sim_params *p, const char *const *sets,
                         size_t n, char *err, size_t errlen)
{
    size_t i;

    if (p == NULL || (sets == NULL && n > 0)) {
        snprintf(err, errlen, "no parameters to set");
        return -1;
    }
    for (i = 0; i < n; i++)
        if (pvt_sim_params_set(p, sets[i], err, errlen))
            return -1;
    return pvt_sim_params_check(p, err, errlen);
}

int pvt_sim_params_resolve(struct pvt_sim_params *p, const char *name_or_file,
                           char *err, size_t errlen)
{
    const char *s = name_or_file;
    char e[256];

    if (p == NULL || s == NULL) {
        snprintf(err, errlen, "no scenario given");
        return -1;
    }
    if (pvt_sim_scenario_find(s))
        return pvt_sim_params_scenario(p, s, err, errlen);
    if (strchr(s, '/') || strchr(s, '.') || access(s, F_OK) == 0)
        return pvt_sim_params_load_file(p, s, err, errlen);
    snprintf(err, errlen,
             "unknown scenario '%s' (pvtimer sim --list shows them; a file "
             "path works too)",
             ESC(e, s));
    return -1;
}

/* The `key` of a "key = value" line (len bytes at k, spaces trimmed). */
static size_t key_of(const char *line, const char **k)
{
    const char *eq = strchr(line, '=');
    size_t len;

    *k = line;
    while (isspace((unsigned char)**k))
        (*k)++;
    if (eq == NULL || eq < *k)
        return 0;
    len = (size_t)(eq - *k);
    while (len && isspace((unsigned char)(*k)[len - 1]))
        len--;
    return len;
}

int pvt_sim_params_load_text(struct pvt_sim_params *p, const char *name,
                             const char *text, size_t len, char *err,
                             size_t errlen)
{
    /* the line each parameter was set on (0: not yet) */
    unsigned int seen[sizeof(defs) / sizeof(defs[0])] = {0};
    unsigned int n = 0, first = 0; /* line of the first setting */
    size_t at = 0;
    char line[512], msg[256], where[128];

    if (p == NULL || name == NULL || (text == NULL && len > 0)) {
        snprintf(err, errlen, "no scenario text");
        return -1;
    }
    ESC(where, name);
    pvt_sim_params_default(p);
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t l = nl ? (size_t)(nl - (text + at)) : len - at;
        const struct pvt_sim_param_def *d;
        const char *k;
        char *hash, *s = line;
        size_t klen, t;

        n++;
        if (memchr(text + at, '\0', l)) {
            snprintf(err, errlen, "%s:%u: a NUL byte (a scenario file is text)",
                     where, n);
            return -1;
        }
        if (l >= sizeof(line)) {
            snprintf(err, errlen,
                     "%s:%u: line too long (%zu bytes, at most "
                     "%zu)",
                     where, n, l, sizeof(line) - 1);
            return -1;
        }
        memcpy(line, text + at, l);
        line[l] = '\0';
        at += l + (nl ? 1 : 0);
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        t = strlen(line);
        while (t && isspace((unsigned char)line[t - 1]))
            line[--t] = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            continue;
        klen = key_of(s, &k);
        if (strncmp(s, "scenario", 8) == 0 &&
            (isspace((unsigned char)s[8]) || s[8] == '=')) {
            const char *v = strchr(s, '=');
            if (!v || klen != 8) {
                snprintf(err, errlen, "%s:%u: expected scenario = NAME", where,
                         n);
                return -1;
            }
            if (first) {
                snprintf(err, errlen,
                         "%s:%u: scenario = NAME must be the first setting "
                         "(line %u came before it, and loading the scenario "
                         "would undo it)",
                         where, n, first);
                return -1;
            }
            first = n;
            v++;
            while (isspace((unsigned char)*v))
                v++;
            if (pvt_sim_params_scenario(p, v, msg, sizeof(msg))) {
                snprintf(err, errlen, "%s:%u: %s", where, n, msg);
                return -1;
            }
            continue;
        }
        if (!first)
            first = n;
        d = klen ? find_def(k, klen) : NULL;
        if (d) {
            size_t i = (size_t)(d - defs);
            if (seen[i]) {
                snprintf(err, errlen, "%s:%u: %s set again (first on line %u)",
                         where, n, d->name, seen[i]);
                return -1;
            }
            seen[i] = n;
        }
        if (pvt_sim_params_set(p, s, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%u: %s", where, n, msg);
            return -1;
        }
    }
    return 0;
}

int pvt_sim_params_load_file(struct pvt_sim_params *p, const char *path,
                             char *err, size_t errlen)
{
    struct stat st;
    char *text, e[256];
    size_t len = 0;
    int fd, rc;

    if (p == NULL || path == NULL) {
        snprintf(err, errlen, "no scenario file given");
        return -1;
    }
    ESC(e, path);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
     * below, as every file that is not a regular one) */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", e, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", e, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen,
                 "%s: %s, not a scenario file (a regular text "
                 "file)",
                 e, S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > PVT_SIM_SCENARIO_MAX) {
        snprintf(err, errlen,
                 "%s: %lld bytes, more than a scenario file may "
                 "have (%u)",
                 e, (long long)st.st_size, (unsigned int)PVT_SIM_SCENARIO_MAX);
        close(fd);
        return -1;
    }
    text = malloc(PVT_SIM_SCENARIO_MAX + 1);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", e);
        close(fd);
        return -1;
    }
    /* read to the end, but never more than the limit (the file may grow
     * while it is read) */
    while (len <= PVT_SIM_SCENARIO_MAX) {
        ssize_t r = read(fd, text + len, PVT_SIM_SCENARIO_MAX + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", e, strerror(errno));
            free(text);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (len > PVT_SIM_SCENARIO_MAX) {
        snprintf(err, errlen,
                 "%s: more than a scenario file may have (%u "
                 "bytes)",
                 e, (unsigned int)PVT_SIM_SCENARIO_MAX);
        free(text);
        return -1;
    }
    rc = pvt_sim_params_load_text(p, path, text, len, err, errlen);
    free(text);
    return rc;
}

int pvt_sim_params_check(const struct pvt_sim_params *p, char *err,
                         size_t errlen)
{
    if (p->boot_s > p->duration_s) {
        snprintf(err, errlen, "boot_s (%g) is after the end (duration_s %g)",
                 p->boot_s, p->duration_s);
        return -1;
    }
    if (p->delta_min_us * US > p->delta_max_s * SEC) {
        snprintf(err, errlen,
                 "delta_min_us (%g us) is above delta_max_s (%g s)",
                 p->delta_min_us, p->delta_max_s);
        return -1;
    }
    if (p->migrate_at_s >= 0 && p->migrate_at_s > p->duration_s) {
        snprintf(err, errlen, "migrate_at_s (%g) is after the end",
                 p->migrate_at_s);
        return -1;
    }
    if (p->preempt_rate_hz * p->preempt_mean_ms / 1e3 > 10) {
        snprintf(err, errlen,
                 "preempt_rate_hz x preempt_mean_ms leaves the vCPU running "
                 "less than a tenth of the time (%g/s x %g ms)",
                 p->preempt_rate_hz, p->preempt_mean_ms);
        return -1;
    }
    if (p->migrate_at_s >= 0 && p->migrate_jump_s < -p->hv_uptime_s) {
        snprintf(err, errlen,
                 "migrate_jump_s (%g) would take the hypervisor clock below "
                 "zero (hv_uptime_s %g)",
                 p->migrate_jump_s, p->hv_uptime_s);
        return -1;
    }
    if (p->hv_step_at_s >= 0 && p->hv_step_at_s > p->duration_s) {
        snprintf(err, errlen, "hv_step_at_s (%g) is after the end",
                 p->hv_step_at_s);
        return -1;
    }
    if (p->hv_step_at_s >= 0 && p->hv_step_us * US < -p->hv_uptime_s * SEC) {
        snprintf(err, errlen,
                 "hv_step_us (%g) would take the hypervisor clock below zero "
                 "(hv_uptime_s %g)",
                 p->hv_step_us, p->hv_uptime_s);
        return -1;
    }
    if (p->vcpus < 2 && p->remote_fraction > 0) {
        snprintf(err, errlen,
                 "remote_fraction (%g) needs another vCPU (vcpus %g)",
                 p->remote_fraction, p->vcpus);
        return -1;
    }
    /* events per second must stay reasonable for a simulation */
    if (p->timer_rate_hz * (p->duration_s + p->drain_s) > 2e9) {
        snprintf(err, errlen,
                 "timer_rate_hz x duration_s asks for more than "
                 "2e9 timers");
        return -1;
    }
    return 0;
}
