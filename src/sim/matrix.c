/*
 * The fault matrix: description parsing, the runs, and their JSON
 * (contract in matrix.h; the format in docs/matrix.md).
 */
#include "matrix.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvtimer/pvtimer.h"
#include "sim.h"

/* ---- the built-in matrices ---------------------------------------------- */

/* The faults, each an axis; the runs of both matrices are the same kind,
 * the quick one shorter and with fewer levels of each fault. */
static const char default_text[] =
    "# The default fault matrix: every fault crossed with every other,\n"
    "# every strategy, three seeds; 5 s of workload at 2000 timers/s\n"
    "# per run, timers of 10 us to 1 s, 2.1 s to drain (>= 10^8 timers).\n"
    "matrix default\n"
    "base duration_s=5 drain_s=2.1 delta_max_s=1 timer_rate_hz=2000 boot_s=2\n"
    "axis clock\n"
    "level jiffies-1000ppm boot_clock=0 boot_drift_ppm=-1000\n"
    "level jiffies-300ppm boot_clock=0 boot_drift_ppm=-300\n"
    "level jiffies-10ppm boot_clock=0 boot_drift_ppm=-10\n"
    "level jiffies+10ppm boot_clock=0 boot_drift_ppm=10\n"
    "level jiffies+300ppm boot_clock=0 boot_drift_ppm=300\n"
    "level jiffies+1000ppm boot_clock=0 boot_drift_ppm=1000\n"
    "level tsc-cal-300ppm boot_clock=1 tsc_cal_ppm=-300\n"
    "level tsc-cal+300ppm boot_clock=1 tsc_cal_ppm=300\n"
    "level tsc32-cal-300ppm boot_clock=1 tsc_cal_ppm=-300 tsc_bits=32\n"
    "level tsc32-cal+300ppm boot_clock=1 tsc_cal_ppm=300 tsc_bits=32\n"
    "axis preempt\n"
    "level none preempt_rate_hz=0\n"
    "level 20/s-2ms preempt_rate_hz=20 preempt_mean_ms=2\n"
    "level 200/s-10ms preempt_rate_hz=200 preempt_mean_ms=10\n"
    "axis jump\n"
    "level none\n"
    "level migrate+1h migrate_at_s=3 migrate_jump_s=1h migrate_tsc_ppm=50\n"
    "level migrate-1h migrate_at_s=3 migrate_jump_s=-1h migrate_tsc_ppm=-50\n"
    "level migrate-tsc+1000ppm migrate_at_s=3 migrate_jump_s=0 "
    "migrate_tsc_ppm=1000\n"
    "level hv-back-500us hv_step_at_s=3.5 hv_step_us=-500\n"
    "axis switch\n"
    "level none pvclock=0\n"
    "level pvclock-at-2s pvclock=1\n"
    "axis idle\n"
    "level tick nohz=0\n"
    "level nohz nohz=1\n"
    "seeds 1 2 3\n"
    "strategies all\n"
    "# a stale offset taken at boot aims an hour late after the clock\n"
    "# jumps back: the strategy's documented failure (docs/design.md)\n"
    "known abs-boot-offset jump=migrate-1h lost\n";

static const char quick_text[] =
    "# The quick fault matrix: every fault of the default one, at fewer\n"
    "# levels, one seed, 0.3 s of workload per run at 1000 timers/s.\n"
    "matrix quick\n"
    "base duration_s=0.3 drain_s=1.25 delta_max_s=0.2 timer_rate_hz=1000 "
    "boot_s=0.1\n"
    "axis clock\n"
    "level jiffies-1000ppm boot_clock=0 boot_drift_ppm=-1000\n"
    "level jiffies+300ppm boot_clock=0 boot_drift_ppm=300\n"
    "level tsc-cal+300ppm boot_clock=1 tsc_cal_ppm=300\n"
    "# 28 bits at 2 GHz wrap every 134 ms, twice in a run\n"
    "level tsc28-cal-300ppm boot_clock=1 tsc_cal_ppm=-300 tsc_bits=28\n"
    "axis preempt\n"
    "level none preempt_rate_hz=0\n"
    "level 20/s-2ms preempt_rate_hz=20 preempt_mean_ms=2\n"
    "level 200/s-10ms preempt_rate_hz=200 preempt_mean_ms=10\n"
    "axis jump\n"
    "level none\n"
    "level migrate+1h migrate_at_s=0.15 migrate_jump_s=1h "
    "migrate_tsc_ppm=50\n"
    "level migrate-1h migrate_at_s=0.15 migrate_jump_s=-1h "
    "migrate_tsc_ppm=-1000\n"
    "level hv-back-500us hv_step_at_s=0.2 hv_step_us=-500\n"
    "axis switch\n"
    "level none pvclock=0\n"
    "level pvclock-mid-run pvclock=1\n"
    "axis idle\n"
    "level tick nohz=0\n"
    "level nohz nohz=1\n"
    "seeds 1\n"
    "strategies all\n"
    "known abs-boot-offset jump=migrate-1h lost\n";

/* ---- parsing --------------------------------------------------------------- */

static int failf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A name or label: letters, digits and . _ + - / only, 1 to 31 of them. */
static bool good_label(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len >= PVT_SIM_MATRIX_NAME)
        return false;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._+-/", s[i]))
            return false;
    return true;
}

/* The next whitespace-separated word of *s: its start, its length in
 * *len; NULL at the end. */
static const char *word(const char **s, size_t *len)
{
    const char *p = *s, *q;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return NULL;
    q = p;
    while (*q && *q != ' ' && *q != '\t')
        q++;
    *len = (size_t)(q - p);
    *s = q;
    return p;
}

static bool word_is(const char *w, size_t len, const char *what)
{
    return strlen(what) == len && strncmp(w, what, len) == 0;
}

/* Checks the assignments in rest (each key=value against a scratch
 * parameter set) and copies them, normalised to single spaces, into out. */
static int take_sets(const char *rest, char *out, size_t outlen, char *err,
                     size_t errlen)
{
    struct pvt_sim_params p;
    const char *w;
    size_t len, used = strlen(out);

    pvt_sim_params_default(&p);
    while ((w = word(&rest, &len))) {
        char one[128];
        if (len >= sizeof(one))
            return failf(err, errlen, "'%.40s...' is too long", w);
        memcpy(one, w, len);
        one[len] = '\0';
        if (!strchr(one, '='))
            return failf(err, errlen, "'%s': expected key=value", one);
        if (pvt_sim_params_set(&p, one, err, errlen))
            return -1;
        if (used + len + 2 > outlen)
            return failf(err, errlen, "too many assignments");
        if (used)
            out[used++] = ' ';
        memcpy(out + used, one, len + 1);
        used += len;
    }
    return 0;
}

