/*
 * The README's commands are the ones the tests run: every fenced block of
 * README.md whose info string starts with `sh` holds commands, one a line
 * (no prompt, no continuation), and readme_commands_run runs each of them
 * from the source directory, against the build under test (which must be
 * the README's build/). Words after `sh` in the info string:
 *
 *   needs=kvm,qemu,chromium,parallel  what the block needs; without it the block
 *                            is skipped, with the reason (a command whose
 *                            program is not in PATH, or that exits 77, is
 *                            skipped the same way, so `pvtimer kvm` on a
 *                            machine without /dev/kvm skips by itself)
 *   test-args="ARGS"         the test appends ARGS to each command (a long
 *                            run, bounded); the README must say so: the
 *                            text around the block quotes `ARGS`
 *   not-tested=REASON        not run: `install` (into a system prefix),
 *                            `hosts` (several machines), `suite` (the
 *                            test suite itself, which runs this test) or
 *                            `ci` (run as written by .ci/run, after the
 *                            suite: readme_commands_well_formed checks
 *                            that .ci/run holds each line)
 *
 * Every command has PVT_README_CMD_TIMEOUT_S to finish (times the
 * harness's PVT_TEST_TIMEOUT_SCALE).
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/test.h"
#include "spawn.h"

#ifndef PVT_SOURCE_DIR
#error "the build defines PVT_SOURCE_DIR and PVT_BINARY_DIR"
#endif

#define PVT_README_CMD_TIMEOUT_S 240

#define MAX_BLOCKS 256
#define MAX_LINE   1024

struct readme_block {
    int line;              /* of the opening fence, 1-based */
    bool sh;               /* info string starts with sh */
    char needs[64];        /* needs=, comma-separated */
    char test_args[200];   /* test-args= */
    char not_tested[32];   /* not-tested= */
    const char *body;      /* first line of the body, in the README text */
    const char *end;       /* the closing fence */
    const char *after_end; /* the next opening fence, or the text's end */
    const char *before;    /* the previous closing fence, or the start */
};

/* One line from s into buf (without the newline); returns the next. */
static const char *line_of(const char *s, char *buf, size_t len)
{
    size_t n = strcspn(s, "\n");

    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    s += strcspn(s, "\n");
    return *s ? s + 1 : s;
}

/*
 * The info string's words after `sh` into b. Returns 0, or -1 with a
 * message in why for a word the test does not know.
 */
static int parse_info(const char *info, struct readme_block *b, char *why,
                      size_t wlen)
{
    const char *p = info + 2;

    while (*p) {
        char key[32], val[200];
        size_t k = 0, v = 0;

        while (*p == ' ')
            p++;
        if (!*p)
            break;
        while (*p && *p != '=' && *p != ' ' && k < sizeof(key) - 1)
            key[k++] = *p++;
        key[k] = 0;
        if (*p != '=') {
            snprintf(why, wlen, "'%s' is not key=value", key);
            return -1;
        }
        p++;
        if (*p == '"') {
            for (p++; *p && *p != '"' && v < sizeof(val) - 1;)
                val[v++] = *p++;
            if (*p != '"') {
                snprintf(why, wlen, "%s: unterminated quote", key);
                return -1;
            }
            p++;
        } else {
            while (*p && *p != ' ' && v < sizeof(val) - 1)
                val[v++] = *p++;
        }
        val[v] = 0;
        if (strcmp(key, "needs") == 0 && strlen(val) < sizeof(b->needs)) {
            const char *q = val;
            while (*q) {
                size_t w = strcspn(q, ",");
                if (!((w == 3 && strncmp(q, "kvm", 3) == 0) ||
                      (w == 4 && strncmp(q, "qemu", 4) == 0) ||
                      (w == 8 && strncmp(q, "chromium", 8) == 0) ||
                      (w == 8 && strncmp(q, "parallel", 8) == 0))) {
                    snprintf(why, wlen,
                             "needs=%s: known are kvm, qemu, chromium, "
                             "parallel",
                             val);
                    return -1;
                }
                q += w + (q[w] == ',');
            }
            strcpy(b->needs, val);
        } else if (strcmp(key, "test-args") == 0 &&
                   strlen(val) < sizeof(b->test_args)) {
            strcpy(b->test_args, val);
        } else if (strcmp(key, "not-tested") == 0) {
            if (strcmp(val, "install") != 0 && strcmp(val, "hosts") != 0 &&
                strcmp(val, "suite") != 0 && strcmp(val, "ci") != 0) {
                snprintf(why, wlen,
                         "not-tested=%s: the reasons are install (a "
                         "system prefix), hosts (several machines), "
                         "suite (the test suite itself) and ci (run as "
                         "written by .ci/run)",
                         val);
                return -1;
            }
            strcpy(b->not_tested, val);
        } else {
            snprintf(why, wlen, "unknown word '%s' after sh", key);
            return -1;
        }
    }
    return 0;
}

