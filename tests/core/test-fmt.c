/*
 * The freestanding formatter (src/lib/fmt.h), checked against literal
 * expectations: every conversion at the ends of its type's range, widths,
 * flags, truncation, unknown conversions, and the stream's chunking. It
 * also runs inside the guest. tests/host/test-fmt-host.c compares it with
 * the host's snprintf.
 */
#include "lib/fmt.h"
#include "runner/test.h"

/*
 * Formats with pvt_fmt_snprintf into a roomy buffer and checks both the
 * text and the returned length against the literal `expect`.
 */
#define CHECK_FORMAT(expect, ...)                                              \
    do {                                                                       \
        char got[128];                                                         \
        size_t got_len = pvt_fmt_snprintf(got, sizeof(got), __VA_ARGS__);      \
        ASSERT_STR_EQ(got, expect);                                            \
        ASSERT_UEQ(got_len, sizeof(expect) - 1);                               \
    } while (0)

/* %d %i %ld %lld %zd, including both ends of every width. */
TEST_IMPL(fmt_snprintf_signed)
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
TEST_IMPL(fmt_snprintf_unsigned)
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
TEST_IMPL(fmt_snprintf_strings)
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
TEST_IMPL(fmt_snprintf_pointer)
{
    int object;
    char text[64];
    char want[64];

    CHECK_FORMAT("0x0", "%p", (void *)NULL);
    CHECK_FORMAT("0xdeadbeef", "%p", (void *)(uintptr_t)0xdeadbeefu);
    CHECK_FORMAT("0xffffffffffffffff", "%p", (void *)UINTPTR_MAX);
    /* a real pointer prints as its integer value does */
    pvt_fmt_snprintf(text, sizeof(text), "%p", (void *)&object);
    pvt_fmt_snprintf(want, sizeof(want), "0x%llx",
                     (unsigned long long)(uintptr_t)&object);
    ASSERT_STR_EQ(text, want);
    RETURN_OK();
}

/* Output is cut to size - 1 plus a NUL; the return is the full length. */
TEST_IMPL(fmt_snprintf_truncation)
{
    char buf[8];
    size_t i;

    ASSERT_UEQ(pvt_fmt_snprintf(NULL, 0, "%s", "hello"), 5);
    ASSERT_UEQ(pvt_fmt_snprintf(NULL, 0, "%lld", (long long)INT64_MIN), 20);

    for (i = 0; i < sizeof(buf); i++)
        buf[i] = '#';
    ASSERT_UEQ(pvt_fmt_snprintf(buf, 1, "%s", "hello"), 5);
    ASSERT_STR_EQ(buf, "");
    ASSERT_EQ(buf[1], '#');

    ASSERT_UEQ(pvt_fmt_snprintf(buf, 5, "hello %s", "world"), 11);
    ASSERT_STR_EQ(buf, "hell");
    ASSERT_EQ(buf[5], '#');

    /* exactly fitting: size == length + 1 */
    ASSERT_UEQ(pvt_fmt_snprintf(buf, sizeof(buf), "%07d", 42), 7);
    ASSERT_STR_EQ(buf, "0000042");

    /* one short: the last character is cut, the count is not */
    ASSERT_UEQ(pvt_fmt_snprintf(buf, sizeof(buf), "%08x", 0xabcu), 8);
    ASSERT_STR_EQ(buf, "00000ab");
    RETURN_OK();
}

/*
 * Unknown conversions print "?" and consume no argument; a trailing lone
 * '%' prints "?" too. Called through a pointer, which drops the format
 * attribute, because -Wformat rightly rejects these formats at compile time.
 */
TEST_IMPL(fmt_snprintf_unknown)
{
    size_t (*fmt)(char *, size_t, const char *, ...) = pvt_fmt_snprintf;
    char got[32];

    ASSERT_UEQ(fmt(got, sizeof(got), "a%qb%d", 7), 4);
    ASSERT_STR_EQ(got, "a?b7");
    ASSERT_UEQ(fmt(got, sizeof(got), "50%"), 3);
    ASSERT_STR_EQ(got, "50?");
    ASSERT_UEQ(fmt(got, sizeof(got), "%f|%d", 3), 3);
    ASSERT_STR_EQ(got, "?|3");
    RETURN_OK();
}

