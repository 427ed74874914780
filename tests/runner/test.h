/*
 * pvtimer's in-house test harness: typed asserts that print both sides,
 * and the declarations the test table needs.
 *
 * This header and runner/assert.c are freestanding (no libc): the core's
 * tests also run inside the KVM guest. A platform supplies the two hooks
 * below: the host runner (runner/runner-host.c) writes to stdout and exits
 * the test's own process; a guest writes to its console and unwinds.
 *
 * A test is `TEST_IMPL(name) { ...; RETURN_OK(); }`, listed in
 * tests/test-list.h. Asserts stop the test at the first failure.
 */
#ifndef PVTIMER_TEST_H
#define PVTIMER_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "pvtimer/base.h"

/* Test results: the value a test returns (and its process's exit status). */
#define PVT_TEST_OK   0
#define PVT_TEST_FAIL 1
#define PVT_TEST_SKIP 77

/* Test flags. */
#define PVT_TEST_CORE 0u        /* freestanding: may run in the guest too */
#define PVT_TEST_HOST (1u << 0) /* needs the host (threads, files, fork) */

struct pvt_test_entry {
    const char *name;
    int (*fn)(void);
    unsigned int flags;
    unsigned int timeout_ms; /* 0: the runner's default */
};

#define TEST_DECLARE(name) int run_test_##name(void);
/* Declares as well as defines, so -Wmissing-prototypes accepts a test file
 * that includes nothing but this header. */
#define TEST_IMPL(name) TEST_DECLARE(name) int run_test_##name(void)

/* ---- platform hooks, one implementation per platform ---- */

/* Write len bytes of test output. */
void pvt_test_platform_write(const char *buf, size_t len);
/* End the current test as failed; never returns. */
_Noreturn void pvt_test_platform_fail(void);

/* ---- output ---- */

/* printf through the platform's write, with the formatter's subset
 * (src/lib/fmt.h: %s %c %d %i %u %x %X %p %%, l / ll / z, '0', '-',
 * width). */
void pvt_test_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void pvt_test_vprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* ---- assert back-ends (call through the macros) ---- */

_Noreturn void pvt_test__fail(const char *file, int line, const char *expr);
_Noreturn void pvt_test__fail_int(const char *file, int line, const char *ea,
                                  const char *op, const char *eb, int64_t a,
                                  int64_t b);
_Noreturn void pvt_test__fail_uint(const char *file, int line, const char *ea,
                                   const char *op, const char *eb, uint64_t a,
                                   uint64_t b);
_Noreturn void pvt_test__fail_ptr(const char *file, int line, const char *ea,
                                  const char *op, const char *eb, const void *a,
                                  const void *b);
_Noreturn void pvt_test__fail_str(const char *file, int line, const char *ea,
                                  const char *op, const char *eb, const char *a,
                                  const char *b);
/* Prints "SKIP: reason" for the runner and returns PVT_TEST_SKIP. */
int pvt_test__skip(const char *reason);
/* strcmp without libc; NULL sorts first. */
int pvt_test__strcmp(const char *a, const char *b);

/*
 * Each operand is evaluated exactly once. The public macros pass the
 * operands' text (ta, tb) themselves: an argument is macro-expanded before
 * it reaches a nested macro, so stringizing here would print 22 instead of
 * PVT_EINVAL.
 */
#define PVT__ASSERT_CMP(kind, type, a, op, b, ta, tb)                          \
    do {                                                                       \
        type pvt__a = (type)(a);                                               \
        type pvt__b = (type)(b);                                               \
        if (!(pvt__a op pvt__b))                                               \
            pvt_test__fail_##kind(__FILE__, __LINE__, ta, #op, tb, pvt__a,     \
                                  pvt__b);                                     \
    } while (0)

#define PVT__ASSERT(cond, text)                                                \
    do {                                                                       \
        if (!(cond))                                                           \
            pvt_test__fail(__FILE__, __LINE__, text);                          \
    } while (0)

#define ASSERT(expr)       PVT__ASSERT(expr, #expr)
#define ASSERT_TRUE(expr)  PVT__ASSERT(expr, #expr)
#define ASSERT_FALSE(expr) PVT__ASSERT(!(expr), "!(" #expr ")")

