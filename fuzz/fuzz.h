/*
 * What every fuzz target here shares: reading typed values off the input
 * (past its end, zeros), and FUZZ_CHECK, which reports a broken promise
 * and aborts, so that libFuzzer keeps the input as a finding.
 *
 * The targets are hosted test code: they may use libc and the compiler's
 * 128-bit type for their reference computations (the core may not).
 */
#ifndef PVTIMER_FUZZ_H
#define PVTIMER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: broken promise: %s: ", __FILE__, __LINE__, \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline size_t fuzz_left(const struct fuzz_in *in)
{
    return in->n;
}

static inline void fuzz_bytes(struct fuzz_in *in, void *dst, size_t len)
{
    size_t k = len < in->n ? len : in->n;

    memcpy(dst, in->p, k);
    memset((uint8_t *)dst + k, 0, len - k);
    in->p += k;
    in->n -= k;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    uint8_t v;
    fuzz_bytes(in, &v, sizeof(v));
    return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
    uint16_t v;
    fuzz_bytes(in, &v, sizeof(v));
    return v;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
    uint32_t v;
    fuzz_bytes(in, &v, sizeof(v));
    return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
    uint64_t v;
    fuzz_bytes(in, &v, sizeof(v));
    return v;
}

/* A value spread over magnitudes: 0..2^bits - 1 for bits from the input
 * (so that small and huge values are both common). */
static inline uint64_t fuzz_mag(struct fuzz_in *in)
{
    unsigned int bits = fuzz_u8(in) % 65;
    uint64_t v = fuzz_u64(in);

    return bits == 64 ? v : v & ((1ull << bits) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* PVTIMER_FUZZ_H */
