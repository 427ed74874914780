/*
 * The guest's selftest: the core's freestanding tests (tests/runner/list.h)
 * run by the guest, with the test harness's two platform hooks. The only
 * guest source that includes the harness.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "runner/list.h"
#include "runner/test.h"

/* ---- the harness's platform hooks (contracts in test.h) ---- */

/* Where pvt_test_platform_fail unwinds to: the running test's frame in
 * run_one. __builtin_setjmp's buffer is five words. */
static void *fail_jmp[5];

/* Contract in test.h: writes to the console. */
void pvt_test_platform_write(const char *buf, size_t len)
{
    pvt_guest_console_write(buf, len);
}

/* Contract in test.h: unwinds to the runner loop. */
_Noreturn void pvt_test_platform_fail(void)
{
    __builtin_longjmp(fail_jmp, 1);
}

/* Runs one test; a failed assert comes back here through fail_jmp. */
static __attribute__((noinline)) int run_one(const struct pvt_test_entry *t)
{
    if (__builtin_setjmp(fail_jmp) != 0)
        return PVT_TEST_FAIL;
    return t->fn();
}

/* Does name contain the len bytes at pat? */
static int contains(const char *name, const char *pat, size_t len)
{
    size_t i, j;

    for (i = 0; name[i]; i++) {
        for (j = 0; j < len && name[i + j] == pat[j]; j++)
            continue;
        if (j == len)
            return 1;
    }
    return len == 0;
}

/*
 * Is the test selected by the space-separated patterns? A pattern selects
 * the tests whose name contains it, "-pattern" drops them again; with no
 * selecting pattern every test not dropped is selected.
 */
static int selected(const char *name, const char *patterns)
{
    const char *p = patterns;
    int any = 0;
    int hit = 0;

    while (*p) {
        size_t len = 0;
        int drop;

        while (*p == ' ')
            p++;
        drop = *p == '-';
        p += drop;
        while (p[len] && p[len] != ' ')
            len++;
        if (len == 0)
            break;
        if (drop && contains(name, p, len))
            return 0;
        if (!drop) {
            any = 1;
            hit |= contains(name, p, len);
        }
        p += len;
    }
    return any ? hit : 1;
}

static int selftest(const char *patterns)
{
    size_t i, n = 0, k = 0;
    size_t passed = 0, failed = 0, skipped = 0;

    for (i = 0; i < pvt_core_tests_count; i++)
        n += (size_t)selected(pvt_core_tests[i].name, patterns);
    pvt_guest_printf("1..%zu\n", n);
    for (i = 0; i < pvt_core_tests_count; i++) {
        const struct pvt_test_entry *t = &pvt_core_tests[i];
        int rc;

        if (!selected(t->name, patterns))
            continue;
        k++;
        rc = run_one(t);

        if (rc == PVT_TEST_OK) {
            passed++;
            pvt_guest_printf("ok %zu - %s\n", k, t->name);
        } else if (rc == PVT_TEST_SKIP) {
            skipped++;
            pvt_guest_printf("ok %zu - %s # SKIP\n", k, t->name);
        } else {
            failed++;
            pvt_guest_printf("not ok %zu - %s\n", k, t->name);
        }
    }
    pvt_guest_printf("%zu passed, %zu failed, %zu skipped\n", passed, failed,
                     skipped);
    return failed ? 1 : 0;
}

/* Contract in guest.h. */
_Noreturn void pvt_guest_selftest(void *patterns)
{
    pvt_guest_exit(selftest(patterns));
}