static const struct pvt_strategy *strategy_named(const char *w, size_t len)
{
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);

    for (i = 0; i < n; i++)
        if (word_is(w, len, all[i]->name))
            return all[i];
    return NULL;
}

/* One line (comment removed, not empty) of a description. */
static int parse_line(struct pvt_sim_matrix *m, const char *s, bool *strat_set,
                      char *err, size_t errlen)
{
    const char *w;
    size_t len;

    w = word(&s, &len);
    if (m->name[0] == '\0' && !word_is(w, len, "matrix"))
        return failf(err, errlen, "the first line must be `matrix NAME`");
    if (word_is(w, len, "matrix")) {
        if (m->name[0])
            return failf(err, errlen, "a second `matrix` line");
        w = word(&s, &len);
        if (!w || !good_label(w, len))
            return failf(err, errlen,
                         "`matrix NAME`: a name of letters, digits, ._+-/");
        memcpy(m->name, w, len);
        m->name[len] = '\0';
        if (word(&s, &len))
            return failf(err, errlen, "`matrix NAME` takes one name");
        return 0;
    }
    if (word_is(w, len, "base"))
        return take_sets(s, m->base, sizeof(m->base), err, errlen);
    if (word_is(w, len, "axis")) {
        struct pvt_sim_matrix_axis *a;
        size_t k;
        if (m->naxes == PVT_SIM_MATRIX_AXES)
            return failf(err, errlen, "more than %d axes", PVT_SIM_MATRIX_AXES);
        w = word(&s, &len);
        if (!w || !good_label(w, len) || word(&s, &len))
            return failf(err, errlen,
                         "`axis NAME`: one name of letters, "
                         "digits, ._+-/");
        for (k = 0; k < m->naxes; k++)
            if (word_is(w, len, m->axis[k].name))
                return failf(err, errlen, "axis '%.*s' twice", (int)len, w);
        a = &m->axis[m->naxes++];
        memcpy(a->name, w, len);
        a->name[len] = '\0';
        return 0;
    }
    if (word_is(w, len, "level")) {
        struct pvt_sim_matrix_axis *a;
        struct pvt_sim_matrix_level *l;
        size_t k;
        if (m->naxes == 0)
            return failf(err, errlen, "`level` before any `axis`");
        a = &m->axis[m->naxes - 1];
        if (a->nlevels == PVT_SIM_MATRIX_LEVELS)
            return failf(err, errlen, "axis %s: more than %d levels", a->name,
                         PVT_SIM_MATRIX_LEVELS);
        w = word(&s, &len);
        if (!w || !good_label(w, len))
            return failf(err, errlen,
                         "`level LABEL key=value ...`: a label of letters, "
                         "digits, ._+-/");
        for (k = 0; k < a->nlevels; k++)
            if (word_is(w, len, a->level[k].label))
                return failf(err, errlen, "axis %s: level '%.*s' twice",
                             a->name, (int)len, w);
        l = &a->level[a->nlevels++];
        memcpy(l->label, w, len);
        l->label[len] = '\0';
        return take_sets(s, l->sets, sizeof(l->sets), err, errlen);
    }
    if (word_is(w, len, "seeds")) {
        if (m->nseeds)
            return failf(err, errlen, "a second `seeds` line");
        while ((w = word(&s, &len))) {
            char buf[24], *end;
            unsigned long long v;
            size_t k;
            if (len >= sizeof(buf) || !isdigit((unsigned char)w[0]))
                return failf(err, errlen, "seeds: '%.*s' is not a seed",
                             (int)(len < 40 ? len : 40), w);
            memcpy(buf, w, len);
            buf[len] = '\0';
            errno = 0;
            v = strtoull(buf, &end, 10);
            if (*end || errno)
                return failf(err, errlen, "seeds: '%s' is not a seed", buf);
            for (k = 0; k < m->nseeds; k++)
                if (m->seed[k] == v)
                    return failf(err, errlen, "seeds: %llu twice", v);
            if (m->nseeds == PVT_SIM_MATRIX_SEEDS)
                return failf(err, errlen, "more than %d seeds",
                             PVT_SIM_MATRIX_SEEDS);
            m->seed[m->nseeds++] = v;
        }
        if (!m->nseeds)
            return failf(err, errlen, "`seeds N ...`: at least one");
        return 0;
    }
    if (word_is(w, len, "strategies")) {
        if (*strat_set)
            return failf(err, errlen, "a second `strategies` line");
        *strat_set = true;
        m->nstrategies = 0;
        while ((w = word(&s, &len))) {
            const struct pvt_strategy *st;
            size_t k;
            if (word_is(w, len, "all")) {
                size_t n;
                const struct pvt_strategy *const *all = pvt_strategies(&n);
                if (m->nstrategies || word(&s, &len))
                    return failf(err, errlen,
                                 "strategies: `all` or names, not both");
                for (k = 0; k < n && k < 16; k++)
                    m->strategy[m->nstrategies++] = all[k];
                return 0;
            }
            st = strategy_named(w, len);
            if (!st)
                return failf(err, errlen,
                             "strategies: unknown strategy '%.*s' (pvtimer "
                             "strategies lists them)",
                             (int)(len < 40 ? len : 40), w);
            for (k = 0; k < m->nstrategies; k++)
                if (m->strategy[k] == st)
                    return failf(err, errlen, "strategies: %s twice", st->name);
            if (m->nstrategies == 16)
                return failf(err, errlen, "too many strategies");
            m->strategy[m->nstrategies++] = st;
        }
        if (!m->nstrategies)
            return failf(err, errlen, "`strategies all|NAME ...`: none given");
        return 0;
    }
    if (word_is(w, len, "known")) {
        struct pvt_sim_matrix_known *kn;
        const char *eq;
        size_t a, l;
        if (m->nknown == PVT_SIM_MATRIX_KNOWN)
            return failf(err, errlen, "more than %d known lines",
                         PVT_SIM_MATRIX_KNOWN);
        kn = &m->known[m->nknown];
        w = word(&s, &len);
        if (!w || !(kn->strategy = strategy_named(w, len)))
            return failf(err, errlen,
                         "`known STRATEGY AXIS=LEVEL lost|early`: no such "
                         "strategy");
        w = word(&s, &len);
        eq = w ? memchr(w, '=', len) : NULL;
        if (!eq)
            return failf(err, errlen,
                         "`known STRATEGY AXIS=LEVEL lost|early`: expected "
                         "AXIS=LEVEL");
        for (a = 0; a < m->naxes; a++)
            if (word_is(w, (size_t)(eq - w), m->axis[a].name))
                break;
        if (a == m->naxes)
            return failf(err, errlen, "known: no axis '%.*s' (above)",
                         (int)(eq - w), w);
        for (l = 0; l < m->axis[a].nlevels; l++)
            if (word_is(eq + 1, len - (size_t)(eq - w) - 1,
                        m->axis[a].level[l].label))
                break;
        if (l == m->axis[a].nlevels)
            return failf(err, errlen, "known: axis %s has no level '%.*s'",
                         m->axis[a].name, (int)(len - (size_t)(eq - w) - 1),
                         eq + 1);
        kn->axis = a;
        kn->level = l;
        kn->what = 0;
        while ((w = word(&s, &len))) {
            if (word_is(w, len, "lost"))
                kn->what |= PVT_SIM_MATRIX_LOST;
            else if (word_is(w, len, "early"))
                kn->what |= PVT_SIM_MATRIX_EARLY;
            else
                return failf(err, errlen,
                             "known: '%.*s' is neither lost nor early",
                             (int)(len < 40 ? len : 40), w);
        }
        if (!kn->what)
            return failf(err, errlen, "known: say lost, early or both");
        m->nknown++;
        return 0;
    }
    return failf(err, errlen,
                 "unknown directive '%.*s' (matrix, base, axis, level, "
                 "seeds, strategies, known)",
                 (int)(len < 40 ? len : 40), w);
}

