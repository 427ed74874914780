/*
 * Run a program and capture its output, for the host tests.
 */
#define _POSIX_C_SOURCE 200809L

#include "spawn.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child printing more than this is a bug in it; stop collecting. */
#define MAX_OUTPUT (4u * 1024u * 1024u)

static int append(char **buf, size_t *len, const char *data, size_t n)
{
    char *p;

    if (*len + n > MAX_OUTPUT)
        return -1;
    p = realloc(*buf, *len + n + 1);
    if (!p)
        return -1;
    memcpy(p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
    return 0;
}

int pvt_spawn(const char *path, const char *const argv[],
              const char *const env[], const char *const unset[],
              struct pvt_spawn_result *r)
{
    int out[2], err[2], status;
    long start = now_ms();
    pid_t pid;
    struct pollfd pfd[2];

    memset(r, 0, sizeof(*r));
    r->out = calloc(1, 1);
    r->err = calloc(1, 1);
    if (!r->out || !r->err || pipe(out) < 0)
        return -1;
    if (pipe(err) < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        return -1;
    }
    if (pid == 0) {
        size_t i, n = 0;
        char **args;

        /* execv wants non-const strings: give it copies */
        while (argv[n])
            n++;
        args = calloc(n + 1, sizeof(*args));
        if (!args)
            _exit(127);
        for (i = 0; i < n; i++)
            if (!(args[i] = strdup(argv[i])))
                _exit(127);
        for (i = 0; unset && unset[i]; i++)
            unsetenv(unset[i]);
        for (i = 0; env && env[i] && env[i + 1]; i += 2)
            setenv(env[i], env[i + 1], 1);
        if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
            _exit(127);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        execv(path, args);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    pfd[0] = (struct pollfd){.fd = out[0], .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = err[0], .events = POLLIN};
    while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
        int i;
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; i < 2; i++) {
            char buf[4096];
            ssize_t n;
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            n = read(pfd[i].fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
            } else if (append(i == 0 ? &r->out : &r->err,
                              i == 0 ? &r->out_len : &r->err_len, buf,
                              (size_t)n) < 0) {
                /* too much: keep draining so the child cannot block */
                continue;
            }
        }
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    r->elapsed_ms = now_ms() - start;
    r->status =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r->status == 127 ? -1 : 0;
}

void pvt_spawn_free(struct pvt_spawn_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int pvt_contains(const char *haystack, const char *needle)
{
    return haystack && needle && strstr(haystack, needle) != NULL;
}

size_t pvt_count(const char *haystack, const char *needle)
{
    size_t n = 0;

    if (haystack == NULL || needle == NULL || *needle == '\0')
        return 0;
    while ((haystack = strstr(haystack, needle)) != NULL) {
        n++;
        haystack += strlen(needle);
    }
    return n;
}

char *pvt_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = calloc(1, (size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The number after `"key": ` at or after from, below limit (NULL: none). */
static double number_before(const char *from, const char *limit,
                            const char *key)
{
    char pattern[96];
    const char *p;
    char *stop;
    double v;

    if (from == NULL || key == NULL)
        return NAN;
    snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
    p = strstr(from, pattern);
    if (p == NULL || (limit != NULL && p > limit))
        return NAN;
    p += strlen(pattern);
    v = strtod(p, &stop);
    return stop == p ? NAN : v;
}

double pvt_number_after(const char *from, const char *key)
{
    return number_before(from, NULL, key);
}

double pvt_json_number(const char *obj, const char *key)
{
    const char *end = obj ? strchr(obj, '}') : NULL;

    return end ? number_before(obj, end, key) : NAN;
}
