/*
 * test_threads.c - the contract of docs/threading.md, exercised: several
 * threads explain at once, each with its own context and its own backend
 * (the analytic model), while sharing what the contract says may be shared:
 *
 *   - the configs, and the target weights one of them borrows;
 *   - the input tensor and the reference inputs;
 *   - results, which every thread reads while the others explain;
 *   - a reference set, used by turns on its one backend (a mutex around
 *     egcam_explain, as the contract asks) and counted without the lock.
 *
 * Every result must be bit-identical to the one a single thread made first,
 * and every error message must stay in the context of the call that failed.
 * A backend used by a second thread while a first is inside a call on it
 * is refused (EGCAM_E_MISUSE), and the first call's result is unharmed.
 * The meson test 'threads_tsan' runs this program again built with
 * -fsanitize=thread, which reports any data race inside libegcam.
 *
 * cmocka's assertions jump out of the test function, so the worker threads
 * only record their first failure; the main thread asserts on them.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <egcam/egcam_eval.h>

#include "analytic_backend.h"

enum { C = 3, H = 16, W = 16, S = 2, K = 8, L = 10, IN = C * H * W, REFS = 6 };
enum { THREADS = 4, ROUNDS = 3 };
#define MODEL_SEED 4242u

/* ---- what every thread shares, read-only once the threads start ----------- */

enum {
    CFG_GRADCAM,
    CFG_GRADCAM_CLASS,
    CFG_INTEGRATED,
    CFG_INTEGRATED_BLUR,
    CFG_EXPECTED,
    CFG_EXPECTED_UNIFORM,
    CFG_EXPECTED_WEIGHTS,
    CFG_EXPECTED_CLEAN,
    CFG_COUNT
};
/* Configs whose explanations also run with the reference set. */
#define WITH_SET(i) ((i) == CFG_INTEGRATED || (i) == CFG_EXPECTED || (i) == CFG_EXPECTED_CLEAN)

static egcam_config configs[CFG_COUNT];
static float target_weights[L];
static float x[IN];
static egcam_tensor input;
static float ref_inputs[REFS * IN];
static egcam_tensor refs_tensor;     /* all REFS references */
static egcam_tensor baseline_tensor; /* the first one alone, for Integrated */

/* Results made by one thread before the others start: [cfg][0] with the
 * built-in references, [cfg][1] with the reference set. */
static egcam_result *expected[CFG_COUNT][2];

/* The reference set a mutex-guarded backend shares (test 2). */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static egcam_backend *shared_backend;
static egcam_refset *shared_set, *shared_baseline;

static pthread_barrier_t start_line;

/* ---- per thread ------------------------------------------------------------ */

typedef struct worker {
    int id;
    pthread_t thread; /* written by pthread_create */
    pthread_t self;   /* written by the thread itself */
    uint64_t progress_calls;
    int wrong_thread; /* the hook ran on another thread */
    unsigned explained, failed_on_purpose;
    char failure[512]; /* the first thing that went wrong */
} worker;

