/*
 * Tests of the host runner (tests/runner/runner-host.c): that it reports
 * what really happened. Each test runs this very binary again as
 * `pvtimer-tests --fixtures ...` on the fixtures below, tests that fail,
 * crash, hang and skip on purpose, and checks the exact lines it prints and
 * its exit status. The expected text is written from the fixtures'
 * definitions, which is why they live in this file.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner/list.h"
#include "runner/test.h"
#include "spawn.h"

/* ---- the fixtures ---- */

static int fixture_pass(void)
{
    pvt_test_printf("fixture_pass: pvt_test_printf\n");
    printf("fixture_pass: stdio\n");
    fprintf(stderr, "fixture_pass: stderr\n");
    RETURN_OK();
}

static int fixture_fail_int(void)
{
    int64_t five = 5;
    int64_t six = 6;

    ASSERT_EQ(five, six);
    RETURN_OK();
}

static int fixture_fail_uint(void)
{
    uint64_t highest = UINT64_MAX;

    ASSERT_ULT(highest, 1);
    RETURN_OK();
}

static int fixture_fail_min(void)
{
    int64_t lowest = INT64_MIN;

    ASSERT_GT(lowest, INT64_MAX);
    RETURN_OK();
}

static int fixture_fail_err(void)
{
    int ret = -PVT_ERANGE;

    ASSERT_ERR(ret, PVT_EINVAL);
    RETURN_OK();
}

static int fixture_fail_near(void)
{
    int64_t highest = INT64_MAX;
    int64_t lowest = INT64_MIN;

    /* the distance, 2^64 - 1, overflows int64_t */
    ASSERT_NEAR(highest, lowest, 1);
    RETURN_OK();
}

static int fixture_fail_ptr(void)
{
    const void *p = (const void *)(uintptr_t)0x1000;

    ASSERT_NULL(p);
    RETURN_OK();
}

static int fixture_fail_str(void)
{
    const char *greeting = "say \"hi\"\n\t\x01";
    const char *nothing = NULL;

    ASSERT_STR_EQ(greeting, nothing);
    RETURN_OK();
}

static int fixture_fail_expr(void)
{
    int ready = 1;

    ASSERT_FALSE(ready);
    RETURN_OK();
}

static int fixture_fail_return(void)
{
    return 3;
}

static int fixture_crash(void)
{
    pvt_test_printf("fixture_crash: about to crash\n");
    /* the sanitizers' SIGSEGV handler would turn this into exit status 1 */
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return PVT_TEST_FAIL;
}

static int fixture_hang(void)
{
    pvt_test_printf("fixture_hang: waiting forever\n");
    for (;;)
        pause();
    return PVT_TEST_FAIL; /* not reached */
}

#define HANG_SHORT_TIMEOUT_MS 150u

static int fixture_skip(void)
{
    RETURN_SKIP("no frobnicator here");
}

/* Far more output than the runner keeps, then a failure at the end. */
#define CHATTY_LINES    16384
#define CHATTY_FORMAT   "chatty %06d %049d\n"
#define CHATTY_LINE_LEN 64 /* 7 + 6 + 1 + 49 + the newline */

static int fixture_chatty(void)
{
    int finished = 1;
    int i;

    for (i = 0; i < CHATTY_LINES; i++)
        pvt_test_printf(CHATTY_FORMAT, i, i);
    ASSERT_EQ(finished, 0);
    RETURN_OK();
}

/* Leaves a helper behind that holds the output pipe open forever. */
static int fixture_orphan(void)
{
    pid_t helper = fork();

    if (helper < 0)
        return PVT_TEST_FAIL;
    if (helper == 0) {
        for (;;)
            pause();
    }
    pvt_test_printf("helper %d\n", (int)helper);
    RETURN_OK();
}

