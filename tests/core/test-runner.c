/*
 * Tests of the freestanding harness itself: the printf subset and the
 * string compare the asserts rely on, and every assert macro on inputs that
 * hold. (That failing asserts report both sides is checked on the host, by
 * tests/host/test-runner-host.c, since a failure ends the test.)
 */
#include "runner/test.h"

/*
 * Formats with pvt_test_snprintf into a roomy buffer and checks both the
 * text and the returned length against the literal `expect`.
 */
#define CHECK_FORMAT(expect, ...)                                              \
    do {                                                                       \
        char got[128];                                                         \
        size_t got_len = pvt_test_snprintf(got, sizeof(got), __VA_ARGS__);     \
        ASSERT_STR_EQ(got, expect);                                            \
        ASSERT_UEQ(got_len, sizeof(expect) - 1);                               \
    } while (0)

/* %d %i %ld %lld %zd, including both ends of every width. */
TEST_IMPL(runner_snprintf_signed)
{
    CHECK_FORMAT("0", "%d", 0);
    CHECK_FORMAT("42 -42", "%d %i", 42, -42);
    CHECK_FORMAT("2147483647", "%d", INT32_MAX);
    CHECK_FORMAT("-2147483648", "%d", INT32_MIN);
    CHECK_FORMAT("-9223372036854775808", "%lld", (long long)INT64_MIN);
    CHECK_FORMAT("9223372036854775807", "%lld", (long long)INT64_MAX);
    CHECK_FORMAT("-9223372036854775808", "%ld", (long)INT64_MIN);
    CHECK_FORMAT("-7", "%zd", (ptrdiff_t)-7);
    /* width, zero padding after the sign, left alignment */
    CHECK_FORMAT("[   42]", "[%5d]", 42);
    CHECK_FORMAT("[-0042]", "[%05d]", -42);
    CHECK_FORMAT("[42   ]", "[%-5d]", 42);
    CHECK_FORMAT("[12345]", "[%3d]", 12345);
    RETURN_OK();
}

/* %u %x %X %llu %zu, widths and zero padding. */
TEST_IMPL(runner_snprintf_unsigned)
{
    CHECK_FORMAT("0 0", "%u %x", 0u, 0u);
    CHECK_FORMAT("4294967295", "%u", UINT32_MAX);
    CHECK_FORMAT("18446744073709551615", "%llu",
                 (unsigned long long)UINT64_MAX);
    CHECK_FORMAT("ffffffffffffffff", "%llx", (unsigned long long)UINT64_MAX);
    CHECK_FORMAT("8000000000000000", "%lx", (unsigned long)1 << 63);
    CHECK_FORMAT("deadbeef DEADBEEF", "%x %X", 0xdeadbeefu, 0xdeadbeefu);
    CHECK_FORMAT("000000ff", "%08x", 0xffu);
    CHECK_FORMAT("    abc", "%7x", 0xabcu);
    CHECK_FORMAT("12345", "%zu", (size_t)12345);
    CHECK_FORMAT("100%", "%u%%", 100u);
    RETURN_OK();
}

/* %s (NULL as "(null)"), %c and field widths on both. */
TEST_IMPL(runner_snprintf_strings)
{
    /* volatile: GCC knows printf's %s must not be NULL and says so */
    const char *volatile none = NULL;

    CHECK_FORMAT("hello, world", "%s, %s", "hello", "world");
    CHECK_FORMAT("(null)", "%s", none);
    CHECK_FORMAT("", "%s", "");
    CHECK_FORMAT("[  abc]", "[%5s]", "abc");
    CHECK_FORMAT("[abc  ]", "[%-5s]", "abc");
    CHECK_FORMAT("[abcdef]", "[%3s]", "abcdef");
    CHECK_FORMAT("x=y", "%c=%c", 'x', 'y');
    CHECK_FORMAT("[  z]", "[%3c]", 'z');
    CHECK_FORMAT("no conversions", "no conversions");
    RETURN_OK();
}

/* %p is 0x plus lower case hex, NULL included. */
TEST_IMPL(runner_snprintf_pointer)
{
    int object;
    char text[64];
    char want[64];

    CHECK_FORMAT("0x0", "%p", (void *)NULL);
    CHECK_FORMAT("0xdeadbeef", "%p", (void *)(uintptr_t)0xdeadbeefu);
    CHECK_FORMAT("0xffffffffffffffff", "%p", (void *)UINTPTR_MAX);
    /* a real pointer prints as its integer value does */
    pvt_test_snprintf(text, sizeof(text), "%p", (void *)&object);
    pvt_test_snprintf(want, sizeof(want), "0x%llx",
                      (unsigned long long)(uintptr_t)&object);
    ASSERT_STR_EQ(text, want);
    RETURN_OK();
}