/*
 * The fenced blocks of text into b (at most max). Returns how many, or -1
 * with the README line and what is wrong in why: an unclosed fence, a
 * shell block in another dialect's name, a bad info string, a prompt
 * ("$ ") in any block, a continuation or an empty command block.
 */
static int readme_blocks(const char *text, struct readme_block *b, int max,
                         char *why, size_t wlen)
{
    const char *s = text;
    int n = 0, line = 0;
    char buf[MAX_LINE];

    while (*s) {
        const char *at = s;
        s = line_of(s, buf, sizeof(buf));
        line++;
        if (strncmp(buf, "```", 3) != 0)
            continue;
        if (n == max) {
            snprintf(why, wlen, "more than %d fenced blocks", max);
            return -1;
        }
        if (n > 0)
            b[n - 1].after_end = at;
        memset(&b[n], 0, sizeof(b[n]));
        b[n].line = line;
        b[n].after_end = NULL;
        b[n].before = n > 0 ? b[n - 1].end : text;
        {
            const char *info = buf + 3;
            if (strcmp(info, "bash") == 0 || strcmp(info, "shell") == 0 ||
                strcmp(info, "console") == 0 ||
                strncmp(info, "bash ", 5) == 0) {
                snprintf(why, wlen,
                         "README.md:%d: commands go in ```sh blocks (the "
                         "tests run those)",
                         line);
                return -1;
            }
            b[n].sh = strcmp(info, "sh") == 0 || strncmp(info, "sh ", 3) == 0;
            if (b[n].sh && parse_info(info, &b[n], why, wlen) != 0) {
                char tmp[200];
                snprintf(tmp, sizeof(tmp), "%s", why);
                snprintf(why, wlen, "README.md:%d: %s", line, tmp);
                return -1;
            }
        }
        b[n].body = s;
        {
            int cmds = 0;
            for (;;) {
                const char *l = s;
                size_t len;
                if (!*s) {
                    snprintf(why, wlen, "README.md:%d: the block is not closed",
                             b[n].line);
                    return -1;
                }
                s = line_of(s, buf, sizeof(buf));
                line++;
                if (strncmp(buf, "```", 3) == 0) {
                    b[n].end = l;
                    break;
                }
                if (strncmp(buf, "$ ", 2) == 0) {
                    snprintf(why, wlen,
                             "README.md:%d: a prompt ('$ '): put the command "
                             "in a ```sh block of its own, the output in a "
                             "plain block",
                             line);
                    return -1;
                }
                len = strlen(buf);
                if (b[n].sh && len > 0 && buf[len - 1] == '\\') {
                    snprintf(why, wlen,
                             "README.md:%d: a continuation: one command, one "
                             "line",
                             line);
                    return -1;
                }
                if (b[n].sh && len > 0 && buf[0] != '#')
                    cmds++;
            }
            if (b[n].sh && cmds == 0) {
                snprintf(why, wlen,
                         "README.md:%d: a ```sh block without a "
                         "command",
                         b[n].line);
                return -1;
            }
        }
        n++;
    }
    if (n > 0 && b[n - 1].after_end == NULL)
        b[n - 1].after_end = text + strlen(text);
    return n;
}

/* Does the text around the block (from the previous block to the next)
 * quote `args`? */
static bool args_said(const struct readme_block *b, const char *args)
{
    char quoted[220];
    size_t len = (size_t)(b->after_end - b->before);
    char *between = malloc(len + 1);
    bool found;

    if (between == NULL)
        return false;
    memcpy(between, b->before, len);
    between[len] = 0;
    snprintf(quoted, sizeof(quoted), "`%s`", args);
    found = strstr(between, quoted) != NULL;
    free(between);
    return found;
}

/* Whether .ci/run holds every command line of block b as a line of its
 * own (said on the console when not). */