/* FNV-1a, 64 bits. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static void describe_to(const struct pvt_sim_matrix *m,
                        void (*put)(void *ctx, const char *s), void *ctx)
{
    char buf[PVT_SIM_MATRIX_SETS + 64];
    size_t a, l, k;

    snprintf(buf, sizeof(buf), "matrix %s\n", m->name);
    put(ctx, buf);
    if (m->base[0]) {
        snprintf(buf, sizeof(buf), "base %s\n", m->base);
        put(ctx, buf);
    }
    for (a = 0; a < m->naxes; a++) {
        snprintf(buf, sizeof(buf), "axis %s\n", m->axis[a].name);
        put(ctx, buf);
        for (l = 0; l < m->axis[a].nlevels; l++) {
            const struct pvt_sim_matrix_level *lv = &m->axis[a].level[l];
            snprintf(buf, sizeof(buf), "level %s%s%s\n", lv->label,
                     lv->sets[0] ? " " : "", lv->sets);
            put(ctx, buf);
        }
    }
    put(ctx, "seeds");
    for (k = 0; k < m->nseeds; k++) {
        snprintf(buf, sizeof(buf), " %llu", (unsigned long long)m->seed[k]);
        put(ctx, buf);
    }
    put(ctx, "\nstrategies");
    for (k = 0; k < m->nstrategies; k++) {
        put(ctx, " ");
        put(ctx, m->strategy[k]->name);
    }
    put(ctx, "\n");
    for (k = 0; k < m->nknown; k++) {
        const struct pvt_sim_matrix_known *kn = &m->known[k];
        snprintf(buf, sizeof(buf), "known %s %s=%s%s%s\n", kn->strategy->name,
                 m->axis[kn->axis].name,
                 m->axis[kn->axis].level[kn->level].label,
                 kn->what & PVT_SIM_MATRIX_LOST ? " lost" : "",
                 kn->what & PVT_SIM_MATRIX_EARLY ? " early" : "");
        put(ctx, buf);
    }
}

static void put_hash(void *ctx, const char *s)
{
    uint64_t *h = ctx;
    *h = fnv(*h, s);
}

static void put_file(void *ctx, const char *s)
{
    fputs(s, (FILE *)ctx);
}

void pvt_sim_matrix_describe(FILE *f, const struct pvt_sim_matrix *m)
{
    if (f && m)
        describe_to(m, put_file, f);
}

int pvt_sim_matrix_parse(struct pvt_sim_matrix *m, const char *text,
                         const char *origin, char *err, size_t errlen)
{
    const char *s = text;
    char line[1024], msg[256];
    bool strat_set = false;
    size_t a, r;
    int n = 0;

    if (m == NULL || text == NULL || origin == NULL)
        return failf(err, errlen, "no matrix to parse");
    memset(m, 0, sizeof(*m));
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char *hash;
        size_t i;

        n++;
        if (len >= sizeof(line))
            return failf(err, errlen, "%s:%d: line too long", origin, n);
        memcpy(line, s, len);
        line[len] = '\0';
        s += len + (nl ? 1 : 0);
        /* text: no control bytes (UTF-8 in comments is fine; names,
         * labels and values are checked for what they may hold) */
        for (i = 0; i < len; i++)
            if (((unsigned char)line[i] < 0x20 || line[i] == 0x7f) &&
                line[i] != '\t' && !(line[i] == '\r' && i == len - 1))
                return failf(err, errlen,
                             "%s:%d: a byte that is not printable text "
                             "(\\x%02x)",
                             origin, n, (unsigned char)line[i]);
        if ((hash = strchr(line, '#')))
            *hash = '\0';
        len = strlen(line);
        while (len && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        {
            const char *t = line;
            size_t wl;
            if (!word(&t, &wl))
                continue;
        }
        if (parse_line(m, line, &strat_set, msg, sizeof(msg)))
            return failf(err, errlen, "%s:%d: %s", origin, n, msg);
    }
    if (!m->name[0])
        return failf(err, errlen,
                     "%s: empty (the first line must be "
                     "`matrix NAME`)",
                     origin);
    if (!m->nseeds)
        return failf(err, errlen, "%s: no `seeds` line", origin);
    if (!strat_set) {
        size_t k, nall;
        const struct pvt_strategy *const *all = pvt_strategies(&nall);
        for (k = 0; k < nall && k < 16; k++)
            m->strategy[m->nstrategies++] = all[k];
    }
    m->combos = 1;
    for (a = 0; a < m->naxes; a++) {
        if (m->axis[a].nlevels == 0)
            return failf(err, errlen, "%s: axis %s has no level", origin,
                         m->axis[a].name);
        m->combos *= m->axis[a].nlevels;
        if (m->combos > PVT_SIM_MATRIX_MAXRUNS)
            break;
    }
    if (m->combos > PVT_SIM_MATRIX_MAXRUNS ||
        m->combos * m->nseeds * m->nstrategies > PVT_SIM_MATRIX_MAXRUNS)
        return failf(err, errlen, "%s: more than %u runs", origin,
                     PVT_SIM_MATRIX_MAXRUNS);
    m->runs = m->combos * m->nseeds * m->nstrategies;
    /* every combination's parameters are valid together */
    for (r = 0; r < m->combos; r++) {
        struct pvt_sim_params p;
        uint64_t seed;
        const struct pvt_strategy *st;
        if (pvt_sim_matrix_cell(m, r * m->nseeds * m->nstrategies, &p, &seed,
                                &st, NULL, msg, sizeof(msg)))
            return failf(err, errlen, "%s: %s", origin, msg);
    }
    m->digest = 0xcbf29ce484222325ull;
    describe_to(m, put_hash, &m->digest);
    return 0;
}

