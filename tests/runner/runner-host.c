/*
 * pvtimer-tests: the host test runner (Linux).
 *
 *   pvtimer-tests [--list] [--exact] [--timeout MS] [--verbose] [PATTERN...]
 *
 * Runs the tests of tests/test-list.h whose name contains a PATTERN (equals
 * one, with --exact; every test when none is given), each in its own forked
 * process and process group, with its stdout and stderr captured through a
 * pipe and a timeout after which the whole group is killed. Prints a TAP
 * plan and one TAP line per test, the captured output of the tests that
 * failed (of all, with --verbose) as "# " lines, and last the exact line
 * "N passed, N failed, N skipped".
 *
 * Exit status: 0 when no test failed, 1 when one did, 77 when every
 * selected test skipped (ctest's SKIP_RETURN_CODE), 2 for a usage error,
 * a PATTERN that matches nothing, or a failure of the runner itself.
 *
 * Timeout of a test: its table entry's timeout_ms, else --timeout, else
 * 30 s; multiplied by $PVT_TEST_TIMEOUT_SCALE (e.g. 10 under valgrind).
 * PVT_TEST_NOFORK=1 runs the tests in the runner's own process instead
 * (for a debugger): no capture, no timeout, and a crash ends the run.
 *
 * Internal: --fixtures selects the runner's own fixtures (tests that fail,
 * crash, hang and skip on purpose) instead of the test table; only the
 * runner's tests use it.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner/list.h"
#include "runner/test.h"

#define DEFAULT_TIMEOUT_MS 30000u
#define MAX_TIMEOUT_MS     86400000u /* a day: anything longer is a typo */

/*
 * Captured output kept per test: the first HEAD_CAP bytes and the last
 * TAIL_CAP bytes, with a marker for what was dropped between them; the
 * head says what the test was doing, the tail holds the assert message.
 */
#define HEAD_CAP (16u * 1024u)
#define TAIL_CAP (48u * 1024u)

/* How long to keep reading after the test's process group is gone. */
#define DRAIN_GRACE_MS 500

/* Reads per wake-up, so a chatty test cannot keep us from the deadline. */
#define READS_PER_WAKEUP 16

struct options {
    bool list;
    bool exact;
    bool verbose;
    bool fixtures;
    bool nofork;
    unsigned int timeout_ms; /* --timeout; 0 when not given */
    double scale;            /* PVT_TEST_TIMEOUT_SCALE */
    char **patterns;
    int npatterns;
};

enum outcome { OUTCOME_PASS, OUTCOME_FAIL, OUTCOME_SKIP };

struct result {
    enum outcome outcome;
    char note[128]; /* after "# " on the TAP line; empty for a plain pass */
};

/* The current test's output: HEAD_CAP first bytes, ring of the last ones. */
struct capture {
    char head[HEAD_CAP];
    size_t head_len;
    char tail[TAIL_CAP];
    size_t tail_start; /* oldest byte of the ring */
    size_t tail_len;
    uint64_t total;
};

static const char *prog = "pvtimer-tests";
static struct capture cap;
/* cap, rendered in order with a marker for the dropped middle */
static char rendered[HEAD_CAP + TAIL_CAP + 128];

/* Self-pipe written by the SIGCHLD handler, so poll() wakes on exit. */
static int sigchld_pipe[2] = {-1, -1};
/* Process group of the running test, killed if the runner is. */
static volatile sig_atomic_t current_pgid;
/* Where pvt_test_platform_fail returns to in PVT_TEST_NOFORK mode. */
static jmp_buf *nofork_jmp;

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
    if (current_pgid > 0)
        kill(-(pid_t)current_pgid, SIGKILL);
    exit(2);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [--list] [--exact] [--timeout MS] [--verbose] "
            "[PATTERN...]\n"
            "  --list        print the selected tests' names and exit\n"
            "  --exact       PATTERNs are whole names, not substrings\n"
            "  --timeout MS  timeout of tests that do not set their own "
            "(default %u)\n"
            "  --verbose     print every test's output, not only failures'\n"
            "environment: PVT_TEST_TIMEOUT_SCALE=F multiplies timeouts;\n"
            "             PVT_TEST_NOFORK=1 runs tests in this process\n",
            prog, DEFAULT_TIMEOUT_MS);
}