/* Contract in runner/list.h: the table `--fixtures` runs. */
const struct pvt_test_entry pvt_runner_fixtures[] = {
    {"fixture_pass", fixture_pass, PVT_TEST_HOST, 0},
    {"fixture_fail_int", fixture_fail_int, PVT_TEST_HOST, 0},
    {"fixture_fail_uint", fixture_fail_uint, PVT_TEST_HOST, 0},
    {"fixture_fail_min", fixture_fail_min, PVT_TEST_HOST, 0},
    {"fixture_fail_err", fixture_fail_err, PVT_TEST_HOST, 0},
    {"fixture_fail_near", fixture_fail_near, PVT_TEST_HOST, 0},
    {"fixture_fail_ptr", fixture_fail_ptr, PVT_TEST_HOST, 0},
    {"fixture_fail_str", fixture_fail_str, PVT_TEST_HOST, 0},
    {"fixture_fail_expr", fixture_fail_expr, PVT_TEST_HOST, 0},
    {"fixture_fail_return", fixture_fail_return, PVT_TEST_HOST, 0},
    {"fixture_crash", fixture_crash, PVT_TEST_HOST, 0},
    {"fixture_hang", fixture_hang, PVT_TEST_HOST, 0},
    {"fixture_hang_short", fixture_hang, PVT_TEST_HOST, HANG_SHORT_TIMEOUT_MS},
    {"fixture_skip", fixture_skip, PVT_TEST_HOST, 0},
    {"fixture_chatty", fixture_chatty, PVT_TEST_HOST, 0},
    {"fixture_orphan", fixture_orphan, PVT_TEST_HOST, 0},
    {NULL, NULL, 0, 0}};

/* Contract in runner/list.h. */
const size_t pvt_runner_fixtures_count =
    PVT_ARRAY_SIZE(pvt_runner_fixtures) - 1;

/*
 * What each fixture_fail_* prints after its TAP line, from the definitions
 * above: the assert's expression, then its two sides (NULL: no sides, and
 * for fixture_fail_return no assert at all).
 */
struct fail_expect {
    const char *name;
    const char *note;
    const char *expr;
    const char *side_a;
    const char *side_b;
};

static const struct fail_expect fail_expects[] = {
    {"fixture_fail_int", "exit status 1", "five == six", "  five: 5 (0x5)",
     "  six: 6 (0x6)"},
    {"fixture_fail_uint", "exit status 1", "highest < 1",
     "  highest: 18446744073709551615 (0xffffffffffffffff)", "  1: 1 (0x1)"},
    {"fixture_fail_min", "exit status 1", "lowest > INT64_MAX",
     "  lowest: -9223372036854775808 (0x8000000000000000)",
     "  INT64_MAX: 9223372036854775807 (0x7fffffffffffffff)"},
    {"fixture_fail_err", "exit status 1", "ret == -PVT_EINVAL",
     "  ret: -34 (0xffffffffffffffde)",
     "  -PVT_EINVAL: -22 (0xffffffffffffffea)"},
    {"fixture_fail_near", "exit status 1", "highest ~= (tol 1) lowest",
     "  highest: 9223372036854775807 (0x7fffffffffffffff)",
     "  lowest: -9223372036854775808 (0x8000000000000000)"},
    {"fixture_fail_ptr", "exit status 1", "p == NULL", "  p: 0x1000",
     "  NULL: 0x0"},
    {"fixture_fail_str", "exit status 1", "greeting == nothing",
     "  greeting: \"say \\\"hi\\\"\\n\\t\\x01\"", "  nothing: (null)"},
    {"fixture_fail_expr", "exit status 1", "!(ready)", NULL, NULL},
    {"fixture_fail_return", "exit status 3", NULL, NULL, NULL},
};

/* ---- running the runner ---- */