static void failf(worker *w, const char *fmt, ...)
{
    if (w->failure[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->failure, sizeof w->failure, fmt, ap);
    va_end(ap);
}

static int on_progress(void *user, uint64_t done, uint64_t total)
{
    worker *w = user;
    /* The hook runs on the thread that called, so only that thread ever
     * writes its worker. */
    w->progress_calls++;
    if (!pthread_equal(pthread_self(), w->self) || done > total || total == 0)
        w->wrong_thread = 1;
    return 0;
}

/* 0 when a and b are bit-identical in everything a getter gives. */
static int compare(const egcam_result *a, const egcam_result *b, char *why, size_t size)
{
    if (egcam_result_class(a) != egcam_result_class(b)) {
        snprintf(why, size, "class %d, not %d", egcam_result_class(a), egcam_result_class(b));
        return 1;
    }
    double la = egcam_result_logit(a), lb = egcam_result_logit(b);
    double ca = egcam_result_completeness(a), cb = egcam_result_completeness(b);
    if (memcmp(&la, &lb, sizeof la) || memcmp(&ca, &cb, sizeof ca)) {
        snprintf(why, size, "logit %.17g / completeness %.17g, not %.17g / %.17g", la, ca, lb, cb);
        return 1;
    }
    uint32_t na, nb;
    const float *wa = egcam_result_weights(a, &na), *wb = egcam_result_weights(b, &nb);
    if (na != nb || !wa || !wb || memcmp(wa, wb, na * sizeof *wa)) {
        snprintf(why, size, "channel weights differ");
        return 1;
    }
    static const uint32_t kinds[] = {EGCAM_MAP_LAYER, EGCAM_MAP_INPUT, EGCAM_MAP_NORMALIZED};
    for (size_t k = 0; k < 3; k++) {
        uint32_t ha, wda, hb, wdb;
        const float *ma = egcam_result_map(a, kinds[k], &ha, &wda);
        const float *mb = egcam_result_map(b, kinds[k], &hb, &wdb);
        if (!ma || !mb || ha != hb || wda != wdb || memcmp(ma, mb, (size_t)ha * wda * sizeof *ma)) {
            snprintf(why, size, "map %u differs", kinds[k]);
            return 1;
        }
    }
    return 0;
}

static const egcam_refset *set_for(int cfg, egcam_refset *set, egcam_refset *baseline)
{
    return cfg == CFG_INTEGRATED ? baseline : set;
}

/* Explain with cfg i (and the set, when given) and compare with want. */
static void check_one(worker *w, egcam_ctx *ctx, egcam_backend *be, int i, const egcam_refset *set,
                      const egcam_result *want)
{
    egcam_result *res = NULL;
    egcam_status st = egcam_explain(ctx, be, &configs[i], &input, set, &res);
    if (st != EGCAM_OK) {
        failf(w, "thread %d, config %d%s: %s: %s", w->id, i, set ? " with the set" : "",
              egcam_status_string(st), egcam_ctx_last_error(ctx));
        return;
    }
    char why[256];
    if (compare(res, want, why, sizeof why))
        failf(w, "thread %d, config %d%s: %s from the single-threaded result", w->id, i,
              set ? " with the set" : "", why);
    if (egcam_ctx_last_error(ctx)[0])
        failf(w, "thread %d: a success left the message \"%s\"", w->id, egcam_ctx_last_error(ctx));
    egcam_result_free(res);
    w->explained++;
}

/* A call that must fail, with a message naming this thread's class: another
 * thread's failure must never show up in this context. */
static void fail_on_purpose(worker *w, egcam_ctx *ctx, egcam_backend *be)
{
    egcam_config cfg = configs[CFG_GRADCAM];
    cfg.target_class = L + w->id;
    egcam_result *res = (egcam_result *)&cfg; /* junk: the call must reset it */
    egcam_status st = egcam_explain(ctx, be, &cfg, &input, NULL, &res);
    char want[64];
    snprintf(want, sizeof want, "target_class is %d;", L + w->id);
    if (st != EGCAM_E_CLASS_OUT_OF_RANGE || res != NULL)
        failf(w, "thread %d: class %d gave %s", w->id, L + w->id, egcam_status_string(st));
    else if (!strstr(egcam_ctx_last_error(ctx), want))
        failf(w, "thread %d: message \"%s\" does not say \"%s\"", w->id, egcam_ctx_last_error(ctx),
              want);
    w->failed_on_purpose++;
}

/* Read every shared result, as other threads do at the same moment. */
static void read_shared_results(worker *w)
{
    for (int i = 0; i < CFG_COUNT; i++)
        for (int s = 0; s < 2; s++) {
            const egcam_result *r = expected[i][s];
            if (!r)
                continue;
            uint32_t h, wd;
            const float *m = egcam_result_map(r, EGCAM_MAP_NORMALIZED, &h, &wd);
            float peak = 0.0f;
            for (size_t p = 0; m && p < (size_t)h * wd; p++)
                peak = m[p] > peak ? m[p] : peak;
            if (!m || h != H || wd != W || peak > 1.0f)
                failf(w, "thread %d: shared result %d/%d reads wrong", w->id, i, s);
        }
}

/* Test 1: own context, own backend, own reference sets. */
static void *separate_backends(void *arg)
{
    worker *w = arg;
    w->self = pthread_self();
    egcam_ctx *ctx = NULL;
    egcam_backend *be = NULL;
    egcam_refset *set = NULL, *baseline = NULL;
    if (egcam_ctx_new(&ctx) != EGCAM_OK ||
        egcam_ctx_set_progress(ctx, on_progress, w) != EGCAM_OK) {
        failf(w, "thread %d: no context", w->id);
        pthread_barrier_wait(&start_line);
        goto done;
    }
    analytic_model *m = analytic_new(C, H, W, S, K, L, MODEL_SEED);
    egcam_status st = m ? analytic_wrap(ctx, m, &be) : EGCAM_E_OUT_OF_MEMORY;
    pthread_barrier_wait(&start_line); /* everyone starts together */
    if (st != EGCAM_OK) {
        failf(w, "thread %d: no backend: %s", w->id, egcam_ctx_last_error(ctx));
        goto done;
    }
    /* Sets made concurrently from the same shared reference inputs. */
    if ((st = egcam_refset_new(ctx, be, &refs_tensor, 4, &set)) != EGCAM_OK ||
        (st = egcam_refset_new(ctx, be, &baseline_tensor, 0, &baseline)) != EGCAM_OK) {
        failf(w, "thread %d: refset: %s", w->id, egcam_ctx_last_error(ctx));
        goto done;
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < CFG_COUNT; k++) {
            int i = (k + w->id + round) % CFG_COUNT; /* threads out of step */
            check_one(w, ctx, be, i, NULL, expected[i][0]);
            if (WITH_SET(i))
                check_one(w, ctx, be, i, set_for(i, set, baseline), expected[i][1]);
        }
        fail_on_purpose(w, ctx, be);
        read_shared_results(w);
        if (egcam_status_string(EGCAM_E_MISUSE)[0] == '\0' || egcam_version_number() == 0)
            failf(w, "thread %d: status or version strings", w->id);
    }
done:
    egcam_refset_free(set); /* sets before their backend */
    egcam_refset_free(baseline);
    egcam_backend_free(be);
    egcam_ctx_free(ctx);
    return NULL;
}