static _Noreturn __attribute__((format(printf, 1, 2))) void usage_error(
    const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    exit(2);
}

/* ---- capture ---- */

static void capture_reset(void)
{
    cap.head_len = 0;
    cap.tail_start = 0;
    cap.tail_len = 0;
    cap.total = 0;
}

static void capture_add(const char *buf, size_t len)
{
    cap.total += len;
    while (len && cap.head_len < HEAD_CAP) {
        cap.head[cap.head_len++] = *buf++;
        len--;
    }
    if (len >= TAIL_CAP) {
        /* only the last TAIL_CAP bytes can survive */
        memcpy(cap.tail, buf + len - TAIL_CAP, TAIL_CAP);
        cap.tail_start = 0;
        cap.tail_len = TAIL_CAP;
        return;
    }
    while (len--) {
        size_t end = (cap.tail_start + cap.tail_len) % TAIL_CAP;
        cap.tail[end] = *buf++;
        if (cap.tail_len < TAIL_CAP)
            cap.tail_len++;
        else
            cap.tail_start = (cap.tail_start + 1) % TAIL_CAP;
    }
}

/* Renders cap into `rendered`; returns its length. */
static size_t capture_render(void)
{
    uint64_t dropped = cap.total - cap.head_len - cap.tail_len;
    size_t head = cap.head_len;
    size_t skip = 0; /* tail bytes before its first whole line */
    size_t n;
    size_t i;

    if (dropped) {
        /* cut at line boundaries, so no line is shown half */
        while (head && cap.head[head - 1] != '\n')
            head--;
        if (head == 0)
            head = cap.head_len; /* one giant line: keep what we have */
        while (skip < cap.tail_len &&
               cap.tail[(cap.tail_start + skip) % TAIL_CAP] != '\n')
            skip++;
        skip = skip < cap.tail_len ? skip + 1 : 0;
        dropped += (cap.head_len - head) + skip;
    }
    memcpy(rendered, cap.head, head);
    n = head;
    if (dropped) {
        if (n && rendered[n - 1] != '\n')
            rendered[n++] = '\n';
        n += (size_t)snprintf(rendered + n, sizeof(rendered) - n,
                              "[... %llu bytes of output dropped ...]\n",
                              (unsigned long long)dropped);
    }
    for (i = skip; i < cap.tail_len; i++)
        rendered[n++] = cap.tail[(cap.tail_start + i) % TAIL_CAP];
    return n;
}

/* Prints the rendered output as TAP comment lines. */
static void print_output(const char *out, size_t len)
{
    while (len) {
        const char *nl = memchr(out, '\n', len);
        size_t line = nl ? (size_t)(nl - out) : len;

        fputc('#', stdout);
        if (line) {
            fputc(' ', stdout);
            fwrite(out, 1, line, stdout);
        }
        fputc('\n', stdout);
        if (!nl)
            break;
        out += line + 1;
        len -= line + 1;
    }
}

/*
 * The reason from the last "SKIP: reason" line of the output, written into
 * buf; empty when there is none.
 */
static void find_skip_reason(const char *out, size_t len, char *buf,
                             size_t size)
{
    const char *p = out;
    const char *end = out + len;
    const char *reason = NULL;
    size_t rlen = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;

        if ((size_t)(eol - p) >= 6 && memcmp(p, "SKIP: ", 6) == 0) {
            reason = p + 6;
            rlen = (size_t)(eol - reason);
        }
        p = eol + 1;
    }
    if (rlen >= size)
        rlen = size - 1;
    if (reason)
        memcpy(buf, reason, rlen);
    buf[rlen] = '\0';
}

/* ---- platform hooks (contracts in test.h) ---- */

/* Writes to fd 1 (the capture pipe, in a test's process), retrying
 * interrupted and partial writes; in PVT_TEST_NOFORK mode also keeps a
 * copy so the runner can find a skip reason. */
void pvt_test_platform_write(const char *buf, size_t len)
{
    if (nofork_jmp)
        capture_add(buf, len);
    while (len) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report anything */
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Ends the test's process with PVT_TEST_FAIL; in PVT_TEST_NOFORK mode
 * returns to the runner instead. */
_Noreturn void pvt_test_platform_fail(void)
{
    if (nofork_jmp)
        longjmp(*nofork_jmp, 1);
    fflush(stdout);
    fflush(stderr);
    _exit(PVT_TEST_FAIL);
}

/* ---- running one test ---- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_sigchld(int sig)
{
    int saved = errno;
    ssize_t n = write(sigchld_pipe[1], "", 1);

    (void)sig;
    (void)n; /* a full pipe already says "wake up" */
    errno = saved;
}