static bool in_ci_run(const struct readme_block *b)
{
    char *ci = pvt_slurp(PVT_SOURCE_DIR "/.ci/run");
    const char *s = b->body;
    int line = b->line;
    bool ok = ci != NULL;

    while (ok && s < b->end) {
        char cmd[MAX_LINE], *at;
        size_t len;

        s = line_of(s, cmd, MAX_LINE);
        line++;
        if (!cmd[0] || cmd[0] == '#')
            continue;
        len = strlen(cmd);
        for (at = strstr(ci, cmd); at; at = strstr(at + 1, cmd))
            if ((at == ci || at[-1] == '\n') &&
                (at[len] == '\n' || at[len] == 0))
                break;
        if (!at) {
            pvt_test_printf("README.md:%d: not-tested=ci, but .ci/run does "
                            "not run `%s` as written\n",
                            line, cmd);
            ok = false;
        }
    }
    free(ci);
    return ok;
}

static char *readme_text(void)
{
    return pvt_slurp(PVT_SOURCE_DIR "/README.md");
}

TEST_IMPL(readme_commands_well_formed)
{
    struct readme_block *b = calloc(MAX_BLOCKS, sizeof(*b));
    char why[300] = "";
    char *text = readme_text();
    int n, i, sh = 0;

    ASSERT_NOT_NULL(b);
    ASSERT_NOT_NULL(text);
    n = readme_blocks(text, b, MAX_BLOCKS, why, sizeof(why));
    if (n < 0)
        pvt_test_printf("%s\n", why);
    ASSERT_GE(n, 0);
    for (i = 0; i < n; i++) {
        if (!b[i].sh)
            continue;
        sh++;
        if (b[i].test_args[0] && !args_said(&b[i], b[i].test_args)) {
            pvt_test_printf("README.md:%d: test-args=\"%s\", but the text "
                            "around the block does not say `%s`\n",
                            b[i].line, b[i].test_args, b[i].test_args);
            ASSERT(false);
        }
        if (strcmp(b[i].not_tested, "ci") == 0)
            ASSERT(in_ci_run(&b[i]));
    }
    /* the quick start's two at least */
    ASSERT_GE(sh, 2);
    ASSERT(strstr(text, "```sh\ncmake --workflow --preset sim") != NULL);
    free(text);
    free(b);

    /* and the checks catch what they are for */
    {
        static const char *const bad[] = {
            "```sh\n$ build/pvtimer sim\n```\n",
            "```\n$ build/pvtimer sim\nout\n```\n",
            "```sh\nbuild/pvtimer sim \\\n  --list\n```\n",
            "```bash\nls\n```\n",
            "```sh not-tested=slow\nls\n```\n",
            "```sh needs=gpu\nls\n```\n",
            "```sh\nls\n",
            "```sh\n\n```\n",
        };
        struct readme_block one[4];
        size_t k;
        for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
            ASSERT_EQ(readme_blocks(bad[k], one, 4, why, sizeof(why)), -1);
        ASSERT_EQ(readme_blocks("```sh needs=kvm,qemu test-args=\"--set "
                                "a=1\"\nls\n```\nwith `--set a=1`\n",
                                one, 4, why, sizeof(why)),
                  1);
        ASSERT_STR_EQ(one[0].needs, "kvm,qemu");
        ASSERT_STR_EQ(one[0].test_args, "--set a=1");
        ASSERT(args_said(&one[0], "--set a=1"));
        ASSERT(!args_said(&one[0], "--set a=2"));
    }
    RETURN_OK();
}

/* Finds name in PATH. */
static bool in_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];

    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n + strlen(name) + 2 < sizeof(buf)) {
            memcpy(buf, path, n);
            buf[n] = '/';
            strcpy(buf + n + 1, name);
            if (access(buf, X_OK) == 0)
                return true;
        }
        path += n + (path[n] == ':');
    }
    return false;
}

/* Why a block, or a command, cannot run here (NULL: it can). */
static const char *missing(const char *needs, const char *cmd, char *why,
                           size_t wlen)
{
    char prog[256];
    size_t n;
    int fd;

    if (strstr(needs, "kvm") || strstr(cmd, "-accel kvm")) {
        fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            snprintf(why, wlen, "KVM is not available: /dev/kvm: %s",
                     strerror(errno));
            return why;
        }
        close(fd);
    }
    if (strstr(needs, "qemu") && !in_path("qemu-system-x86_64")) {
        snprintf(why, wlen, "qemu-system-x86_64 is not in PATH");
        return why;
    }
    if (strstr(needs, "chromium") && !in_path("chromium")) {
        snprintf(why, wlen, "chromium is not in PATH");
        return why;
    }
    if (strstr(needs, "parallel") && !in_path("parallel")) {
        snprintf(why, wlen, "GNU parallel is not in PATH");
        return why;
    }
    n = strcspn(cmd, " ");
    if (n < sizeof(prog)) {
        memcpy(prog, cmd, n);
        prog[n] = 0;
        if (strchr(prog, '/') == NULL && !in_path(prog)) {
            snprintf(why, wlen, "%s is not in PATH", prog);
            return why;
        }
    }
    return NULL;
}