int pvt_sim_matrix_load(struct pvt_sim_matrix *m, const char *path, char *err,
                        size_t errlen)
{
    FILE *f;
    char *buf;
    size_t n;
    int rc;

    if (m == NULL || path == NULL)
        return failf(err, errlen, "no matrix file");
    f = fopen(path, "r");
    if (!f)
        return failf(err, errlen, "%s: %s", path, strerror(errno));
    buf = malloc((1u << 20) + 1);
    if (!buf) {
        fclose(f);
        return failf(err, errlen, "out of memory");
    }
    n = fread(buf, 1, 1u << 20, f);
    if (ferror(f)) {
        rc = failf(err, errlen, "%s: %s", path,
                   errno ? strerror(errno) : "read error");
    } else if (n == 1u << 20 && fgetc(f) != EOF) {
        rc = failf(err, errlen, "%s: larger than 1 MiB", path);
    } else if (memchr(buf, '\0', n)) {
        rc = failf(err, errlen, "%s: a NUL byte: not a text file", path);
    } else {
        buf[n] = '\0';
        rc = pvt_sim_matrix_parse(m, buf, path, err, errlen);
    }
    free(buf);
    fclose(f);
    return rc;
}

int pvt_sim_matrix_builtin(struct pvt_sim_matrix *m, const char *name,
                           char *err, size_t errlen)
{
    if (name && strcmp(name, "default") == 0)
        return pvt_sim_matrix_parse(m, default_text, "built-in default", err,
                                    errlen);
    if (name && strcmp(name, "quick") == 0)
        return pvt_sim_matrix_parse(m, quick_text, "built-in quick", err,
                                    errlen);
    return failf(err, errlen, "no built-in matrix '%s' (default, quick)",
                 name ? name : "(null)");
}

/* The level of every axis for combination c. */
static void combo_levels(const struct pvt_sim_matrix *m, size_t c,
                         size_t *levels)
{
    size_t a = m->naxes;

    while (a-- > 0) {
        levels[a] = c % m->axis[a].nlevels;
        c /= m->axis[a].nlevels;
    }
}

static int apply_sets(struct pvt_sim_params *p, const char *sets, char *err,
                      size_t errlen)
{
    char buf[PVT_SIM_MATRIX_SETS], *tok, *save = NULL;

    snprintf(buf, sizeof(buf), "%s", sets);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (pvt_sim_params_set(p, tok, err, errlen))
            return -1;
    return 0;
}

int pvt_sim_matrix_cell(const struct pvt_sim_matrix *m, size_t r,
                        struct pvt_sim_params *p, uint64_t *seed,
                        const struct pvt_strategy **strategy, size_t *levels,
                        char *err, size_t errlen)
{
    size_t lv[PVT_SIM_MATRIX_AXES], a, combo, rest;
    char msg[256];

    if (m == NULL || p == NULL || seed == NULL || strategy == NULL ||
        m->nstrategies == 0 || m->nseeds == 0)
        return failf(err, errlen, "no matrix");
    combo = r / (m->nseeds * m->nstrategies);
    if (combo >= m->combos)
        return failf(err, errlen, "run %zu: the matrix has %zu runs", r,
                     m->runs);
    rest = r % (m->nseeds * m->nstrategies);
    *seed = m->seed[rest / m->nstrategies];
    *strategy = m->strategy[rest % m->nstrategies];
    combo_levels(m, combo, lv);
    pvt_sim_params_default(p);
    if (apply_sets(p, m->base, msg, sizeof(msg)))
        return failf(err, errlen, "base: %s", msg);
    for (a = 0; a < m->naxes; a++) {
        if (apply_sets(p, m->axis[a].level[lv[a]].sets, msg, sizeof(msg)))
            return failf(err, errlen, "%s=%s: %s", m->axis[a].name,
                         m->axis[a].level[lv[a]].label, msg);
        if (levels)
            levels[a] = lv[a];
    }
    if (pvt_sim_params_check(p, msg, sizeof(msg))) {
        char where[512] = "";
        size_t used = 0;
        for (a = 0; a < m->naxes && used < sizeof(where); a++)
            used += (size_t)snprintf(where + used, sizeof(where) - used,
                                     "%s%s=%s", a ? " " : "", m->axis[a].name,
                                     m->axis[a].level[lv[a]].label);
        return failf(err, errlen, "the combination %s: %s", where, msg);
    }
    return 0;
}

bool pvt_sim_matrix_in_shard(const struct pvt_sim_matrix_shard *s, size_t r)
{
    return s == NULL || s->n == 0 || r % s->n == s->i;
}

/* ---- the runs ------------------------------------------------------------- */

static int hist_take(struct pvt_sim_matrix_hist *d,
                     const struct pvt_sim_hist *h)
{
    size_t b, k = 0;

    memset(d, 0, sizeof(*d));
    d->count = h->count;
    d->negative = h->negative;
    d->max_abs = h->max_abs;
    d->min = h->min;
    d->max = h->max;
    for (b = 0; b < PVT_SIM_HIST_BUCKETS; b++)
        if (h->bucket[b])
            d->n++;
    if (d->n == 0)
        return 0;
    d->idx = malloc(d->n * sizeof(*d->idx));
    d->cnt = malloc(d->n * sizeof(*d->cnt));
    if (!d->idx || !d->cnt)
        return -1;
    for (b = 0; b < PVT_SIM_HIST_BUCKETS; b++)
        if (h->bucket[b]) {
            d->idx[k] = (uint32_t)b;
            d->cnt[k++] = h->bucket[b];
        }
    return 0;
}

/* Adds d into h (whose sum is not kept: its mean is not exact across
 * merges). */
static void hist_add_to(struct pvt_sim_hist *h,
                        const struct pvt_sim_matrix_hist *d)
{
    size_t k;

    if (d->count == 0)
        return;
    if (h->count == 0 || d->min < h->min)
        h->min = d->min;
    if (h->count == 0 || d->max > h->max)
        h->max = d->max;
    if (d->max_abs > h->max_abs)
        h->max_abs = d->max_abs;
    h->count += d->count;
    h->negative += d->negative;
    for (k = 0; k < d->n; k++)
        h->bucket[d->idx[k]] += d->cnt[k];
}