static void on_terminate(int sig)
{
    if (current_pgid > 0)
        kill(-(pid_t)current_pgid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0)
        die("sigaction");
}

static void set_fd_flags(int fd, int fdflags, int flflags)
{
    if (fdflags && fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | fdflags) < 0)
        die("fcntl");
    if (flflags && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | flflags) < 0)
        die("fcntl");
}

static void setup_signals(void)
{
    if (pipe(sigchld_pipe) < 0)
        die("pipe");
    set_fd_flags(sigchld_pipe[0], FD_CLOEXEC, O_NONBLOCK);
    set_fd_flags(sigchld_pipe[1], FD_CLOEXEC, O_NONBLOCK);
    set_handler(SIGCHLD, on_sigchld);
    /* tests run in their own process group, out of reach of the
     * terminal's ^C: take them down with the runner */
    set_handler(SIGINT, on_terminate);
    set_handler(SIGTERM, on_terminate);
    set_handler(SIGHUP, on_terminate);
}

static void drain_sigchld_pipe(void)
{
    char buf[64];

    while (read(sigchld_pipe[0], buf, sizeof(buf)) > 0)
        continue;
}

/* The test's process: never returns. */
static _Noreturn void child_main(const struct pvt_test_entry *t, int out_fd)
{
    int devnull;
    int rc;

    setpgid(0, 0);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    close(sigchld_pipe[0]);
    close(sigchld_pipe[1]);

    /* a test reading stdin would otherwise stop on SIGTTIN: it is not in
     * the terminal's foreground process group */
    devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
        dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
        _exit(PVT_TEST_FAIL);
    if (devnull > STDERR_FILENO)
        close(devnull);
    if (out_fd > STDERR_FILENO)
        close(out_fd);
    /* stdio output interleaves with pvt_test_printf's writes in order */
    setvbuf(stdout, NULL, _IONBF, 0);

    rc = t->fn();
    if (rc < 0 || rc > 255)
        rc = PVT_TEST_FAIL;
    /* exit, not _exit: LeakSanitizer and valgrind check the test's leaks
     * at exit (the runner's own stdio was flushed before the fork) */
    exit(rc);
}

/* Non-consuming check for the child's exit, so its pid (and process group
 * id) stays reserved until the group is killed and the child reaped. */
static bool child_exited(pid_t pid)
{
    siginfo_t si;

    for (;;) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            return si.si_pid != 0;
        if (errno != EINTR)
            die("waitid");
    }
}

/* Reads what is available; returns false at end of file. */
static bool read_output(int fd)
{
    char buf[4096];
    int i;

    for (i = 0; i < READS_PER_WAKEUP; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            capture_add(buf, (size_t)n);
        } else if (n == 0) {
            return false;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
        } else {
            return false;
        }
    }
    return true;
}

/*
 * Runs t in a child process in its own process group, capturing its output
 * into cap until it exits (then kills what it left in its group) or until
 * timeout_ms (then kills the group), and fills r from its wait status.
 */
static void run_forked(const struct pvt_test_entry *t, unsigned int timeout_ms,
                       struct result *r)
{
    int fds[2];
    pid_t pid;
    int status;
    bool reading = true;
    bool exited = false;
    bool timed_out = false;
    int64_t deadline = now_ms() + timeout_ms;
    size_t len;

    if (pipe(fds) < 0)
        die("pipe");
    set_fd_flags(fds[0], FD_CLOEXEC, O_NONBLOCK);
    set_fd_flags(fds[1], FD_CLOEXEC, 0);
    drain_sigchld_pipe();
    /* or the child inherits, and later prints, our buffered output */
    fflush(stdout);
    fflush(stderr);

    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        child_main(t, fds[1]);
    current_pgid = pid;
    /* also here: whichever of us runs first, the group exists before
     * anyone may need to kill it */
    setpgid(pid, pid);
    close(fds[1]);