/* Test 2: one backend and its sets shared, explained by turns. */
static void *shared_set_by_turns(void *arg)
{
    worker *w = arg;
    egcam_ctx *ctx = NULL;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        failf(w, "thread %d: no context", w->id);
    pthread_barrier_wait(&start_line);
    for (int round = 0; ctx && round < ROUNDS; round++) {
        for (int k = 0; k < CFG_COUNT; k++) {
            int i = (k + w->id) % CFG_COUNT;
            if (!WITH_SET(i))
                continue;
            /* Immutable: readable without the lock, by any thread. */
            if (egcam_refset_count(shared_set) != REFS || egcam_refset_count(shared_baseline) != 1)
                failf(w, "thread %d: the shared sets changed", w->id);
            pthread_mutex_lock(&shared_lock); /* one sequence per backend */
            check_one(w, ctx, shared_backend, i, set_for(i, shared_set, shared_baseline),
                      expected[i][1]);
            pthread_mutex_unlock(&shared_lock);
        }
        read_shared_results(w);
    }
    egcam_ctx_free(ctx);
    return NULL;
}

static void run_workers(void *(*body)(void *), worker *workers)
{
    assert_int_equal(pthread_barrier_init(&start_line, NULL, THREADS), 0);
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){.id = t};
        assert_int_equal(pthread_create(&workers[t].thread, NULL, body, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(workers[t].thread, NULL), 0);
    pthread_barrier_destroy(&start_line);
    for (int t = 0; t < THREADS; t++)
        if (workers[t].failure[0])
            fail_msg("%s", workers[t].failure);
}

static void test_separate_backends(void **state)
{
    (void)state;
    worker workers[THREADS];
    run_workers(separate_backends, workers);
    unsigned per_round = CFG_COUNT;
    for (int i = 0; i < CFG_COUNT; i++)
        per_round += WITH_SET(i) ? 1 : 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(workers[t].explained, ROUNDS * per_round);
        assert_int_equal(workers[t].failed_on_purpose, ROUNDS);
        assert_true(workers[t].progress_calls > 0);
        assert_false(workers[t].wrong_thread);
    }
}

static void test_shared_set_by_turns(void **state)
{
    (void)state;
    worker workers[THREADS];
    run_workers(shared_set_by_turns, workers);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(workers[t].explained, ROUNDS * 3);
}

/* ---- one backend, two threads at once: the second is refused -------------- */

/* The analytic model behind a gate: the worker thread's forwards wait at
 * the gate until the main thread opens it, so the main thread's calls meet
 * the backend while the worker is inside a call. (Without the refusal, the
 * main thread's calls would go through, and fail the test, not hang it.) */
typedef struct gate {
    analytic_model *model;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t worker;
    int armed, inside, open;
} gate;