struct job {
    const struct pvt_sim_matrix *m;
    const struct pvt_sim_matrix_shard *s;
    struct pvt_sim_matrix_run *runs;
    atomic_size_t next, done;
    size_t todo;
    atomic_int failed;
    pthread_mutex_t lock;
    char err[512];
};

static void job_fail(struct job *j, const char *msg)
{
    pthread_mutex_lock(&j->lock);
    if (!atomic_load(&j->failed))
        snprintf(j->err, sizeof(j->err), "%s", msg);
    atomic_store(&j->failed, 1);
    pthread_mutex_unlock(&j->lock);
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct pvt_sim_result *res = malloc(sizeof(*res));
    size_t r;

    if (!res) {
        job_fail(j, "out of memory");
        return NULL;
    }
    while (!atomic_load(&j->failed) &&
           (r = atomic_fetch_add(&j->next, 1)) < j->m->runs) {
        struct pvt_sim_params p;
        uint64_t seed;
        const struct pvt_strategy *st;
        struct pvt_sim_matrix_run *o = &j->runs[r];
        char msg[512];

        if (!pvt_sim_matrix_in_shard(j->s, r))
            continue;
        if (pvt_sim_matrix_cell(j->m, r, &p, &seed, &st, NULL, msg,
                                sizeof(msg)) ||
            pvt_sim_run(&p, seed, st, res, NULL, NULL, msg, sizeof(msg))) {
            job_fail(j, msg);
            break;
        }
        o->timers = res->timers;
        o->fired = res->fired;
        o->cancelled = res->cancelled;
        o->pending = res->pending;
        o->lost = res->lost;
        o->early = res->early_callbacks;
        o->backwards = res->guest_clock_backwards + res->clock_backwards;
        o->clamps = res->timekeeper_clamps;
        o->truncated = res->truncated;
        if (hist_take(&o->lateness, &res->lateness)) {
            job_fail(j, "out of memory");
            break;
        }
        o->done = true;
        atomic_fetch_add(&j->done, 1);
    }
    free(res);
    return NULL;
}

int pvt_sim_matrix_execute(const struct pvt_sim_matrix *m,
                           const struct pvt_sim_matrix_shard *s,
                           unsigned int threads,
                           struct pvt_sim_matrix_run *runs,
                           void (*progress)(void *ctx, double fraction),
                           void *ctx, char *err, size_t errlen)
{
    struct job j;
    pthread_t th[256];
    size_t k, started = 0, r;

    if (m == NULL || runs == NULL || m->runs == 0)
        return failf(err, errlen, "no matrix to run");
    if (s && s->n && s->i >= s->n)
        return failf(err, errlen, "shard %zu of %zu", s->i + 1, s->n);
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned int)cpus : 1;
    }
    if (threads > 256)
        threads = 256;
    memset(&j, 0, sizeof(j));
    j.m = m;
    j.s = s;
    j.runs = runs;
    for (r = 0; r < m->runs; r++)
        if (pvt_sim_matrix_in_shard(s, r))
            j.todo++;
    if (threads > j.todo)
        threads = j.todo ? (unsigned int)j.todo : 1;
    pthread_mutex_init(&j.lock, NULL);
    for (k = 0; k < threads; k++)
        if (pthread_create(&th[started], NULL, worker, &j) == 0)
            started++;
    if (started == 0)
        worker(&j);
    while (started && atomic_load(&j.done) < j.todo &&
           !atomic_load(&j.failed)) {
        struct timespec nap = {0, 100000000};
        nanosleep(&nap, NULL);
        if (progress)
            progress(ctx, (double)atomic_load(&j.done) / (double)j.todo);
    }
    for (k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    pthread_mutex_destroy(&j.lock);
    if (atomic_load(&j.failed))
        return failf(err, errlen, "%s", j.err);
    return 0;
}

void pvt_sim_matrix_runs_free(struct pvt_sim_matrix_run *runs, size_t n)
{
    size_t r;

    for (r = 0; runs && r < n; r++) {
        free(runs[r].lateness.idx);
        free(runs[r].lateness.cnt);
    }
    free(runs);
}

/* ---- verdicts ---------------------------------------------------------------- */

static unsigned int known_for(const struct pvt_sim_matrix *m, size_t r)
{
    size_t lv[PVT_SIM_MATRIX_AXES], k;
    const struct pvt_strategy *st = m->strategy[r % m->nstrategies];
    unsigned int what = 0;

    combo_levels(m, r / (m->nseeds * m->nstrategies), lv);
    for (k = 0; k < m->nknown; k++)
        if (m->known[k].strategy == st &&
            lv[m->known[k].axis] == m->known[k].level)
            what |= m->known[k].what;
    return what;
}

bool pvt_sim_matrix_run_ok(const struct pvt_sim_matrix *m, size_t r,
                           const struct pvt_sim_matrix_run *run)
{
    unsigned int known;

    if (m == NULL || run == NULL || r >= m->runs)
        return false;
    known = known_for(m, r);
    return !run->truncated && run->backwards == 0 &&
           (run->early == 0 || (known & PVT_SIM_MATRIX_EARLY)) &&
           (run->lost == 0 || (known & PVT_SIM_MATRIX_LOST));
}

bool pvt_sim_matrix_ok(const struct pvt_sim_matrix *m,
                       const struct pvt_sim_matrix_run *runs)
{
    size_t r;

    if (m == NULL || runs == NULL)
        return false;
    for (r = 0; r < m->runs; r++)
        if (runs[r].done && !pvt_sim_matrix_run_ok(m, r, &runs[r]))
            return false;
    return true;
}

/* ---- reports ------------------------------------------------------------------- */

struct totals {
    uint64_t runs, timers, fired, cancelled, pending, lost, early, backwards,
        clamps, failed, known_lost, known_early, truncated;
    struct pvt_sim_hist *lat;
};

static void totals_add(struct totals *t, const struct pvt_sim_matrix *m,
                       size_t r, const struct pvt_sim_matrix_run *x)
{
    unsigned int known = known_for(m, r);

    t->runs++;
    t->timers += x->timers;
    t->fired += x->fired;
    t->cancelled += x->cancelled;
    t->pending += x->pending;
    t->clamps += x->clamps;
    t->backwards += x->backwards;
    t->truncated += x->truncated;
    if (known & PVT_SIM_MATRIX_LOST)
        t->known_lost += x->lost;
    else
        t->lost += x->lost;
    if (known & PVT_SIM_MATRIX_EARLY)
        t->known_early += x->early;
    else
        t->early += x->early;
    if (!pvt_sim_matrix_run_ok(m, r, x))
        t->failed++;
    if (t->lat)
        hist_add_to(t->lat, &x->lateness);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void put_json_str(void *ctx, const char *s)
{
    FILE *f = ctx;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else
            fputc(c, f);
    }
}

