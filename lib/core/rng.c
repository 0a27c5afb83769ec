/*
 * rng.c - the library's own random numbers: xoshiro256** (Blackman and
 * Vigna), seeded through splitmix64. Each stream is keyed by (seed, purpose,
 * index), so sample n sees the same numbers whatever the batch size.
 */
#include <math.h>

#include "core.h"
#include "ziggurat_table.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void egcam__rng_init(egcam__rng *r, uint64_t seed, uint32_t purpose, uint64_t index)
{
    /* Mix the key into one 64-bit state, then expand it; splitmix64 never
     * yields an all-zero xoshiro state from distinct outputs. */
    uint64_t x = seed;
    uint64_t k = splitmix64(&x) ^ ((uint64_t)purpose << 56);
    x = k;
    k = splitmix64(&x) ^ index;
    x = k;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t egcam__rng_next(egcam__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double egcam__rng_uniform(egcam__rng *r) { return (double)(egcam__rng_next(r) >> 11) * 0x1.0p-53; }

uint32_t egcam__rng_below(egcam__rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection: exactly uniform. */
    uint64_t m = (egcam__rng_next(r) >> 32) * n;
    if ((uint32_t)m < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while ((uint32_t)m < threshold)
            m = (egcam__rng_next(r) >> 32) * n;
    }
    return (uint32_t)(m >> 32);
}

/* The tail beyond the ziggurat's base, |x| > EGCAM__ZIG_TAIL (Marsaglia,
 * 1964); 1 - u keeps the logarithms' arguments in (0, 1]. */
static double normal_tail(egcam__rng *r, int negative)
{
    double x, y;
    do {
        x = log(1.0 - egcam__rng_uniform(r)) / EGCAM__ZIG_TAIL;
        y = log(1.0 - egcam__rng_uniform(r));
    } while (-2.0 * y < x * x);
    return negative ? x - EGCAM__ZIG_TAIL : EGCAM__ZIG_TAIL - x;
}

double egcam__rng_normal(egcam__rng *r)
{
    /* Ziggurat: one 64-bit draw picks a block (its low 7 bits) and a point
     * in it (its high 53 bits, independent of the low ones). About 99% of
     * draws land inside a block's rectangle and cost a multiply; the rest
     * test the wedge or go to the tail. Expected Grad-CAM draws C*H*W of
     * these per sample, which is why this is not Box-Muller (a logarithm,
     * a square root and a sine per number). */
    for (;;) {
        uint64_t bits = egcam__rng_next(r);
        unsigned i = (unsigned)(bits & (EGCAM__ZIG_BLOCKS - 1));
        double u = 2.0 * ((double)(bits >> 11) * 0x1.0p-53) - 1.0; /* [-1, 1) */
        if (fabs(u) < zig_ratio[i])
            return u * zig_x[i];
        if (i == 0)
            return normal_tail(r, u < 0.0);
        double x = u * zig_x[i];
        double f0 = exp(-0.5 * (zig_x[i] * zig_x[i] - x * x));
        double f1 = exp(-0.5 * (zig_x[i + 1] * zig_x[i + 1] - x * x));
        if (f1 + egcam__rng_uniform(r) * (f0 - f1) < 1.0)
            return x;
    }
}