static egcam_status gated_forward(void *self, const egcam_tensor *in, uint32_t flags,
                                  egcam_tensor *acts, egcam_tensor *logits, char *err,
                                  size_t err_size)
{
    gate *g = self;
    pthread_mutex_lock(&g->lock);
    if (g->armed && pthread_equal(pthread_self(), g->worker)) {
        g->inside = 1;
        pthread_cond_broadcast(&g->changed);
        while (!g->open)
            pthread_cond_wait(&g->changed, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return analytic_ops()->forward(g->model, in, flags, acts, logits, err, err_size);
}

static egcam_status gated_backward(void *self, const float *seed, egcam_tensor *grad, char *err,
                                   size_t err_size)
{
    gate *g = self;
    return analytic_ops()->backward(g->model, seed, grad, err, err_size);
}

typedef struct gated_call {
    egcam_backend *backend;
    int kind; /* 0: egcam_explain, 1: egcam_refset_new */
    egcam_status status;
    egcam_result *result;
} gated_call;

static void *call_through_gate(void *arg)
{
    gated_call *c = arg;
    egcam_ctx *ctx;
    if (egcam_ctx_new(&ctx) != EGCAM_OK) {
        c->status = EGCAM_E_OUT_OF_MEMORY;
        return NULL;
    }
    if (c->kind == 0) {
        c->status =
            egcam_explain(ctx, c->backend, &configs[CFG_EXPECTED], &input, NULL, &c->result);
    } else {
        egcam_refset *set = NULL;
        c->status = egcam_refset_new(ctx, c->backend, &refs_tensor, 2, &set);
        egcam_refset_free(set);
    }
    egcam_ctx_free(ctx);
    return NULL;
}

static void test_shared_backend_refused(void **state)
{
    (void)state;
    static const egcam_backend_ops gated_ops = {
        .abi_version = EGCAM_BACKEND_ABI_VERSION,
        .struct_size = sizeof(egcam_backend_ops),
        .name = "gated",
        .forward = gated_forward,
        .backward = gated_backward,
    };
    gate g = {.model = analytic_new(C, H, W, S, K, L, MODEL_SEED)};
    assert_non_null(g.model);
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.changed, NULL);
    egcam_ctx *ctx;
    egcam_backend *be;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_backend_new(ctx, &gated_ops, &g, &be), EGCAM_OK);

    for (int kind = 0; kind < 2; kind++) {
        gated_call call = {.backend = be, .kind = kind};
        pthread_t worker;
        pthread_mutex_lock(&g.lock);
        g.armed = 1, g.inside = 0, g.open = 0;
        assert_int_equal(pthread_create(&worker, NULL, call_through_gate, &call), 0);
        g.worker = worker;
        while (!g.inside)
            pthread_cond_wait(&g.changed, &g.lock);
        pthread_mutex_unlock(&g.lock);

        /* The worker is inside a forward: every entry point refuses. */
        egcam_result *res = (egcam_result *)&g;
        assert_int_equal(egcam_explain(ctx, be, &configs[CFG_GRADCAM], &input, NULL, &res),
                         EGCAM_E_MISUSE);
        assert_null(res);
        assert_non_null(strstr(egcam_ctx_last_error(ctx), "in use by another call"));
        egcam_refset *set = NULL;
        assert_int_equal(egcam_refset_new(ctx, be, &refs_tensor, 2, &set), EGCAM_E_MISUSE);
        assert_null(set);
        egcam_tensor acts, logits, grad;
        egcam_tensor batch = {x, {1, C, H, W}, 4, 0};
        assert_int_equal(egcam_backend_forward(NULL, be, &batch, 0, &acts, &logits),
                         EGCAM_E_MISUSE);
        assert_int_equal(egcam_backend_backward(ctx, be, x, &grad), EGCAM_E_MISUSE);
        float map[H * W] = {0};
        double drop;
        int increase;
        assert_int_equal(egcam_eval_confidence(ctx, be, &input, map, 0, &drop, &increase),
                         EGCAM_E_MISUSE);

        pthread_mutex_lock(&g.lock);
        g.armed = 0;
        g.open = 1;
        pthread_cond_broadcast(&g.changed);
        pthread_mutex_unlock(&g.lock);
        assert_int_equal(pthread_join(worker, NULL), 0);
        assert_int_equal(call.status, EGCAM_OK);
        if (kind == 0) { /* the first caller's result is what one thread makes */
            char why[256];
            if (compare(call.result, expected[CFG_EXPECTED][0], why, sizeof why))
                fail_msg("the worker's result changed: %s", why);
            egcam_result_free(call.result);
        }
        /* Idle again: the backend serves the next caller. */
        assert_int_equal(egcam_explain(ctx, be, &configs[CFG_GRADCAM], &input, NULL, &res),
                         EGCAM_OK);
        egcam_result_free(res);
    }
    egcam_backend_free(be);
    analytic_free(g.model);
    egcam_ctx_free(ctx);
    pthread_cond_destroy(&g.changed);
    pthread_mutex_destroy(&g.lock);
}