/* A stream sink's writes, gathered. */
struct gather {
    char text[1024];
    size_t len;
    unsigned int writes;
    size_t largest;
};

static void gather_write(void *ctx, const char *buf, size_t len)
{
    struct gather *g = ctx;
    size_t i;

    g->writes++;
    if (len > g->largest)
        g->largest = len;
    for (i = 0; i < len && g->len < sizeof(g->text) - 1; i++)
        g->text[g->len++] = buf[i];
    g->text[g->len] = '\0';
}

static size_t gather_print(struct gather *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t gather_print(struct gather *g, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    g->len = 0;
    g->writes = 0;
    g->largest = 0;
    g->text[0] = '\0';
    va_start(ap, fmt);
    n = pvt_fmt_vprint(gather_write, g, fmt, ap);
    va_end(ap);
    return n;
}

/*
 * pvt_fmt_vprint writes in chunks of at most PVT_FMT_CHUNK bytes, one per
 * full buffer and one for the rest, never an empty one; the pieces add up
 * to what pvt_fmt_snprintf makes of the same format.
 */
TEST_IMPL(fmt_print_chunks)
{
    static struct gather g;
    char want[1024];
    size_t n;

    ASSERT_UEQ(gather_print(&g, "%s", ""), 0);
    ASSERT_UEQ(g.writes, 0);

    n = gather_print(&g, "%d apples", 12);
    ASSERT_UEQ(n, 9);
    ASSERT_UEQ(g.writes, 1);
    ASSERT_STR_EQ(g.text, "12 apples");

    /* exactly one chunk, then well over two */
    n = gather_print(&g, "%128s", "x");
    ASSERT_UEQ(n, PVT_FMT_CHUNK);
    ASSERT_UEQ(g.writes, 1);
    n = gather_print(&g, "%129s|%-200d|%llx", "x", -5,
                     (unsigned long long)UINT64_MAX);
    ASSERT_UEQ(n, 129 + 1 + 200 + 1 + 16);
    ASSERT_UEQ(g.writes, (n + PVT_FMT_CHUNK - 1) / PVT_FMT_CHUNK);
    ASSERT_UEQ(g.largest, PVT_FMT_CHUNK);
    ASSERT_UEQ(pvt_fmt_snprintf(want, sizeof(want), "%129s|%-200d|%llx", "x",
                                -5, (unsigned long long)UINT64_MAX),
               n);
    ASSERT_STR_EQ(g.text, want);
    RETURN_OK();
}

/* A string sink counts what it drops; puts(NULL) prints nothing; widths
 * are clamped to PVT_FMT_WIDTH_MAX. */
TEST_IMPL(fmt_sink_and_limits)
{
    char buf[4];
    struct pvt_fmt_sink s;

    pvt_fmt_sink_init(&s, buf, sizeof(buf), NULL, NULL);
    pvt_fmt_puts(&s, "abcdef");
    pvt_fmt_puts(&s, NULL);
    pvt_fmt_putc(&s, 'g');
    pvt_fmt_flush(&s); /* a string sink: nothing to write */
    ASSERT_UEQ(s.total, 7);
    ASSERT_UEQ(s.pos, 4);
    ASSERT_EQ(buf[3], 'd');

    pvt_fmt_sink_init(&s, NULL, 10, NULL, NULL); /* no buffer: count only */
    pvt_fmt_puts(&s, "xyz");
    ASSERT_UEQ(s.total, 3);
    ASSERT_UEQ(s.pos, 0);

    ASSERT_UEQ(pvt_fmt_snprintf(NULL, 0, "%99999999d", 1), PVT_FMT_WIDTH_MAX);
    ASSERT_UEQ(pvt_fmt_snprintf(NULL, 0, "%-300s|", "a"),
               PVT_FMT_WIDTH_MAX + 1);
    RETURN_OK();
}