    for (;;) {
        struct pollfd pfd[2];
        int64_t now;
        int64_t left;

        if (!exited && child_exited(pid)) {
            exited = true;
            /* helpers the test forked and left behind */
            kill(-pid, SIGKILL);
            deadline = now_ms() + DRAIN_GRACE_MS;
        }
        if (exited && !reading)
            break;
        now = now_ms();
        if (now >= deadline) {
            if (exited)
                break; /* a process outside the group holds the pipe */
            timed_out = true;
            exited = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            deadline = now + DRAIN_GRACE_MS;
            continue;
        }
        left = deadline - now;
        pfd[0].fd = sigchld_pipe[0];
        pfd[0].events = POLLIN;
        pfd[1].fd = reading ? fds[0] : -1;
        pfd[1].events = POLLIN;
        if (poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (pfd[0].revents)
            drain_sigchld_pipe();
        if (reading && pfd[1].revents)
            reading = read_output(fds[0]);
    }
    close(fds[0]);
    if (reading) {
        static const char note[] = "\n[runner: stopped reading: the output "
                                   "pipe stayed open after the test ended]\n";
        capture_add(note, sizeof(note) - 1);
    }

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die("waitpid");
    }
    current_pgid = 0;

    len = capture_render();
    if (timed_out) {
        r->outcome = OUTCOME_FAIL;
        snprintf(r->note, sizeof(r->note), "timeout after %u ms", timeout_ms);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == PVT_TEST_OK) {
        r->outcome = OUTCOME_PASS;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == PVT_TEST_SKIP) {
        r->outcome = OUTCOME_SKIP;
        find_skip_reason(rendered, len, r->note, sizeof(r->note));
    } else if (WIFEXITED(status)) {
        r->outcome = OUTCOME_FAIL;
        snprintf(r->note, sizeof(r->note), "exit status %d",
                 WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        r->outcome = OUTCOME_FAIL;
        snprintf(r->note, sizeof(r->note), "signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        r->outcome = OUTCOME_FAIL;
        snprintf(r->note, sizeof(r->note), "wait status 0x%x", status);
    }
}

/* PVT_TEST_NOFORK: runs t here; a failed assert longjmps back. */
static void run_in_process(const struct pvt_test_entry *t, struct result *r)
{
    jmp_buf jb;
    int rc;

    fflush(stdout);
    if (setjmp(jb) == 0) {
        nofork_jmp = &jb;
        rc = t->fn();
    } else {
        rc = PVT_TEST_FAIL;
    }
    nofork_jmp = NULL;
    fflush(stdout);
    fflush(stderr);

    if (rc == PVT_TEST_OK) {
        r->outcome = OUTCOME_PASS;
    } else if (rc == PVT_TEST_SKIP) {
        r->outcome = OUTCOME_SKIP;
        find_skip_reason(rendered, capture_render(), r->note, sizeof(r->note));
    } else {
        r->outcome = OUTCOME_FAIL;
        snprintf(r->note, sizeof(r->note), "exit status %d", rc);
    }
}

/* ---- options and selection ---- */

static unsigned int parse_timeout(const char *s)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno || v == 0 ||
        v > MAX_TIMEOUT_MS)
        usage_error("invalid timeout '%s': expected milliseconds, "
                    "1 to 86400000",
                    s);
    return (unsigned int)v;
}

static void parse_env(struct options *o)
{
    const char *s = getenv("PVT_TEST_TIMEOUT_SCALE");
    const char *nofork = getenv("PVT_TEST_NOFORK");

    o->scale = 1.0;
    if (s != NULL && *s != '\0') {
        char *end;
        errno = 0;
        o->scale = strtod(s, &end);
        if (*end != '\0' || errno || !(o->scale > 0.0) || o->scale > 1e6)
            usage_error("invalid PVT_TEST_TIMEOUT_SCALE '%s': expected a "
                        "positive number",
                        s);
    }
    o->nofork = nofork != NULL && *nofork != '\0' && strcmp(nofork, "0") != 0;
}

static void parse_args(struct options *o, int argc, char **argv)
{
    bool options_done = false;
    int i;

    o->patterns = calloc((size_t)argc, sizeof(*o->patterns));
    if (o->patterns == NULL)
        die("calloc");
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (options_done || a[0] != '-' || a[1] == '\0') {
            o->patterns[o->npatterns++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (strcmp(a, "--list") == 0) {
            o->list = true;
        } else if (strcmp(a, "--exact") == 0) {
            o->exact = true;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            o->verbose = true;
        } else if (strcmp(a, "--fixtures") == 0) {
            o->fixtures = true;
        } else if (strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc)
                usage_error("%s needs a value in milliseconds", a);
            o->timeout_ms = parse_timeout(argv[++i]);
        } else if (strncmp(a, "--timeout=", 10) == 0) {
            o->timeout_ms = parse_timeout(a + 10);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            usage_error("unknown option '%s'", a);
        }
    }
}