static void json_hist_summary(FILE *f, const struct pvt_sim_hist *h)
{
    fprintf(f,
            "{\"count\": %llu, \"negative\": %llu, \"p50\": %llu, \"p99\": "
            "%llu, \"p999\": %llu, \"max\": %llu}",
            (unsigned long long)h->count, (unsigned long long)h->negative,
            (unsigned long long)pvt_sim_hist_quantile(h, 0.5),
            (unsigned long long)pvt_sim_hist_quantile(h, 0.99),
            (unsigned long long)pvt_sim_hist_quantile(h, 0.999),
            (unsigned long long)pvt_sim_hist_quantile(h, 1.0));
}

void pvt_sim_matrix_json(FILE *f, const struct pvt_sim_matrix *m,
                         const struct pvt_sim_matrix_shard *s,
                         const struct pvt_sim_matrix_run *runs)
{
    struct totals t;
    size_t r, a, k;
    bool first = true;

    if (f == NULL || m == NULL || runs == NULL)
        return;
    memset(&t, 0, sizeof(t));
    t.lat = calloc(1, sizeof(*t.lat));
    fprintf(f, "{\"matrix\": ");
    json_str(f, m->name);
    fprintf(f, ", \"digest\": \"%016llx\", \"runs\": %zu, \"shard\": ",
            (unsigned long long)m->digest, m->runs);
    if (s && s->n)
        fprintf(f, "\"%zu/%zu\",\n", s->i + 1, s->n);
    else
        fprintf(f, "null,\n");
    fprintf(f, " \"description\": \"");
    describe_to(m, put_json_str, f);
    fprintf(f, "\",\n \"cells\": [\n");
    for (r = 0; r < m->runs; r++) {
        const struct pvt_sim_matrix_run *x = &runs[r];
        size_t lv[PVT_SIM_MATRIX_AXES];
        if (!x->done)
            continue;
        combo_levels(m, r / (m->nseeds * m->nstrategies), lv);
        fprintf(f, "%s  {\"run\": %zu, \"levels\": [", first ? "" : ",\n", r);
        first = false;
        for (a = 0; a < m->naxes; a++) {
            if (a)
                fputs(", ", f);
            json_str(f, m->axis[a].level[lv[a]].label);
        }
        fprintf(f,
                "], \"seed\": %llu, \"strategy\": \"%s\", \"timers\": %llu, "
                "\"fired\": %llu, \"cancelled\": %llu, \"pending\": %llu, "
                "\"lost\": %llu, \"early\": %llu, \"backwards\": %llu, "
                "\"clamps\": %llu, \"truncated\": %s, \"ok\": %s, "
                "\"lateness_ns\": {\"count\": %llu, \"negative\": %llu, "
                "\"min\": %lld, \"max\": %lld, \"max_abs\": %llu, "
                "\"buckets\": [",
                (unsigned long long)m->seed[(r / m->nstrategies) % m->nseeds],
                m->strategy[r % m->nstrategies]->name,
                (unsigned long long)x->timers, (unsigned long long)x->fired,
                (unsigned long long)x->cancelled,
                (unsigned long long)x->pending, (unsigned long long)x->lost,
                (unsigned long long)x->early, (unsigned long long)x->backwards,
                (unsigned long long)x->clamps, x->truncated ? "true" : "false",
                pvt_sim_matrix_run_ok(m, r, x) ? "true" : "false",
                (unsigned long long)x->lateness.count,
                (unsigned long long)x->lateness.negative,
                (long long)x->lateness.min, (long long)x->lateness.max,
                (unsigned long long)x->lateness.max_abs);
        for (k = 0; k < x->lateness.n; k++)
            fprintf(f, "%s[%u, %llu]", k ? ", " : "", x->lateness.idx[k],
                    (unsigned long long)x->lateness.cnt[k]);
        fputs("]}}", f);
        totals_add(&t, m, r, x);
    }
    fprintf(f,
            "%s ],\n \"totals\": {\"runs\": %llu, \"timers\": %llu, "
            "\"fired\": %llu, \"cancelled\": %llu, \"pending\": %llu, "
            "\"lost\": %llu, \"early\": %llu, \"backwards\": %llu, "
            "\"truncated\": %llu, \"known_lost\": %llu, \"known_early\": "
            "%llu, \"clamps\": %llu, \"failed_runs\": %llu, \"lateness_ns\": ",
            first ? "" : "\n", (unsigned long long)t.runs,
            (unsigned long long)t.timers, (unsigned long long)t.fired,
            (unsigned long long)t.cancelled, (unsigned long long)t.pending,
            (unsigned long long)t.lost, (unsigned long long)t.early,
            (unsigned long long)t.backwards, (unsigned long long)t.truncated,
            (unsigned long long)t.known_lost, (unsigned long long)t.known_early,
            (unsigned long long)t.clamps, (unsigned long long)t.failed);
    if (t.lat)
        json_hist_summary(f, t.lat);
    else
        fputs("null", f);
    fprintf(f, ", \"ok\": %s}\n}\n", t.failed ? "false" : "true");
    free(t.lat);
}

