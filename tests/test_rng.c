/*
 * test_rng.c - the library's private generator (lib/core/rng.c, compiled in):
 * streams are reproducible and independent of each other, and the normal
 * draws match the Python reimplementation the fixtures use and have the
 * standard normal's distribution: moments, the tail beyond
 * the ziggurat's base, and a chi-square over 100 equiprobable-ish bins.
 * Expected Grad-CAM's smoothing noise and the eval noise come from here.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "internal.h"

enum { STREAMS = 64, PER_STREAM = 1 << 16 }; /* 4M draws */

static double phi_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static void test_streams_reproducible(void **state)
{
    (void)state;
    egcam__rng a, b, c;
    egcam__rng_init(&a, 42, EGCAM__STREAM_SAMPLE, 7);
    egcam__rng_init(&b, 42, EGCAM__STREAM_SAMPLE, 7);
    egcam__rng_init(&c, 42, EGCAM__STREAM_SAMPLE, 8);
    int same_as_next = 0;
    for (int i = 0; i < 1000; i++) {
        double x = egcam__rng_normal(&a);
        assert_true(x == egcam__rng_normal(&b));
        same_as_next += x == egcam__rng_normal(&c);
    }
    assert_int_equal(same_as_next, 0);
    /* The purpose is part of the key too. */
    egcam__rng_init(&a, 42, EGCAM__STREAM_SAMPLE, 7);
    egcam__rng_init(&c, 42, EGCAM__STREAM_EVAL_NOISE, 7);
    assert_true(egcam__rng_next(&a) != egcam__rng_next(&c));
}

/* The first draws of two streams, as tests/fixtures/make_torch_fixtures.py
 * computes them in Python from the same table: the two implementations must
 * agree, since the LibTorch fixtures compare Expected Grad-CAM sample for
 * sample. Stream 351 holds a draw from the tail (3.49). Compared to 1e-12,
 * not bit for bit: the tail's logarithm may differ by an ulp across libms. */
static void test_normal_pinned(void **state)
{
    (void)state;
    static const struct {
        uint64_t index;
        double draws[8];
    } streams[] = {
        {0,
         {0x1.47c0ba618fca6p-1, 0x1.ea0da1d32d2cep-1, 0x1.063f9c0c8b2efp+0, 0x1.0be55f1587384p-1,
          0x1.7e325170a756dp+0, -0x1.961c0273c91c7p-2, 0x1.1c1532d526ea7p+0,
          -0x1.129863b04a7cbp+1}},
        {351,
         {0x1.25a53c1254b1ap-1, -0x1.7dd759e40f4ccp-2, 0x1.ded564f1a4ceap-2, 0x1.bf155d04a87ddp+1,
          -0x1.f8cdad2899ed4p-1, 0x1.04b6806a6ca6dp-1, 0x1.2c36a0b9ccfedp+1, 0x1.3b7ca8faa9751p-1}},
    };
    for (size_t s = 0; s < sizeof streams / sizeof streams[0]; s++) {
        egcam__rng r;
        egcam__rng_init(&r, 0x6567636d, EGCAM__STREAM_SAMPLE, streams[s].index);
        for (int i = 0; i < 8; i++) {
            double x = egcam__rng_normal(&r), want = streams[s].draws[i];
            if (fabs(x - want) > 1e-12 * fabs(want))
                fail_msg("stream %llu draw %d: %.17g, expected %.17g",
                         (unsigned long long)streams[s].index, i, x, want);
        }
    }
}

static void test_normal_distribution(void **state)
{
    (void)state;
    /* Bin edges: 100 bins between the quantiles at -4 and 4 sd, plus the
     * two outer bins. */
    enum { BINS = 102 };
    double edges[BINS - 1], expected[BINS];
    for (int k = 0; k < BINS - 1; k++)
        edges[k] = -4.0 + 8.0 * k / (BINS - 2);
    uint64_t count[BINS] = {0}, tail = 0;
    double sum = 0, sum2 = 0, sum3 = 0, sum4 = 0;
    const double n = (double)STREAMS * PER_STREAM;
    for (int s = 0; s < STREAMS; s++) {
        egcam__rng r;
        egcam__rng_init(&r, 0x6567636d, EGCAM__STREAM_SAMPLE, (uint64_t)s);
        for (int i = 0; i < PER_STREAM; i++) {
            double x = egcam__rng_normal(&r);
            assert_true(isfinite(x));
            sum += x, sum2 += x * x, sum3 += x * x * x, sum4 += x * x * x * x;
            tail += fabs(x) > 3.442619855899;
            int lo = 0, hi = BINS - 1; /* first edge above x */
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (mid < BINS - 1 && x >= edges[mid])
                    lo = mid + 1;
                else
                    hi = mid;
            }
            count[lo]++;
        }
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* Standard errors of the mean, variance, third and fourth moments of
     * N(0, 1): 1, sqrt(2), sqrt(15), sqrt(96) over sqrt(n). Allow 5. */
    assert_true(fabs(mean) < 5.0 / sqrt(n));
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / n));
    assert_true(fabs(sum3 / n) < 5.0 * sqrt(15.0 / n));
    assert_true(fabs(sum4 / n - 3.0) < 5.0 * sqrt(96.0 / n));
    /* The tail beyond the ziggurat's base has its own sampler: its mass must
     * be right (5.76e-4, about 2400 of 4M draws). */
    double p_tail = 2.0 * (1.0 - phi_cdf(3.442619855899));
    double sd_tail = sqrt(n * p_tail * (1.0 - p_tail));
    assert_true(fabs((double)tail - n * p_tail) < 5.0 * sd_tail);
    /* Chi-square over the bins; 101 degrees of freedom: mean 101, sd ~14.2.
     * The 1e-6 upper quantile is about 180. */
    for (int k = 0; k < BINS; k++) {
        double lo = k == 0 ? 0.0 : phi_cdf(edges[k - 1]);
        double hi = k == BINS - 1 ? 1.0 : phi_cdf(edges[k]);
        expected[k] = n * (hi - lo);
    }
    double chi2 = 0;
    for (int k = 0; k < BINS; k++)
        chi2 += ((double)count[k] - expected[k]) * ((double)count[k] - expected[k]) / expected[k];
    if (chi2 > 180.0)
        fail_msg("chi-square %.1f over %d bins: not a standard normal", chi2, BINS);
}

static void test_uniform_and_below(void **state)
{
    (void)state;
    egcam__rng r;
    egcam__rng_init(&r, 1, EGCAM__STREAM_REFERENCE, 0);
    uint64_t count[7] = {0};
    double sum = 0;
    enum { DRAWS = 700000 };
    for (int i = 0; i < DRAWS; i++) {
        double u = egcam__rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        uint32_t k = egcam__rng_below(&r, 7);
        assert_true(k < 7);
        count[k]++;
    }
    assert_true(fabs(sum / DRAWS - 0.5) < 5.0 * sqrt(1.0 / 12.0 / DRAWS));
    for (int k = 0; k < 7; k++) /* binomial sd of each count ~ 292 */
        assert_true(fabs((double)count[k] - DRAWS / 7.0) < 5.0 * sqrt(DRAWS / 7.0 * 6.0 / 7.0));
    assert_int_equal(egcam__rng_below(&r, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams_reproducible),
        cmocka_unit_test(test_normal_pinned),
        cmocka_unit_test(test_normal_distribution),
        cmocka_unit_test(test_uniform_and_below),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
