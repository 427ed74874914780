/*
 * The freestanding formatter (src/lib/fmt.h) against the host C library's
 * snprintf: every conversion of the subset, with each width and flag the
 * subset has, over edge values and a few thousand pseudo-random ones,
 * must give the same text and the same length. Only where the two are
 * documented to differ is nothing compared (%p of NULL: glibc's "(nil)").
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/fmt.h"
#include "runner/test.h"

/* Both formatters on one format and arguments; stops at the first
 * difference with the format shown. */
#define SAME(...)                                                              \
    do {                                                                       \
        char want_[512], got_[512];                                            \
        int want_n_ = snprintf(want_, sizeof(want_), __VA_ARGS__);             \
        size_t got_n_ = pvt_fmt_snprintf(got_, sizeof(got_), __VA_ARGS__);     \
        checked++;                                                             \
        if (want_n_ < 0 || (size_t)want_n_ != got_n_ ||                        \
            strcmp(want_, got_) != 0)                                          \
            pvt_test_printf("format %s\n", #__VA_ARGS__);                      \
        ASSERT_STR_EQ(got_, want_);                                            \
        ASSERT_UEQ(got_n_, (size_t)want_n_);                                   \
    } while (0)

static unsigned long checked;

/* xorshift64*: a reproducible spread of 64-bit values. */
static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* Every integer conversion, each width/flag form, on one value. */
static int integers(uint64_t v)
{
    int i = (int)(uint32_t)v;
    unsigned int u = (unsigned int)v;
    long l = (long)v;
    unsigned long ul = (unsigned long)v;
    long long ll = (long long)v;
    unsigned long long ull = (unsigned long long)v;
    size_t z = (size_t)v;
    ptrdiff_t zd = (ptrdiff_t)v;

    SAME("%d|%i|%u|%x|%X", i, i, u, u, u);
    SAME("[%12d][%-12d][%012d][%1d]", i, i, i, i);
    SAME("[%12u][%-12u][%012u]", u, u, u);
    SAME("[%10x][%-10x][%010x][%08X]", u, u, u, u);
    SAME("%ld|%lu|%lx|%lX", l, ul, ul, ul);
    SAME("[%24ld][%-24lu][%024lx]", l, ul, ul);
    SAME("%lld|%llu|%llx|%llX", ll, ull, ull, ull);
    SAME("[%25lld][%-25lld][%025lld][%020llu][%-18llx]", ll, ll, ll, ull, ull);
    SAME("%zu|%zd|%zx|[%-22zu][%022zd]", z, zd, z, z, zd);
    return 0;
}

/* %s %c %p %% and plain text. */
static int others(uint64_t v)
{
    static const char *const words[] = {"", "a", "pvtimer", "with space",
                                        "0123456789abcdefghij"};
    const char *w = words[v % 5];
    char c = (char)(' ' + v % 95);        /* printable: glibc and we agree */
    void *p = (void *)(uintptr_t)(v | 1); /* never NULL */

    SAME("%s|[%12s][%-12s][%2s]", w, w, w, w);
    SAME("%c|[%5c][%-5c]", c, c, c);
    SAME("%p|[%24p][%-24p]", p, p, p);
    SAME("100%%|%%%d%%|text only", (int)(v & 0xff));
    return 0;
}

TEST_IMPL(fmt_host_matches_snprintf)
{
    static const uint64_t edges[] = {
        0,
        1,
        9,
        10,
        0x7f,
        0x80,
        0xff,
        (uint64_t)INT32_MAX,
        (uint64_t)INT32_MIN,
        UINT32_MAX,
        (uint64_t)UINT32_MAX + 1,
        (uint64_t)INT64_MAX,
        (uint64_t)INT64_MIN,
        UINT64_MAX,
        UINT64_MAX - 1,
        999999999999ull,
        1000000000000ull,
        0x123456789abcdefull,
    };
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t k;

    checked = 0;
    for (k = 0; k < PVT_ARRAY_SIZE(edges); k++) {
        ASSERT_EQ(integers(edges[k]), 0);
        ASSERT_EQ(others(edges[k]), 0);
    }
    for (k = 0; k < 4000; k++) {
        uint64_t v = next(&seed);

        /* small magnitudes too, where padding shows */
        if (k % 3 == 1)
            v >>= 40 + v % 24;
        ASSERT_EQ(integers(v), 0);
        ASSERT_EQ(others(v), 0);
    }
    /* truncation: the first size - 1 characters of the host's full text,
     * and the full length */
    {
        char full[64], got[32];
        int n = snprintf(full, sizeof(full), "%s=%lld", "key",
                         (long long)INT64_MIN);

        for (k = 0; k < sizeof(got); k++) {
            ASSERT_UEQ(pvt_fmt_snprintf(k ? got : NULL, k, "%s=%lld", "key",
                                        (long long)INT64_MIN),
                       (size_t)n);
            if (k) {
                ASSERT_UEQ(strlen(got), k - 1 < (size_t)n ? k - 1 : (size_t)n);
                ASSERT(strncmp(got, full, k - 1) == 0);
            }
        }
    }
    ASSERT_UGT(checked, 50000);
    RETURN_OK();
}