static bool matches(const char *name, const char *pattern, bool exact)
{
    return exact ? strcmp(name, pattern) == 0 : strstr(name, pattern) != NULL;
}

/* Marks the selected tests; every pattern must select at least one. */
static size_t select_tests(const struct options *o,
                           const struct pvt_test_entry *tests, size_t count,
                           bool *selected)
{
    size_t n = 0;
    size_t i;
    int p;

    for (i = 0; i < count; i++)
        selected[i] = o->npatterns == 0;
    for (p = 0; p < o->npatterns; p++) {
        bool any = false;
        for (i = 0; i < count; i++) {
            if (matches(tests[i].name, o->patterns[p], o->exact)) {
                selected[i] = true;
                any = true;
            }
        }
        if (!any) {
            fprintf(stderr, "%s: no test %s '%s' (see --list)\n", prog,
                    o->exact ? "is named" : "matches", o->patterns[p]);
            exit(2);
        }
    }
    for (i = 0; i < count; i++)
        n += selected[i];
    return n;
}

static unsigned int effective_timeout(const struct options *o,
                                      const struct pvt_test_entry *t)
{
    double ms = t->timeout_ms   ? t->timeout_ms
                : o->timeout_ms ? o->timeout_ms
                                : DEFAULT_TIMEOUT_MS;

    ms *= o->scale;
    if (ms < 1.0)
        return 1;
    if (ms > (double)INT_MAX)
        return INT_MAX;
    return (unsigned int)(ms + 0.999);
}

/*
 * Runs the tests selected by argv (see the top of this file) and prints
 * their TAP report; returns the exit status described there.
 */
int main(int argc, char **argv)
{
    struct options o;
    const struct pvt_test_entry *tests;
    size_t count;
    bool *selected;
    size_t nselected;
    size_t i;
    size_t number = 0;
    unsigned int passed = 0, failed = 0, skipped = 0;

    if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0') {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    memset(&o, 0, sizeof(o));
    parse_args(&o, argc, argv);
    parse_env(&o);

    tests = o.fixtures ? pvt_runner_fixtures : pvt_tests;
    count = o.fixtures ? pvt_runner_fixtures_count : pvt_tests_count;
    selected = calloc(count + 1, sizeof(*selected));
    if (selected == NULL)
        die("calloc");
    nselected = select_tests(&o, tests, count, selected);

    if (o.list) {
        for (i = 0; i < count; i++) {
            if (selected[i])
                printf("%s\n", tests[i].name);
        }
        free(selected);
        free(o.patterns);
        return 0;
    }

    if (!o.nofork)
        setup_signals();
    printf("1..%zu\n", nselected);
    for (i = 0; i < count; i++) {
        const struct pvt_test_entry *t = &tests[i];
        struct result r;
        size_t len;

        if (!selected[i])
            continue;
        number++;
        memset(&r, 0, sizeof(r));
        capture_reset();
        if (o.nofork)
            run_in_process(t, &r);
        else
            run_forked(t, effective_timeout(&o, t), &r);

        switch (r.outcome) {
        case OUTCOME_PASS:
            passed++;
            printf("ok %zu - %s\n", number, t->name);
            break;
        case OUTCOME_SKIP:
            skipped++;
            printf("ok %zu - %s # SKIP%s%s\n", number, t->name,
                   r.note[0] ? " " : "", r.note);
            break;
        case OUTCOME_FAIL:
            failed++;
            printf("not ok %zu - %s # %s\n", number, t->name, r.note);
            break;
        }
        if (!o.nofork && (o.verbose || r.outcome == OUTCOME_FAIL)) {
            len = capture_render();
            print_output(rendered, len);
        }
        fflush(stdout);
    }
    printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    fflush(stdout);

    free(selected);
    free(o.patterns);
    if (failed)
        return 1;
    if (nselected && skipped == nselected)
        return 77;
    return 0;
}