void pvt_sim_matrix_table(FILE *f, const struct pvt_sim_matrix *m,
                          const struct pvt_sim_matrix_shard *s,
                          const struct pvt_sim_matrix_run *runs)
{
    struct totals all;
    struct pvt_sim_hist *lat;
    size_t c, a, r, per = 0;

    if (f == NULL || m == NULL || runs == NULL)
        return;
    per = m->nseeds * m->nstrategies;
    memset(&all, 0, sizeof(all));
    lat = calloc(1, sizeof(*lat));
    fprintf(f,
            "fault matrix %s: %zu runs (%zu combinations x %zu seeds x "
            "%zu strategies)",
            m->name, m->runs, m->combos, m->nseeds, m->nstrategies);
    if (s && s->n)
        fprintf(f, ", shard %zu/%zu", s->i + 1, s->n);
    fprintf(f, "\n\n");
    for (a = 0; a < m->naxes; a++)
        fprintf(f, "%-18s ", m->axis[a].name);
    fprintf(f, "%9s %5s %5s %5s %9s %9s  %s\n", "timers", "early", "lost",
            "back", "late p50", "late p99", "result");
    for (c = 0; c < m->combos; c++) {
        struct totals t;
        size_t lv[PVT_SIM_MATRIX_AXES];
        char why[512] = "";
        size_t used = 0;
        memset(&t, 0, sizeof(t));
        t.lat = lat;
        memset(lat, 0, sizeof(*lat));
        for (r = c * per; r < (c + 1) * per; r++) {
            if (!runs[r].done)
                continue;
            totals_add(&t, m, r, &runs[r]);
            totals_add(&all, m, r, &runs[r]);
            if (!pvt_sim_matrix_run_ok(m, r, &runs[r]) && used < sizeof(why))
                used += (size_t)snprintf(
                    why + used, sizeof(why) - used, " %s/seed %llu%s%s%s%s",
                    m->strategy[r % m->nstrategies]->name,
                    (unsigned long long)
                        m->seed[(r / m->nstrategies) % m->nseeds],
                    runs[r].early ? " early" : "", runs[r].lost ? " lost" : "",
                    runs[r].backwards ? " backwards" : "",
                    runs[r].truncated ? " truncated" : "");
        }
        if (t.runs == 0)
            continue;
        combo_levels(m, c, lv);
        for (a = 0; a < m->naxes; a++)
            fprintf(f, "%-18s ", m->axis[a].level[lv[a]].label);
        fprintf(f, "%9llu %5llu %5llu %5llu %9llu %9llu  %s%s",
                (unsigned long long)t.timers, (unsigned long long)t.early,
                (unsigned long long)t.lost, (unsigned long long)t.backwards,
                (unsigned long long)pvt_sim_hist_quantile(lat, 0.5),
                (unsigned long long)pvt_sim_hist_quantile(lat, 0.99),
                t.failed ? "FAIL:" : "ok", why);
        if (t.known_lost || t.known_early)
            fprintf(f, " (known: %llu lost, %llu early)",
                    (unsigned long long)t.known_lost,
                    (unsigned long long)t.known_early);
        fputc('\n', f);
    }
    fprintf(f,
            "\n%s: %llu runs, %llu timers (%llu fired, %llu cancelled, %llu "
            "pending at the end): %llu early, %llu lost, %llu with the "
            "guest clock backwards, %llu truncated; %llu failed runs",
            all.failed ? "FAIL" : "PASS", (unsigned long long)all.runs,
            (unsigned long long)all.timers, (unsigned long long)all.fired,
            (unsigned long long)all.cancelled, (unsigned long long)all.pending,
            (unsigned long long)all.early, (unsigned long long)all.lost,
            (unsigned long long)all.backwards,
            (unsigned long long)all.truncated, (unsigned long long)all.failed);
    if (all.known_lost || all.known_early)
        fprintf(f, "; known failures (`known` lines): %llu lost, %llu early",
                (unsigned long long)all.known_lost,
                (unsigned long long)all.known_early);
    fprintf(f, "\n");
    free(lat);
}

/* ---- reading results back ---------------------------------------------------- */

/* The unsigned number after `"key": ` in line; false when absent or not a
 * number. */
static bool get_u64(const char *line, const char *key, uint64_t *v)
{
    char pat[48];
    const char *p;
    char *end;

    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    if (!isdigit((unsigned char)*p))
        return false;
    errno = 0;
    *v = strtoull(p, &end, 10);
    return errno == 0 && (*end == ',' || *end == '}' || *end == ']');
}

static bool get_s64(const char *line, const char *key, int64_t *v)
{
    char pat[48];
    const char *p;
    char *end;

    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    if (!isdigit((unsigned char)*p) && *p != '-')
        return false;
    errno = 0;
    *v = strtoll(p, &end, 10);
    return errno == 0 && (*end == ',' || *end == '}');
}

static bool get_bool(const char *line, const char *key, bool *v)
{
    char pat[48];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    if (strncmp(p, "true", 4) == 0) {
        *v = true;
        return true;
    }
    if (strncmp(p, "false", 5) == 0) {
        *v = false;
        return true;
    }
    return false;
}

/* One run's line; 0, or -1 with the problem in err. */
static int read_run(const struct pvt_sim_matrix *m,
                    struct pvt_sim_matrix_run *runs, const char *line,
                    size_t *rout, char *err, size_t errlen)
{
    struct pvt_sim_matrix_run x;
    uint64_t r, seed, v;
    const char *p, *strat;
    char want[64];
    bool ok;

    memset(&x, 0, sizeof(x));
    if (!get_u64(line, "run", &r) || r >= m->runs)
        return failf(err, errlen, "a run number outside the matrix");
    *rout = (size_t)r;
    snprintf(want, sizeof(want), "\"strategy\": \"%s\"",
             m->strategy[r % m->nstrategies]->name);
    strat = strstr(line, want);
    if (!get_u64(line, "seed", &seed) ||
        seed != m->seed[(r / m->nstrategies) % m->nseeds] || !strat)
        return failf(err, errlen,
                     "run %llu: its seed or strategy is not the "
                     "matrix's",
                     (unsigned long long)r);
    if (!get_u64(line, "timers", &x.timers) ||
        !get_u64(line, "fired", &x.fired) ||
        !get_u64(line, "cancelled", &x.cancelled) ||
        !get_u64(line, "pending", &x.pending) ||
        !get_u64(line, "lost", &x.lost) || !get_u64(line, "early", &x.early) ||
        !get_u64(line, "backwards", &x.backwards) ||
        !get_u64(line, "clamps", &x.clamps) ||
        !get_bool(line, "truncated", &x.truncated) ||
        !get_bool(line, "ok", &ok) ||
        !get_u64(line, "count", &x.lateness.count) ||
        !get_u64(line, "negative", &x.lateness.negative) ||
        !get_s64(line, "min", &x.lateness.min) ||
        !get_s64(line, "max", &x.lateness.max) ||
        !get_u64(line, "max_abs", &x.lateness.max_abs))
        return failf(err, errlen, "run %llu: a member missing or malformed",
                     (unsigned long long)r);
    p = strstr(line, "\"buckets\": [");
    if (!p)
        return failf(err, errlen, "run %llu: no buckets",
                     (unsigned long long)r);
    p += strlen("\"buckets\": [");
    {
        size_t cap = 0;
        uint64_t sum = 0;
        long last = -1;
        while (*p == '[') {
            unsigned long b;
            char *end;
            p++;
            errno = 0;
            b = strtoul(p, &end, 10);
            if (end == p || errno || b >= PVT_SIM_HIST_BUCKETS ||
                (long)b <= last || strncmp(end, ", ", 2) != 0)
                goto bad;
            p = end + 2;
            if (!isdigit((unsigned char)*p))
                goto bad;
            v = strtoull(p, &end, 10);
            if (errno || *end != ']' || v == 0)
                goto bad;
            p = end + 1;
            if (x.lateness.n == cap) {
                uint32_t *ni;
                uint64_t *nc;
                cap = cap ? 2 * cap : 16;
                ni = realloc(x.lateness.idx, cap * sizeof(*ni));
                if (ni)
                    x.lateness.idx = ni;
                nc = realloc(x.lateness.cnt, cap * sizeof(*nc));
                if (nc)
                    x.lateness.cnt = nc;
                if (!ni || !nc) {
                    free(x.lateness.idx);
                    free(x.lateness.cnt);
                    return failf(err, errlen, "out of memory");
                }
            }
            x.lateness.idx[x.lateness.n] = (uint32_t)b;
            x.lateness.cnt[x.lateness.n++] = v;
            sum += v;
            last = (long)b;
            if (strncmp(p, ", ", 2) == 0)
                p += 2;
        }
        if (*p != ']' || sum != x.lateness.count)
            goto bad;
    }
    x.done = true;
    if (ok != pvt_sim_matrix_run_ok(m, (size_t)r, &x))
        goto bad;
    if (runs[r].done) {
        free(x.lateness.idx);
        free(x.lateness.cnt);
        return 1; /* the caller names the overlap */
    }
    runs[r] = x;
    return 0;
bad:
    free(x.lateness.idx);
    free(x.lateness.cnt);
    return failf(err, errlen,
                 "run %llu: its lateness histogram or verdict "
                 "is malformed",
                 (unsigned long long)r);
}

