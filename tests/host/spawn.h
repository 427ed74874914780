/*
 * Run a program and capture what it prints, and read what it printed or
 * wrote (host tests only).
 */
#ifndef PVTIMER_TESTS_SPAWN_H
#define PVTIMER_TESTS_SPAWN_H

#include <stddef.h>

struct pvt_spawn_result {
    int status; /* exit status, or 128 + signal number */
    char *out;  /* stdout, NUL-terminated (malloc'd) */
    size_t out_len;
    char *err; /* stderr, NUL-terminated (malloc'd) */
    size_t err_len;
    long elapsed_ms;
};

/*
 * Run `path` with argv (argv[0] included, NULL-terminated) and, when env is
 * not NULL, the extra NAME, VALUE pairs of env (NULL-terminated) set; the
 * names in `unset` (NULL-terminated, may be NULL) are removed from the
 * child's environment. Reads both pipes to the end, waits for the child.
 * Returns 0, or -1 when the program could not be started (r->status 127).
 * Free with pvt_spawn_free().
 */
int pvt_spawn(const char *path, const char *const argv[],
              const char *const env[], const char *const unset[],
              struct pvt_spawn_result *r);

void pvt_spawn_free(struct pvt_spawn_result *r);

/*
 * Run the pvtimer tool with the given arguments, asserting that it could
 * be started (the build defines PVT_TOOL_PATH for the test binary).
 */
#define PVT_TOOL(r, ...)                                                       \
    ASSERT_OK(pvt_spawn(PVT_TOOL_PATH,                                         \
                        (const char *const[]){"pvtimer", __VA_ARGS__, NULL},   \
                        NULL, NULL, r))

/* Does haystack contain needle? (NULL haystack: no) */
int pvt_contains(const char *haystack, const char *needle);

/* How many times needle stands in haystack, not overlapping (NULL: 0). */
size_t pvt_count(const char *haystack, const char *needle);

/* The whole file at path, NUL-terminated (malloc'd), or NULL. */
char *pvt_slurp(const char *path);

/* The number after the first `"key": ` from `from` on, or NAN when from is
 * NULL, the key absent or its value not a number. */
double pvt_number_after(const char *from, const char *key);

/* The same within the JSON object starting at obj (up to its first closing
 * brace: an object without nested ones). */
double pvt_json_number(const char *obj, const char *key);

#endif /* PVTIMER_TESTS_SPAWN_H */
