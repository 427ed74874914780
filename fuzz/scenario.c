/*
 * The scenario parser (src/sim/params.h): scenario files as text
 * (pvt_sim_params_load_text, what pvt_sim_params_load_file parses once it
 * has read the file) and --set assignments, on any bytes.
 *
 * Checked: a refusal has a message, and every byte of it is printable
 * ASCII (input is escaped, never echoed raw); text with a NUL byte is
 * refused; an accepted file or assignment leaves every parameter inside
 * its range, whole where it must be; what is accepted reads back: the
 * parameters written out as a scenario file ("key = %.17g") load to the
 * same values; pvt_sim_params_apply's check either passes or says why.
 */
#include "fuzz.h"
#include "sim/params.h"

static void check_message(const char *err)
{
    const char *c;

    FUZZ_CHECK(err[0] != '\0', "refused without a message");
    for (c = err; *c; c++)
        FUZZ_CHECK(*c >= 0x20 && *c < 0x7f,
                   "a raw byte 0x%02x in the message: %s", (unsigned char)*c,
                   err);
}

static void check_ranges(const struct pvt_sim_params *p)
{
    size_t n, i;
    const struct pvt_sim_param_def *d = pvt_sim_param_defs(&n);

    for (i = 0; i < n; i++) {
        double v = pvt_sim_param_get(p, &d[i]);
        FUZZ_CHECK(v >= d[i].min && v <= d[i].max, "%s = %g outside [%g, %g]",
                   d[i].name, v, d[i].min, d[i].max);
        FUZZ_CHECK(!d[i].integer || v == (double)(long long)v,
                   "%s = %g not whole", d[i].name, v);
    }
}

/* The parameters as a scenario file, loaded back: the same values. */
static void check_reads_back(const struct pvt_sim_params *p)
{
    static char text[8192];
    struct pvt_sim_params q;
    char err[512];
    size_t n, i, len = 0;
    const struct pvt_sim_param_def *d = pvt_sim_param_defs(&n);

    for (i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s = %.17g\n",
                                d[i].name, pvt_sim_param_get(p, &d[i]));
    FUZZ_CHECK(len < sizeof(text), "text buffer");
    FUZZ_CHECK(
        pvt_sim_params_load_text(&q, "back", text, len, err, sizeof(err)) == 0,
        "written back, refused: %s", err);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(pvt_sim_param_get(p, &d[i]) == pvt_sim_param_get(&q, &d[i]),
                   "%s: %.17g read back as %.17g", d[i].name,
                   pvt_sim_param_get(p, &d[i]), pvt_sim_param_get(&q, &d[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pvt_sim_params p;
    char err[512], line[1024];
    size_t at = 0;
    int rc;

    /* the whole input as a scenario file */
    err[0] = '\0';
    rc = pvt_sim_params_load_text(&p, "fuzz.scn", (const char *)data, size, err,
                                  sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -1, "load_text: %d", rc);
    if (rc < 0) {
        check_message(err);
    } else {
        FUZZ_CHECK(memchr(data, 0, size) == NULL, "a NUL byte accepted");
        check_ranges(&p);
        check_reads_back(&p);
        err[0] = '\0';
        if (pvt_sim_params_check(&p, err, sizeof(err)) < 0)
            check_message(err);
    }

    /* each line as a --set, on the defaults */
    pvt_sim_params_default(&p);
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t l = nl ? (size_t)(nl - (data + at)) : size - at;
        const char *one[1] = {line};

        if (l >= sizeof(line))
            l = sizeof(line) - 1;
        memcpy(line, data + at, l);
        line[l] = '\0'; /* a NUL inside ends it, as argv would */
        at += l + 1;
        err[0] = '\0';
        if (pvt_sim_params_set(&p, line, err, sizeof(err)) < 0)
            check_message(err);
        check_ranges(&p);
        err[0] = '\0';
        if (pvt_sim_params_apply(&p, one, 1, err, sizeof(err)) < 0)
            check_message(err);
    }
    return 0;
}
