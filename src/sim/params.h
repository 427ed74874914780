/*
 * Simulator parameters and the built-in scenarios.
 *
 * Every parameter has a name whose suffix is its unit (boot_s, slop_us,
 * hz, boot_drift_ppm, ...), a default (the seed-boot scenario), a range
 * and a one-line meaning; `pvtimer sim --list` prints the table. Values
 * are given as `key=value` with an optional unit suffix of the same
 * dimension (`boot_s=500ms`, `slop_us=0.05ms`); numbers are plain decimal
 * ([+-]digits[.digits][e[+-]digits]: not 0x1, inf or nan); a suffix of
 * another dimension, an unknown key or a value out of range is an error.
 *
 * Scenario files: one `key = value` per line, `#` starts a comment, and an
 * optional first `scenario = NAME` line starts from a built-in scenario;
 * each key at most once.
 */
#ifndef PVTIMER_SIM_PARAMS_H
#define PVTIMER_SIM_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which clocksource the guest boots on. */
enum pvt_sim_boot_clock { PVT_SIM_BOOT_JIFFIES = 0, PVT_SIM_BOOT_TSC = 1 };

struct pvt_sim_params {
    double boot_s;            /* guest s until the pvclock switch (0: none) */
    double duration_s;        /* guest s the workload runs */
    double drain_s;           /* guest s after, for pending timers */
    double boot_drift_ppm;    /* boot clocksource drift */
    double hz;                /* tick rate */
    double boot_clock;        /* 0 jiffies, 1 tsc */
    double tsc_ghz;           /* true TSC frequency */
    double tsc_cal_ppm;       /* TSC calibration error (tsc boot clock) */
    double preempt_rate_hz;   /* preemptions per second */
    double preempt_mean_ms;   /* mean preemption length */
    double timer_rate_hz;     /* timers armed per second */
    double delta_min_us;      /* shortest timer */
    double delta_max_s;       /* longest timer */
    double cancel_fraction;   /* timers cancelled before they expire */
    double slop_us;           /* hypervisor timer slop */
    double latency_median_us; /* interrupt delivery latency, median */
    double latency_sigma;     /* its log-normal shape (tail) */
    double hv_uptime_s;       /* hypervisor clock at guest boot */
    double guest_read_ns;     /* guest cost of one clock read */
    double guest_path_ns;     /* guest cost of a programming path */
    double migrate_at_s;      /* guest s of a live migration (<0: none) */
    double migrate_jump_s;    /* hypervisor clock there minus here */
    double migrate_tsc_ppm;   /* TSC rate there relative to here */
    double nohz;              /* 1: tickless idle between events */
    double pvclock;           /* 1: install pvclock at boot_s */
    /* several vCPUs (the smp scenario); the defaults are one vCPU */
    double vcpus;           /* vCPUs, each with its device and queue */
    double tsc_skew_ns;     /* spread of the vCPUs' TSC offset errors */
    double tsc_stable;      /* 1: the pages publish TSC_STABLE */
    double pvclock_guard;   /* 1: one last-value guard for all vCPUs */
    double remote_fraction; /* timers armed for another vCPU */
    /* faults (the fault matrix); the defaults inject none */
    double tsc_bits;     /* width of the guest's TSC clocksource counter */
    double hv_step_at_s; /* guest s of a hypervisor clock step (<0: none) */
    double hv_step_us;   /* that step, unannounced (negative: back) */
};

/* The most vCPUs a simulated guest has. */
#define PVT_SIM_MAX_VCPUS 64

enum pvt_sim_param_kind {
    PVT_SIM_UNIT_TIME,  /* value in the unit of the key's suffix */
    PVT_SIM_UNIT_FREQ,  /* Hz */
    PVT_SIM_UNIT_PPM,   /* parts per million */
    PVT_SIM_UNIT_RATIO, /* plain number or % */
    PVT_SIM_UNIT_COUNT, /* plain number */
};

struct pvt_sim_param_def {
    const char *name;
    const char *unit; /* as shown: "s", "us", "Hz", "ppm", "" */
    enum pvt_sim_param_kind kind;
    double unit_ns; /* PVT_SIM_UNIT_TIME: ns per unit */
    size_t offset;  /* in struct pvt_sim_params */
    double min, max;
    bool integer;
    const char *help;
};