/* Unescapes the JSON string starting after the opening quote at s into a
 * malloc'd buffer; NULL on a malformed string. */
static char *json_unescape(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *out = malloc(n + 1);

    if (!out)
        return NULL;
    for (; *s && *s != '"'; s++) {
        if (*s == '\\') {
            s++;
            if (*s == 'n')
                out[k++] = '\n';
            else if (*s == '"' || *s == '\\')
                out[k++] = *s;
            else {
                free(out);
                return NULL;
            }
        } else {
            out[k++] = *s;
        }
    }
    if (*s != '"') {
        free(out);
        return NULL;
    }
    out[k] = '\0';
    return out;
}

/* A line of f, whatever its length, in *buf (grown); false at the end,
 * and for a last line without its newline (a file cut short). */
static bool read_line(FILE *f, char **buf, size_t *cap)
{
    size_t n = 0;
    int c;

    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t nc = *cap ? 2 * *cap : 4096;
            char *nb;
            if (nc > (64u << 20))
                return false; /* no line of ours is that long */
            nb = realloc(*buf, nc);
            if (!nb)
                return false;
            *buf = nb;
            *cap = nc;
        }
        if (c == '\n')
            break;
        (*buf)[n++] = (char)c;
    }
    if (c == EOF)
        return false;
    (*buf)[n] = '\0';
    return true;
}

int pvt_sim_matrix_read_json(const char *path, struct pvt_sim_matrix *m,
                             struct pvt_sim_matrix_run **runs, bool first,
                             char *err, size_t errlen)
{
    FILE *f;
    char *line = NULL, *desc = NULL, name[PVT_SIM_MATRIX_NAME + 8];
    size_t cap = 0, lineno = 0, overlap = 0, nread = 0, first_overlap = 0;
    unsigned long long digest;
    struct pvt_sim_matrix *fm = NULL;
    int rc = -1;
    char msg[512];
    const char *p;

    if (path == NULL || m == NULL || runs == NULL)
        return failf(err, errlen, "nothing to read");
    f = fopen(path, "r");
    if (!f)
        return failf(err, errlen, "%s: %s", path, strerror(errno));
    /* line 1: {"matrix": NAME, "digest": "HEX", "runs": N, "shard": ... */
    if (!read_line(f, &line, &cap) || strncmp(line, "{\"matrix\": \"", 12) ||
        sscanf(line, "{\"matrix\": \"%31[^\"]\", \"digest\": \"%16llx\"", name,
               &digest) != 2) {
        failf(err, errlen,
              "%s: not the JSON of `pvtimer sim --matrix --json` (its first "
              "line)",
              path);
        goto out;
    }
    lineno = 1;
    if (!read_line(f, &line, &cap) ||
        strncmp(line, " \"description\": \"", 17) ||
        !(desc = json_unescape(line + 17))) {
        failf(err, errlen, "%s:2: no matrix description", path);
        goto out;
    }
    lineno = 2;
    fm = malloc(sizeof(*fm));
    if (!fm) {
        failf(err, errlen, "out of memory");
        goto out;
    }
    if (pvt_sim_matrix_parse(fm, desc, "its description", msg, sizeof(msg))) {
        failf(err, errlen, "%s: %s", path, msg);
        goto out;
    }
    if (fm->digest != digest || strcmp(fm->name, name) != 0) {
        failf(err, errlen,
              "%s: the description does not match its digest (edited?)", path);
        goto out;
    }
    if (first) {
        *m = *fm;
        *runs = calloc(m->runs ? m->runs : 1, sizeof(**runs));
        if (!*runs) {
            failf(err, errlen, "out of memory");
            goto out;
        }
    } else if (fm->digest != m->digest) {
        failf(err, errlen,
              "%s: another matrix (%s, digest %016llx; the first file's: %s, "
              "%016llx)",
              path, fm->name, (unsigned long long)fm->digest, m->name,
              (unsigned long long)m->digest);
        goto out;
    }
    if (!read_line(f, &line, &cap) || strcmp(line, " \"cells\": [") != 0) {
        failf(err, errlen, "%s:3: expected the cells", path);
        goto out;
    }
    lineno = 3;
    for (;;) {
        size_t r;
        int got;
        if (!read_line(f, &line, &cap)) {
            failf(err, errlen, "%s: ends inside the cells (truncated?)", path);
            goto out;
        }
        lineno++;
        if (strncmp(line, " ],", 3) == 0)
            break;
        p = line;
        if (strncmp(p, "  {\"run\": ", 10) != 0) {
            failf(err, errlen, "%s:%zu: not a run", path, lineno);
            goto out;
        }
        got = read_run(m, *runs, p, &r, msg, sizeof(msg));
        if (got < 0) {
            failf(err, errlen, "%s:%zu: %s", path, lineno, msg);
            goto out;
        }
        if (got > 0 && overlap++ == 0)
            first_overlap = r;
        nread++;
    }
    if (!read_line(f, &line, &cap) || strncmp(line, " \"totals\": ", 11)) {
        failf(err, errlen, "%s:%zu: expected the totals (truncated?)", path,
              lineno + 1);
        goto out;
    }
    if (overlap) {
        failf(err, errlen,
              "%s: %zu of its %zu runs were in an earlier file too (run %zu "
              "first): overlapping shards, or a file given twice",
              path, overlap, nread, first_overlap);
        goto out;
    }
    rc = 0;
out:
    free(fm);
    free(desc);
    free(line);
    fclose(f);
    return rc;
}