/* Signed comparisons (operands converted to int64_t). */
#define ASSERT_EQ(a, b) PVT__ASSERT_CMP(int, int64_t, a, ==, b, #a, #b)
#define ASSERT_NE(a, b) PVT__ASSERT_CMP(int, int64_t, a, !=, b, #a, #b)
#define ASSERT_LT(a, b) PVT__ASSERT_CMP(int, int64_t, a, <, b, #a, #b)
#define ASSERT_LE(a, b) PVT__ASSERT_CMP(int, int64_t, a, <=, b, #a, #b)
#define ASSERT_GT(a, b) PVT__ASSERT_CMP(int, int64_t, a, >, b, #a, #b)
#define ASSERT_GE(a, b) PVT__ASSERT_CMP(int, int64_t, a, >=, b, #a, #b)

/* Unsigned comparisons (operands converted to uint64_t). */
#define ASSERT_UEQ(a, b) PVT__ASSERT_CMP(uint, uint64_t, a, ==, b, #a, #b)
#define ASSERT_UNE(a, b) PVT__ASSERT_CMP(uint, uint64_t, a, !=, b, #a, #b)
#define ASSERT_ULT(a, b) PVT__ASSERT_CMP(uint, uint64_t, a, <, b, #a, #b)
#define ASSERT_ULE(a, b) PVT__ASSERT_CMP(uint, uint64_t, a, <=, b, #a, #b)
#define ASSERT_UGT(a, b) PVT__ASSERT_CMP(uint, uint64_t, a, >, b, #a, #b)
#define ASSERT_UGE(a, b) PVT__ASSERT_CMP(uint, uint64_t, a, >=, b, #a, #b)

#define ASSERT_PTR_EQ(a, b) PVT__ASSERT_CMP(ptr, const void *, a, ==, b, #a, #b)
#define ASSERT_PTR_NE(a, b) PVT__ASSERT_CMP(ptr, const void *, a, !=, b, #a, #b)
#define ASSERT_NULL(a)                                                         \
    PVT__ASSERT_CMP(ptr, const void *, a, ==, NULL, #a, "NULL")
#define ASSERT_NOT_NULL(a)                                                     \
    PVT__ASSERT_CMP(ptr, const void *, a, !=, NULL, #a, "NULL")

#define ASSERT_STR_EQ(a, b)                                                    \
    do {                                                                       \
        const char *pvt__a = (a);                                              \
        const char *pvt__b = (b);                                              \
        if (pvt_test__strcmp(pvt__a, pvt__b) != 0)                             \
            pvt_test__fail_str(__FILE__, __LINE__, #a, "==", #b, pvt__a,       \
                               pvt__b);                                        \
    } while (0)

/* A call that returns 0 on success / -PVT_Exxx on failure. */
#define ASSERT_OK(expr) PVT__ASSERT_CMP(int, int64_t, expr, ==, 0, #expr, "0")
#define ASSERT_ERR(expr, code)                                                 \
    PVT__ASSERT_CMP(int, int64_t, expr, ==, -(code), #expr, "-" #code)

/*
 * |a - b| <= tol, all signed. The distance is taken in uint64_t, where it
 * cannot overflow (INT64_MAX - INT64_MIN fits); a negative tol never holds.
 */
#define ASSERT_NEAR(a, b, tol)                                                 \
    do {                                                                       \
        int64_t pvt__a = (int64_t)(a);                                         \
        int64_t pvt__b = (int64_t)(b);                                         \
        int64_t pvt__t = (int64_t)(tol);                                       \
        uint64_t pvt__d = pvt__a > pvt__b                                      \
                              ? (uint64_t)pvt__a - (uint64_t)pvt__b            \
                              : (uint64_t)pvt__b - (uint64_t)pvt__a;           \
        if (pvt__t < 0 || pvt__d > (uint64_t)pvt__t)                           \
            pvt_test__fail_int(__FILE__, __LINE__, #a, "~= (tol " #tol ")",    \
                               #b, pvt__a, pvt__b);                            \
    } while (0)

#define RETURN_OK()         return PVT_TEST_OK
#define RETURN_SKIP(reason) return pvt_test__skip(reason)

#endif /* PVTIMER_TEST_H */