/* The last lines of s (at most about 1500 characters). */
static const char *tail(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 1500 ? s + n - 1500 : (s ? s : "");
}

TEST_IMPL(readme_commands_run)
{
    struct readme_block *b = calloc(MAX_BLOCKS, sizeof(*b));
    char why[300] = "", here[PATH_MAX], build[PATH_MAX], limit[32];
    char *text = readme_text();
    const char *scale = getenv("PVT_TEST_TIMEOUT_SCALE");
    int n, i, ran = 0, skipped = 0;

    ASSERT_NOT_NULL(b);
    ASSERT_NOT_NULL(text);
    if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
        free(text);
        free(b);
        RETURN_SKIP("under valgrind: the README's commands are checked by "
                    "readme_commands_well_formed, run in the plain build");
    }
    /* the README's commands run from the source directory against its
     * build/: only when that is the build under test */
    if (realpath(PVT_SOURCE_DIR "/build", here) == NULL ||
        realpath(PVT_BINARY_DIR, build) == NULL || strcmp(here, build) != 0) {
        free(text);
        free(b);
        RETURN_SKIP(
            "the build under test is not the README's build/ (" PVT_BINARY_DIR
            ")");
    }
    snprintf(limit, sizeof(limit), "%d",
             PVT_README_CMD_TIMEOUT_S *
                 (scale && atoi(scale) > 1 ? atoi(scale) : 1));
    n = readme_blocks(text, b, MAX_BLOCKS, why, sizeof(why));
    ASSERT_GE(n, 0);
    for (i = 0; i < n; i++) {
        const char *s = b[i].body;
        int line = b[i].line;

        if (!b[i].sh)
            continue;
        if (b[i].not_tested[0]) {
            pvt_test_printf("README.md:%d: not run (%s)\n", line,
                            b[i].not_tested);
            continue;
        }
        while (s < b[i].end) {
            char cmd[MAX_LINE + 220];
            struct pvt_spawn_result r;

            s = line_of(s, cmd, MAX_LINE);
            line++;
            if (!cmd[0] || cmd[0] == '#')
                continue;
            if (missing(b[i].needs, cmd, why, sizeof(why))) {
                pvt_test_printf("README.md:%d: skipped (%s): %s\n", line, why,
                                cmd);
                skipped++;
                continue;
            }
            if (b[i].test_args[0]) {
                size_t len = strcspn(cmd, "#");
                while (len > 0 && cmd[len - 1] == ' ')
                    len--;
                snprintf(cmd + len, sizeof(cmd) - len, " %s", b[i].test_args);
            }
            ASSERT_OK(chdir(PVT_SOURCE_DIR));
            ASSERT_OK(
                pvt_spawn("/usr/bin/timeout",
                          (const char *const[]){"timeout", "-k", "5", limit,
                                                "/bin/sh", "-c", cmd, NULL},
                          NULL, NULL, &r));
            if (r.status == 77) {
                /* the reason's first line (pvt_test_printf has no %.*s) */
                r.err[strcspn(r.err, "\n")] = 0;
                pvt_test_printf("README.md:%d: skipped (exit 77: %s): %s\n",
                                line, r.err, cmd);
                skipped++;
            } else if (r.status != 0) {
                pvt_test_printf("README.md:%d: %s\nexit status %d%s\n"
                                "stdout (end):\n%s\nstderr (end):\n%s\n",
                                line, cmd, r.status,
                                r.status == 124 ? " (timed out: make the "
                                                  "command quicker, or "
                                                  "bound it with test-args)"
                                                : "",
                                tail(r.out), tail(r.err));
                ASSERT_EQ(r.status, 0);
            } else {
                pvt_test_printf("README.md:%d: ok, %ld ms: %s\n", line,
                                r.elapsed_ms, cmd);
                ran++;
            }
            pvt_spawn_free(&r);
        }
    }
    free(text);
    free(b);
    if (ran == 0)
        RETURN_SKIP("none of the README's commands could run here");
    RETURN_OK();
}