struct pvt_sim_scenario {
    const char *name;
    const char *summary;
    const char *overrides; /* "key=value key=value ..." on the defaults */
};

const struct pvt_sim_param_def *pvt_sim_param_defs(size_t *count);
const struct pvt_sim_scenario *pvt_sim_scenarios(size_t *count);
const struct pvt_sim_scenario *pvt_sim_scenario_find(const char *name);

/* The defaults (seed-boot). */
void pvt_sim_params_default(struct pvt_sim_params *p);

/*
 * Apply one "key=value" (also "key = value"). On error returns -1 and
 * writes a message (naming the key and the problem) into err.
 */
int pvt_sim_params_set(struct pvt_sim_params *p, const char *assignment,
                       char *err, size_t errlen);

/*
 * Parses text, a number with an optional unit of kind's dimension
 * ("500ms", "2 kHz", "40ppm", "10%"), into *out in units worth unit base
 * units (PVT_SIM_UNIT_TIME: ns, so 1e9 for seconds; other kinds: 1). A bare
 * number is already in the caller's unit. Returns 0; -1 with a message
 * naming name in err (not a number, a unit of another dimension, NULL
 * arguments). Checks no range.
 */
int pvt_sim_parse_quantity(const char *name, const char *text,
                           enum pvt_sim_param_kind kind, double unit,
                           double *out, char *err, size_t errlen);

/* Load a built-in scenario: defaults + its overrides. -1 if unknown. */
int pvt_sim_params_scenario(struct pvt_sim_params *p, const char *name,
                            char *err, size_t errlen);

/* The largest scenario file read. */
#define PVT_SIM_SCENARIO_MAX (1u << 20)

/*
 * Load a scenario file (see above): a regular text file of at most
 * PVT_SIM_SCENARIO_MAX bytes (a directory, a device, a FIFO is refused
 * without reading it). -1 with a message (file:line).
 */
int pvt_sim_params_load_file(struct pvt_sim_params *p, const char *path,
                             char *err, size_t errlen);

/*
 * The same on len bytes of text (name for messages): the defaults, then
 * each line. Refused, with the line number: a NUL byte, a line longer
 * than 511 bytes, `scenario = NAME` anywhere but as the first setting (it
 * would undo what came before), a key set twice, and what
 * pvt_sim_params_set refuses. Returns 0 or -1 with the message in err.
 */
int pvt_sim_params_load_text(struct pvt_sim_params *p, const char *name,
                             const char *text, size_t len, char *err,
                             size_t errlen);

/*
 * Copies srclen bytes of src into dst (dstlen bytes, NUL-terminated) for a
 * message that echoes input: a backslash as \\, a byte that is not
 * printable ASCII as \xNN; cut with "..." when it does not fit. Returns
 * the length written.
 */
size_t pvt_sim_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

/*
 * The one rule for a command's "scenario name or file" argument: a
 * built-in scenario's name loads that scenario; otherwise an argument
 * that looks like a path (it holds a '/' or a '.') or names an existing
 * file is loaded as a scenario file. Returns 0; -1 with a message in err
 * for an unknown name, an unreadable or malformed file, or a NULL
 * argument. A name wins over a file of the same name in the working
 * directory.
 */
int pvt_sim_params_resolve(struct pvt_sim_params *p, const char *name_or_file,
                           char *err, size_t errlen);

/*
 * Applies the "key=value" overrides sets[0 .. n) in order, then checks the
 * result (pvt_sim_params_check): what a command does with its --set
 * options. Returns 0; -1 with the first problem in err (NULL p, or sets
 * NULL with n > 0).
 */
int pvt_sim_params_apply(struct pvt_sim_params *p, const char *const *sets,
                         size_t n, char *err, size_t errlen);

/* Check relations between parameters (boot before the end, ...). */
int pvt_sim_params_check(const struct pvt_sim_params *p, char *err,
                         size_t errlen);

/* The value of a parameter by definition. */
double pvt_sim_param_get(const struct pvt_sim_params *p,
                         const struct pvt_sim_param_def *d);

#endif /* PVTIMER_SIM_PARAMS_H */