/* Output is cut to size - 1 plus a NUL; the return is the full length. */
TEST_IMPL(runner_snprintf_truncation)
{
    char buf[8];
    size_t i;

    ASSERT_UEQ(pvt_test_snprintf(NULL, 0, "%s", "hello"), 5);
    ASSERT_UEQ(pvt_test_snprintf(NULL, 0, "%lld", (long long)INT64_MIN), 20);

    for (i = 0; i < sizeof(buf); i++)
        buf[i] = '#';
    ASSERT_UEQ(pvt_test_snprintf(buf, 1, "%s", "hello"), 5);
    ASSERT_STR_EQ(buf, "");
    ASSERT_EQ(buf[1], '#');

    ASSERT_UEQ(pvt_test_snprintf(buf, 5, "hello %s", "world"), 11);
    ASSERT_STR_EQ(buf, "hell");
    ASSERT_EQ(buf[5], '#');

    /* exactly fitting: size == length + 1 */
    ASSERT_UEQ(pvt_test_snprintf(buf, sizeof(buf), "%07d", 42), 7);
    ASSERT_STR_EQ(buf, "0000042");

    /* one short: the last character is cut, the count is not */
    ASSERT_UEQ(pvt_test_snprintf(buf, sizeof(buf), "%08x", 0xabcu), 8);
    ASSERT_STR_EQ(buf, "00000ab");
    RETURN_OK();
}

/*
 * Unknown conversions print "?" and consume no argument; a trailing lone
 * '%' prints "?" too. Called through a pointer, which drops the format
 * attribute, because -Wformat rightly rejects these formats at compile time.
 */
TEST_IMPL(runner_snprintf_unknown)
{
    size_t (*fmt)(char *, size_t, const char *, ...) = pvt_test_snprintf;
    char got[32];

    ASSERT_UEQ(fmt(got, sizeof(got), "a%qb%d", 7), 4);
    ASSERT_STR_EQ(got, "a?b7");
    ASSERT_UEQ(fmt(got, sizeof(got), "50%"), 3);
    ASSERT_STR_EQ(got, "50?");
    ASSERT_UEQ(fmt(got, sizeof(got), "%f|%d", 3), 3);
    ASSERT_STR_EQ(got, "?|3");
    RETURN_OK();
}

/* pvt_test__strcmp: sign of the first difference as unsigned char; NULL
 * sorts before every string, including "". */
TEST_IMPL(runner_strcmp)
{
    ASSERT_EQ(pvt_test__strcmp("abc", "abc"), 0);
    ASSERT_EQ(pvt_test__strcmp("", ""), 0);
    ASSERT_EQ(pvt_test__strcmp("abc", "abd"), -1);
    ASSERT_EQ(pvt_test__strcmp("abd", "abc"), 1);
    ASSERT_EQ(pvt_test__strcmp("ab", "abc"), -1);
    ASSERT_EQ(pvt_test__strcmp("abc", "ab"), 1);
    ASSERT_EQ(pvt_test__strcmp("\x80", "a"), 1);
    ASSERT_EQ(pvt_test__strcmp("a", "\xff"), -1);
    ASSERT_EQ(pvt_test__strcmp(NULL, NULL), 0);
    ASSERT_EQ(pvt_test__strcmp(NULL, ""), -1);
    ASSERT_EQ(pvt_test__strcmp("", NULL), 1);
    RETURN_OK();
}

static int calls;

static int64_t count_call(int64_t v)
{
    calls++;
    return v;
}

/* Every assert macro on inputs that hold, each operand evaluated once. */
TEST_IMPL(runner_asserts_pass)
{
    int object = 0;
    const char *str = "pvtimer";
    const char *none = NULL;

    ASSERT(1 + 1 == 2);
    ASSERT_TRUE(str != NULL);
    ASSERT_FALSE(str == NULL);

    ASSERT_EQ(-1, -1);
    ASSERT_NE(INT64_MIN, INT64_MAX);
    ASSERT_LT(INT64_MIN, 0);
    ASSERT_LE(0, 0);
    ASSERT_GT(0, -1);
    ASSERT_GE(INT64_MAX, INT64_MAX);

    /* unsigned: no sign extension surprises at the top of the range */
    ASSERT_UEQ(UINT64_MAX, UINT64_MAX);
    ASSERT_UNE(UINT64_MAX, 0);
    ASSERT_ULT(0, UINT64_MAX);
    ASSERT_ULE(1, 1);
    ASSERT_UGT((uint64_t)1 << 63, INT64_MAX);
    ASSERT_UGE(UINT64_MAX, 0);

    ASSERT_PTR_EQ(&object, &object);
    ASSERT_PTR_NE(&object, str);
    ASSERT_NULL(none);
    ASSERT_NOT_NULL(str);

    ASSERT_STR_EQ(str, "pvtimer");
    ASSERT_STR_EQ(none, NULL);

    ASSERT_OK(0);
    ASSERT_ERR(-PVT_EINVAL, PVT_EINVAL);

    ASSERT_NEAR(100, 105, 5);
    ASSERT_NEAR(105, 100, 5);
    ASSERT_NEAR(-3, 3, 6);
    /* the largest distance that can hold; larger ones are checked to fail
     * by the fixture_fail_near run in tests/host/test-runner-host.c */
    ASSERT_NEAR(INT64_MIN, -1, INT64_MAX);
    ASSERT_NEAR(INT64_MAX, INT64_MAX, 0);

    calls = 0;
    ASSERT_EQ(count_call(3), count_call(3));
    ASSERT_UEQ(count_call(4), 4);
    ASSERT_NEAR(count_call(10), count_call(11), count_call(1));
    ASSERT_EQ(calls, 6);
    RETURN_OK();
}