struct run {
    int status; /* exit status, or 128 + the signal that killed it */
    char *out;  /* stdout, NUL-terminated; the lines point into it */
    size_t out_len;
    char *err; /* stderr, NUL-terminated */
    size_t err_len;
    char **lines; /* stdout's lines, without their newlines */
    size_t nlines;
    int64_t elapsed_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void split_lines(struct run *r)
{
    size_t cap = 16;
    char *p = r->out;

    r->lines = malloc(cap * sizeof(*r->lines));
    ASSERT_NOT_NULL(r->lines);
    while (*p) {
        char *nl = strchr(p, '\n');
        if (r->nlines == cap) {
            char **grown = realloc(r->lines, 2 * cap * sizeof(*r->lines));
            ASSERT_NOT_NULL(grown);
            r->lines = grown;
            cap *= 2;
        }
        r->lines[r->nlines++] = p;
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

/*
 * Runs this binary with args (NULL-terminated) and, when env is not NULL,
 * the NAME, value pairs in env (NULL-terminated) added to its environment,
 * and collects what it prints. The timeout knobs are removed from the
 * environment first so the outer run's settings cannot change the output.
 */
static void run_self(struct run *r, const char *const *env,
                     const char *const *args)
{
    static const char *const unset[] = {"PVT_TEST_TIMEOUT_SCALE",
                                        "PVT_TEST_NOFORK", NULL};
    const char *argv[64];
    char self[PATH_MAX];
    struct pvt_spawn_result res;
    ssize_t self_len;
    size_t n = 0;

    memset(r, 0, sizeof(*r));
    /* valgrind answers this with the client's path, not its own */
    self_len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    ASSERT_GT(self_len, 0);
    self[self_len] = '\0';
    argv[n++] = "pvtimer-tests";
    while (args[n - 1]) {
        ASSERT_ULT(n, PVT_ARRAY_SIZE(argv) - 1);
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    /* 127: the exec failed, not the runner */
    ASSERT_OK(pvt_spawn(self, argv, env, unset, &res));
    r->status = res.status;
    r->out = res.out;
    r->out_len = res.out_len;
    r->err = res.err;
    r->err_len = res.err_len;
    r->elapsed_ms = res.elapsed_ms;
    split_lines(r);
}

#define RUN(r, env, ...)                                                       \
    run_self(r, env, (const char *const[]){__VA_ARGS__, NULL})
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    free(r->lines);
}

/* Line i of stdout, or NULL. */
static const char *line(const struct run *r, size_t i)
{
    return i < r->nlines ? r->lines[i] : NULL;
}

static const char *last_line(const struct run *r)
{
    return r->nlines ? r->lines[r->nlines - 1] : NULL;
}

/* Index of the first stdout line equal to text at or after `from`, or -1. */
static long find_line(const struct run *r, size_t from, const char *text)
{
    size_t i;

    for (i = from; i < r->nlines; i++) {
        if (strcmp(r->lines[i], text) == 0)
            return (long)i;
    }
    return -1;
}

/*
 * Whether s is the runner's rendering of an assert of this file:
 * "# Assertion failed in <this file>:<line>: <expr>".
 */
static int is_assert_line(const char *s, const char *expr)
{
    static const char prefix[] = "# Assertion failed in " __FILE__ ":";
    const char *p;

    if (s == NULL || strncmp(s, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    p = s + sizeof(prefix) - 1;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return strncmp(p, ": ", 2) == 0 && strcmp(p + 2, expr) == 0;
}

/* The timeout_ms of the fixture's table entry. */
static unsigned int fixture_timeout(const char *name)
{
    size_t i;

    for (i = 0; i < pvt_runner_fixtures_count; i++) {
        if (strcmp(pvt_runner_fixtures[i].name, name) == 0)
            return pvt_runner_fixtures[i].timeout_ms;
    }
    ASSERT_STR_EQ(name, "a fixture's name");
    return 0;
}

/* ---- the tests ---- */

/* A pass: plan, ok line, closing line, nothing else; output on --verbose. */
TEST_IMPL(runner_reports_pass)
{
    struct run r;
    long i;

    RUN(&r, NULL, "--fixtures", "--exact", "fixture_pass");
    ASSERT_EQ(r.status, 0);
    ASSERT_UEQ(r.nlines, 3);
    ASSERT_STR_EQ(line(&r, 0), "1..1");
    ASSERT_STR_EQ(line(&r, 1), "ok 1 - fixture_pass");
    ASSERT_STR_EQ(line(&r, 2), "1 passed, 0 failed, 0 skipped");
    run_free(&r);

    RUN(&r, NULL, "--fixtures", "--verbose", "--exact", "fixture_pass");
    ASSERT_EQ(r.status, 0);
    i = find_line(&r, 0, "ok 1 - fixture_pass");
    ASSERT_EQ(i, 1);
    /* all three channels, in the order the test wrote them */
    ASSERT_STR_EQ(line(&r, 2), "# fixture_pass: pvt_test_printf");
    ASSERT_STR_EQ(line(&r, 3), "# fixture_pass: stdio");
    ASSERT_STR_EQ(line(&r, 4), "# fixture_pass: stderr");
    ASSERT_STR_EQ(last_line(&r), "1 passed, 0 failed, 0 skipped");
    run_free(&r);
    RETURN_OK();
}

/* Failed asserts: TAP line with the exit status, then the assert's
 * location and expression and both sides, as "# " lines. */
TEST_IMPL(runner_reports_failure)
{
    char want[256];
    struct run r;
    size_t k;

    RUN(&r, NULL, "--fixtures", "fixture_fail_");
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(line(&r, 0), "1..9");
    for (k = 0; k < PVT_ARRAY_SIZE(fail_expects); k++) {
        const struct fail_expect *e = &fail_expects[k];
        long i;

        snprintf(want, sizeof(want), "not ok %zu - %s # %s", k + 1, e->name,
                 e->note);
        i = find_line(&r, 0, want);
        ASSERT_GE(i, 1);
        if (e->expr == NULL) {
            /* no output: the next line is not a "# " line */
            const char *next = line(&r, (size_t)i + 1);
            ASSERT_NOT_NULL(next);
            ASSERT_NE(next[0], '#');
            continue;
        }
        ASSERT_TRUE(is_assert_line(line(&r, (size_t)i + 1), e->expr));
        if (e->side_a == NULL)
            continue;
        snprintf(want, sizeof(want), "# %s", e->side_a);
        ASSERT_STR_EQ(line(&r, (size_t)i + 2), want);
        snprintf(want, sizeof(want), "# %s", e->side_b);
        ASSERT_STR_EQ(line(&r, (size_t)i + 3), want);
    }
    ASSERT_STR_EQ(last_line(&r), "0 passed, 9 failed, 0 skipped");
    run_free(&r);
    RETURN_OK();
}

/* A test killed by a signal: its number and name, and its output. */
TEST_IMPL(runner_reports_crash)
{
    char want[128];
    struct run r;
    long i;

    RUN(&r, NULL, "--fixtures", "--exact", "fixture_crash");
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(line(&r, 0), "1..1");
    snprintf(want, sizeof(want), "not ok 1 - fixture_crash # signal %d (%s)",
             SIGSEGV, strsignal(SIGSEGV));
    ASSERT_STR_EQ(line(&r, 1), want);
    i = find_line(&r, 2, "# fixture_crash: about to crash");
    ASSERT_EQ(i, 2);
    ASSERT_STR_EQ(last_line(&r), "0 passed, 1 failed, 0 skipped");
    run_free(&r);
    RETURN_OK();
}

/* The timeout: --timeout, then the entry's own (which wins), then scaled
 * by PVT_TEST_TIMEOUT_SCALE; the output so far is still printed. */
TEST_IMPL(runner_reports_timeout)
{
    char want[128];
    struct run r;

    RUN(&r, NULL, "--fixtures", "--timeout", "300", "--exact", "fixture_hang");
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(line(&r, 1),
                  "not ok 1 - fixture_hang # timeout after 300 ms");
    ASSERT_STR_EQ(line(&r, 2), "# fixture_hang: waiting forever");
    ASSERT_STR_EQ(last_line(&r), "0 passed, 1 failed, 0 skipped");
    ASSERT_GE(r.elapsed_ms, 300);
    run_free(&r);

    RUN(&r, NULL, "--fixtures", "--timeout=60000", "--exact",
        "fixture_hang_short");
    ASSERT_EQ(r.status, 1);
    snprintf(want, sizeof(want),
             "not ok 1 - fixture_hang_short # timeout after %u ms",
             fixture_timeout("fixture_hang_short"));
    ASSERT_STR_EQ(line(&r, 1), want);
    ASSERT_LT(r.elapsed_ms, 60000);
    run_free(&r);

    RUN(&r, ENV("PVT_TEST_TIMEOUT_SCALE", "2"), "--fixtures", "--timeout",
        "150", "--exact", "fixture_hang");
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(line(&r, 1),
                  "not ok 1 - fixture_hang # timeout after 300 ms");
    run_free(&r);
    RETURN_OK();
}

/* A skip: ok with the SKIP directive and reason; exit 77 when everything
 * selected skipped, 0 when something passed too. */
TEST_IMPL(runner_reports_skip)
{
    struct run r;

    RUN(&r, NULL, "--fixtures", "--exact", "fixture_skip");
    ASSERT_EQ(r.status, 77);
    ASSERT_UEQ(r.nlines, 3);
    ASSERT_STR_EQ(line(&r, 0), "1..1");
    ASSERT_STR_EQ(line(&r, 1),
                  "ok 1 - fixture_skip # SKIP no frobnicator here");
    ASSERT_STR_EQ(line(&r, 2), "0 passed, 0 failed, 1 skipped");
    run_free(&r);

    /* table order, whatever the order of the patterns */
    RUN(&r, NULL, "--fixtures", "--exact", "fixture_skip", "fixture_pass");
    ASSERT_EQ(r.status, 0);
    ASSERT_UEQ(r.nlines, 4);
    ASSERT_STR_EQ(line(&r, 0), "1..2");
    ASSERT_STR_EQ(line(&r, 1), "ok 1 - fixture_pass");
    ASSERT_STR_EQ(line(&r, 2),
                  "ok 2 - fixture_skip # SKIP no frobnicator here");
    ASSERT_STR_EQ(line(&r, 3), "1 passed, 0 failed, 1 skipped");
    run_free(&r);
    RETURN_OK();
}

/* A test that prints megabytes neither deadlocks the runner nor floods
 * its output: the start and the end (with the assert) are kept. */
TEST_IMPL(runner_caps_output)
{
    char want[128];
    struct run r;
    long i;
    unsigned long long dropped = 0;
    size_t k;

    RUN(&r, NULL, "--fixtures", "--exact", "fixture_chatty");
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(line(&r, 1), "not ok 1 - fixture_chatty # exit status 1");
    want[0] = '#';
    want[1] = ' ';
    ASSERT_UEQ(snprintf(want + 2, sizeof(want) - 2, CHATTY_FORMAT, 0, 0),
               CHATTY_LINE_LEN);
    want[2 + CHATTY_LINE_LEN - 1] = '\0'; /* the runner split off the \n */
    ASSERT_STR_EQ(line(&r, 2), want);
    ASSERT_ULT(r.out_len, 128 * 1024);
    for (k = 0; k < r.nlines; k++) {
        if (sscanf(r.lines[k], "# [... %llu bytes of output dropped ...]",
                   &dropped) == 1)
            break;
    }
    ASSERT_ULT(k, r.nlines);
    ASSERT_UGT(dropped,
               (unsigned long long)CHATTY_LINES * CHATTY_LINE_LEN - r.out_len);
    i = find_line(&r, k, "#   finished: 1 (0x1)");
    ASSERT_GT(i, (long)k);
    ASSERT_TRUE(is_assert_line(line(&r, (size_t)i - 1), "finished == 0"));
    ASSERT_STR_EQ(last_line(&r), "0 passed, 1 failed, 0 skipped");
    run_free(&r);
    RETURN_OK();
}

/* True once pid is gone or a zombie (its parent need not be reaping). */
static int process_gone(int pid)
{
    char path[64];
    char buf[256];
    FILE *f;
    char *paren;
    int gone;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 1;
    gone = fgets(buf, sizeof(buf), f) == NULL;
    fclose(f);
    if (gone)
        return 1;
    /* "pid (comm) S ...": the state follows the last ')' */
    paren = strrchr(buf, ')');
    return paren != NULL &&
           (paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X');
}

/* Helpers a test leaves behind are killed with its process group, and do
 * not keep the runner waiting on the pipe they hold. */
TEST_IMPL(runner_kills_process_group)
{
    struct run r;
    int helper = 0;
    int64_t deadline;
    size_t k;

    RUN(&r, NULL, "--fixtures", "--verbose", "--timeout", "20000", "--exact",
        "fixture_orphan");
    ASSERT_EQ(r.status, 0);
    ASSERT_STR_EQ(line(&r, 1), "ok 1 - fixture_orphan");
    for (k = 0; k < r.nlines; k++) {
        if (sscanf(r.lines[k], "# helper %d", &helper) == 1)
            break;
        /* the runner gave up on the pipe instead of killing the holder */
        ASSERT_NULL(strstr(r.lines[k], "[runner: stopped reading"));
    }
    ASSERT_GT(helper, 0);
    deadline = now_ms() + 5000;
    while (!process_gone(helper) && now_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ASSERT_TRUE(process_gone(helper));
    run_free(&r);
    RETURN_OK();
}

/* --list prints names in table order; patterns are substrings, or whole
 * names with --exact; several patterns add up. */
TEST_IMPL(runner_list_and_filter)
{
    struct run r;
    size_t i;

    RUN(&r, NULL, "--fixtures", "--list");
    ASSERT_EQ(r.status, 0);
    ASSERT_UEQ(r.nlines, pvt_runner_fixtures_count);
    for (i = 0; i < pvt_runner_fixtures_count; i++)
        ASSERT_STR_EQ(line(&r, i), pvt_runner_fixtures[i].name);
    run_free(&r);

    RUN(&r, NULL, "--fixtures", "--list", "crash", "fail_int");
    ASSERT_EQ(r.status, 0);
    ASSERT_UEQ(r.nlines, 2);
    ASSERT_STR_EQ(line(&r, 0), "fixture_fail_int");
    ASSERT_STR_EQ(line(&r, 1), "fixture_crash");
    run_free(&r);

    RUN(&r, NULL, "--fixtures", "--list", "hang");
    ASSERT_UEQ(r.nlines, 2);
    ASSERT_STR_EQ(line(&r, 0), "fixture_hang");
    ASSERT_STR_EQ(line(&r, 1), "fixture_hang_short");
    run_free(&r);

    RUN(&r, NULL, "--fixtures", "--list", "--exact", "--", "fixture_hang");
    ASSERT_UEQ(r.nlines, 1);
    ASSERT_STR_EQ(line(&r, 0), "fixture_hang");
    run_free(&r);

    /* the real table: every test once, no fixture in it */
    RUN(&r, NULL, "--list");
    ASSERT_EQ(r.status, 0);
    ASSERT_UEQ(r.nlines, pvt_tests_count);
    for (i = 0; i < pvt_tests_count; i++)
        ASSERT_STR_EQ(line(&r, i), pvt_tests[i].name);
    ASSERT_GE(find_line(&r, 0, "runner_list_and_filter"), 0);
    run_free(&r);
    RETURN_OK();
}

/* Usage errors and patterns that match nothing: exit 2, a message on
 * stderr, nothing run. */
TEST_IMPL(runner_bad_args)
{
    static const struct {
        const char *args[4];
        const char *message;
    } cases[] = {
        {{"--bogus"}, "unknown option '--bogus'"},
        {{"--timeout"}, "--timeout needs a value"},
        {{"--timeout", "abc"}, "invalid timeout 'abc'"},
        {{"--timeout", "0"}, "invalid timeout '0'"},
        {{"--timeout=-5"}, "invalid timeout '-5'"},
        {{"--fixtures", "no_such_fixture"},
         "no test matches 'no_such_fixture'"},
        {{"--fixtures", "--exact", "fixture_fail"},
         "no test is named 'fixture_fail'"},
        {{"--fixtures", "fixture_pass", "typo"}, "no test matches 'typo'"},
    };
    struct run r;
    size_t k;

    for (k = 0; k < PVT_ARRAY_SIZE(cases); k++) {
        const char *const *a = cases[k].args;
        run_self(&r, NULL, a);
        ASSERT_EQ(r.status, 2);
        ASSERT_UEQ(r.out_len, 0);
        ASSERT_NOT_NULL(strstr(r.err, cases[k].message));
        run_free(&r);
    }

    RUN(&r, ENV("PVT_TEST_TIMEOUT_SCALE", "zero"), "--fixtures",
        "fixture_pass");
    ASSERT_EQ(r.status, 2);
    ASSERT_NOT_NULL(strstr(r.err, "invalid PVT_TEST_TIMEOUT_SCALE 'zero'"));
    run_free(&r);

    RUN(&r, NULL, "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(strncmp(line(&r, 0), "usage: ", 7), 0);
    run_free(&r);
    RETURN_OK();
}

/* PVT_TEST_NOFORK=1: same verdicts from inside the runner's process. */
TEST_IMPL(runner_nofork)
{
    struct run r;
    long i;
    long k;

    RUN(&r, ENV("PVT_TEST_NOFORK", "1"), "--fixtures", "--exact",
        "fixture_pass", "fixture_fail_int", "fixture_skip");
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(line(&r, 0), "1..3");
    ASSERT_GE(find_line(&r, 0, "ok 1 - fixture_pass"), 1);
    i = find_line(&r, 0, "not ok 2 - fixture_fail_int # exit status 1");
    ASSERT_GE(i, 1);
    /* uncaptured: the assert's report comes first, as the test printed it */
    for (k = 0; k < i; k++) {
        if (strstr(r.lines[k], "Assertion failed in ") == r.lines[k])
            break;
    }
    ASSERT_LT(k, i);
    ASSERT_STR_EQ(line(&r, (size_t)k + 1), "  five: 5 (0x5)");
    ASSERT_GE(find_line(&r, (size_t)i,
                        "ok 3 - fixture_skip # SKIP no frobnicator here"),
              i);
    ASSERT_STR_EQ(last_line(&r), "1 passed, 1 failed, 1 skipped");
    run_free(&r);
    RETURN_OK();
}