/* ---- the single-threaded run and the shared objects ------------------------ */

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < CFG_COUNT; i++) {
        egcam_config *c = &configs[i];
        if (egcam_config_init(c) != EGCAM_OK)
            return -1;
        c->steps = 12;
        c->samples = 24;
        c->batch_size = 5; /* batches that do not divide N or M */
    }
    configs[CFG_GRADCAM].method = EGCAM_METHOD_GRADCAM;
    configs[CFG_GRADCAM_CLASS].method = EGCAM_METHOD_GRADCAM;
    configs[CFG_GRADCAM_CLASS].target_class = 3;
    configs[CFG_INTEGRATED].method = EGCAM_METHOD_INTEGRATED;
    configs[CFG_INTEGRATED_BLUR].method = EGCAM_METHOD_INTEGRATED;
    configs[CFG_INTEGRATED_BLUR].references = EGCAM_REFERENCES_BLUR;
    configs[CFG_INTEGRATED_BLUR].rule = EGCAM_RULE_TRAPEZOID;
    configs[CFG_EXPECTED].method = EGCAM_METHOD_EXPECTED;
    configs[CFG_EXPECTED_UNIFORM].method = EGCAM_METHOD_EXPECTED;
    configs[CFG_EXPECTED_UNIFORM].references = EGCAM_REFERENCES_UNIFORM;
    configs[CFG_EXPECTED_UNIFORM].reference_count = 4;
    configs[CFG_EXPECTED_WEIGHTS].method = EGCAM_METHOD_EXPECTED;
    configs[CFG_EXPECTED_WEIGHTS].target_weights = target_weights;
    configs[CFG_EXPECTED_WEIGHTS].target_weights_count = L;
    configs[CFG_EXPECTED_WEIGHTS].seed = 99;
    configs[CFG_EXPECTED_CLEAN].method = EGCAM_METHOD_EXPECTED;
    configs[CFG_EXPECTED_CLEAN].flags = EGCAM_FLAG_CLEAN_DIFFERENCE;
    for (int j = 0; j < L; j++)
        target_weights[j] = j == 1 ? 1.0f : j == 2 ? -1.0f : 0.0f;

    analytic_fill_uniform(x, IN, 7, -1.0f, 1.0f);
    input = (egcam_tensor){x, {C, H, W}, 3, 0};
    analytic_fill_uniform(ref_inputs, REFS * IN, 8, -1.0f, 1.0f);
    refs_tensor = (egcam_tensor){ref_inputs, {REFS, C, H, W}, 4, 0};
    baseline_tensor = (egcam_tensor){ref_inputs, {1, C, H, W}, 4, 0};

    /* The single-threaded results, on a backend of the same model. */
    egcam_ctx *ctx;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return -1;
    analytic_model *m = analytic_new(C, H, W, S, K, L, MODEL_SEED);
    int ok =
        m && analytic_wrap(ctx, m, &shared_backend) == EGCAM_OK &&
        egcam_refset_new(ctx, shared_backend, &refs_tensor, 0, &shared_set) == EGCAM_OK &&
        egcam_refset_new(ctx, shared_backend, &baseline_tensor, 0, &shared_baseline) == EGCAM_OK;
    for (int i = 0; ok && i < CFG_COUNT; i++) {
        ok = egcam_explain(ctx, shared_backend, &configs[i], &input, NULL, &expected[i][0]) ==
             EGCAM_OK;
        if (ok && WITH_SET(i))
            ok =
                egcam_explain(ctx, shared_backend, &configs[i], &input,
                              set_for(i, shared_set, shared_baseline), &expected[i][1]) == EGCAM_OK;
    }
    if (!ok)
        fprintf(stderr, "setup: %s\n", egcam_ctx_last_error(ctx));
    egcam_ctx_free(ctx);
    /* The set must make a difference, or test 2 would prove little. */
    char why[256];
    if (ok && !compare(expected[CFG_EXPECTED][0], expected[CFG_EXPECTED][1], why, sizeof why))
        ok = 0;
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < CFG_COUNT; i++)
        for (int s = 0; s < 2; s++)
            egcam_result_free(expected[i][s]);
    egcam_refset_free(shared_set);
    egcam_refset_free(shared_baseline);
    egcam_backend_free(shared_backend);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_separate_backends),
        cmocka_unit_test(test_shared_set_by_turns),
        cmocka_unit_test(test_shared_backend_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
