/* session.c - setting up and tearing down one run of the egcam program. */
#define _POSIX_C_SOURCE 200809L
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <egcam/egcam_backend.h>
#include <egcam/egcam_torch.h>

#include "inputs.h"

const char *cli_session_error(cli_session *s, egcam_status st, const char *message)
{
    static const char field[] = "config.batch_size";
    const char *at = strstr(message, field);
    size_t size = sizeof s->said;
    if (at)
        snprintf(s->said, size, "%.*s--batch (now %u)%s", (int)(at - message), message,
                 s->o->cfg.batch_size, at + strlen(field));
    else if (st == EGCAM_E_OUT_OF_MEMORY)
        snprintf(s->said, size, "%s; try a smaller --batch (now %u)", message,
                 s->o->cfg.batch_size);
    else
        snprintf(s->said, size, "%s", message);
    return s->said;
}

const char *cli_method_name(uint32_t m)
{
    return m == EGCAM_METHOD_GRADCAM      ? "gradcam"
           : m == EGCAM_METHOD_INTEGRATED ? "integrated"
                                          : "expected";
}

const char *cli_method_title(uint32_t m)
{
    return m == EGCAM_METHOD_GRADCAM      ? "Grad-CAM"
           : m == EGCAM_METHOD_INTEGRATED ? "Integrated Grad-CAM"
                                          : "Expected Grad-CAM";
}

const char *cli_label(const cli_session *s, int32_t cls)
{
    return cls >= 0 && cls < s->label_count ? s->labels[cls] : NULL;
}

double cli_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One class name per line; a missing file is an error, not a silent skip. */
static int read_labels(cli_session *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "egcam: --labels %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *line = NULL;
    size_t size = 0;
    int cap = 0, rc = 0;
    while (!rc && getline(&line, &size, f) >= 0) { /* any length */
        line[strcspn(line, "\r\n")] = '\0';
        if (s->label_count == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(s->labels, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = 1;
                break;
            }
            s->labels = grown;
        }
        if (!(s->labels[s->label_count] = strdup(line)))
            rc = 1;
        else
            s->label_count++;
    }
    free(line);
    fclose(f);
    if (rc)
        fprintf(stderr, "egcam: --labels %s: out of memory\n", path);
    return rc;
}

/* Reference sets named on the command line, forwarded once for all images. */
static int load_references(cli_session *s)
{
    const cli_options *o = s->o;
    const char *paths[2] = {o->references, o->baseline_file};
    egcam_refset **sets[2] = {&s->references, &s->baseline};
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        egcam_tensor t;
        float *storage;
        if (cli_load_stack(s->ctx, paths[i], o, &t, &storage) != 0)
            return 1;
        int rc = 0;
        if (i == 1 && t.shape[0] != 1) {
            fprintf(stderr, "egcam: --baseline %s: holds %lld inputs; a baseline is one\n",
                    paths[i], (long long)t.shape[0]);
            rc = 1;
        } else {
            egcam_status st = egcam_refset_new(s->ctx, s->backend, &t, o->cfg.batch_size, sets[i]);
            if (st != EGCAM_OK) {
                fprintf(stderr, "egcam: %s %s: %s\n", i ? "--baseline" : "--references", paths[i],
                        cli_session_error(s, st, egcam_ctx_last_error(s->ctx)));
                rc = 1;
            }
        }
        free(storage);
        if (rc)
            return rc;
    }
    return 0;
}

/* mkdir -p, for --out; 0, or 1 after printing why not. */
static int make_out_dir(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        fprintf(stderr, "egcam: --out %s: %s\n", path, strerror(ENAMETOOLONG));
        return 1;
    }
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                goto failed;
            *p = '/';
        }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        goto failed;
    struct stat st; /* it may have existed as something else */
    if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (lstat(buf, &st) == 0 && S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(buf, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "egcam: --out %s: a symbolic link to '%s', which %s\n", path, target,
                stat(buf, &st) != 0 ? "does not exist" : "is not a folder");
        return 1;
    }
    errno = ENOTDIR;
failed:
    fprintf(stderr, "egcam: --out %s: %s\n", path, strerror(errno));
    return 1;
}

int cli_session_open(cli_session *s, cli_options *o)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    if (egcam_ctx_new(&s->ctx) != EGCAM_OK) {
        fprintf(stderr, "egcam: out of memory\n");
        return 1;
    }
    if (make_out_dir(o->out_dir) != 0)
        return 1;
    if (o->threads && egcam_torch_set_threads(s->ctx, o->threads) != EGCAM_OK) {
        fprintf(stderr, "egcam: --threads: %s\n", egcam_ctx_last_error(s->ctx));
        return 1;
    }
    if (o->labels && read_labels(s, o->labels))
        return 1;
    if (egcam_torch_open(s->ctx, o->model, o->layer, &o->torch, &s->backend) != EGCAM_OK) {
        fprintf(stderr, "egcam: %s: %s\n", o->model, egcam_ctx_last_error(s->ctx));
        return 1;
    }
    return load_references(s);
}

void cli_session_close(cli_session *s)
{
    egcam_refset_free(s->references);
    egcam_refset_free(s->baseline);
    egcam_backend_free(s->backend);
    free(s->mask_seed);
    for (int i = 0; i < s->label_count; i++)
        free(s->labels[i]);
    free(s->labels);
    egcam_ctx_free(s->ctx);
    memset(s, 0, sizeof *s);
}

const egcam_refset *cli_method_config(const cli_session *s, uint32_t method, egcam_config *cfg)
{
    *cfg = s->o->cfg;
    cfg->method = method;
    const egcam_refset *set = NULL;
    if (method == EGCAM_METHOD_EXPECTED)
        set = s->references ? s->references : s->baseline;
    else if (method == EGCAM_METHOD_INTEGRATED)
        set = s->baseline;
    if (set) /* a set replaces the built-in choice */
        cfg->references = EGCAM_REFERENCES_ZEROS;
    if (method == EGCAM_METHOD_INTEGRATED && cfg->references == EGCAM_REFERENCES_UNIFORM)
        cfg->references = EGCAM_REFERENCES_ZEROS; /* uniform is Expected's only */
    if (s->mask_seed) { /* --mask: a seed over the output replaces the class */
        cfg->target_weights = s->mask_seed;
        cfg->target_weights_count = s->mask_size;
        cfg->target_class = -1;
    }
    return set;
}

/* --mask M --class K: the seed of pytorch-grad-cam's
 * SemanticSegmentationTarget, 1 on plane K of the model's output [N, K', H,
 * W] (flattened by the backend) at the mask's non-zero pixels, 0 elsewhere.
 * The mask has the output's H x W; the number of planes comes from one
 * forward of the first input. Made once; 0, or 1 after saying why. */
static int prepare_mask(cli_session *s, const egcam_tensor *input)
{
    const cli_options *o = s->o;
    if (!o->mask || s->mask_seed)
        return 0;
    egcam_image *m = NULL;
    if (egcam_png_read(s->ctx, o->mask, 1, &m) != EGCAM_OK) {
        fprintf(stderr, "egcam: --mask %s: %s\n", o->mask, egcam_ctx_last_error(s->ctx));
        return 1;
    }
    int64_t c = input->shape[input->ndim - 3], h = input->shape[input->ndim - 2],
            w = input->shape[input->ndim - 1];
    egcam_tensor one = {input->data, {1, c, h, w}, 4, 0}, acts, logits;
    int rc = 1;
    if (egcam_backend_forward(s->ctx, s->backend, &one, 0, &acts, &logits) != EGCAM_OK) {
        fprintf(stderr, "egcam: --mask %s: %s\n", o->mask, egcam_ctx_last_error(s->ctx));
        goto done;
    }
    size_t size = (size_t)logits.shape[1], plane = (size_t)m->width * m->height;
    size_t planes = size / plane;
    /* The output is taken at the input's size, as torchvision's segmentation
     * models give it: a mask of another size would put the seed on other
     * pixels even where the sizes happen to divide. */
    if (m->width != (uint32_t)w || m->height != (uint32_t)h || size % plane) {
        fprintf(stderr,
                "egcam: --mask %s: the mask is %ux%u; it must be the size of the input and of "
                "the model's output (%lldx%lld, which gives %zu values an image)\n",
                o->mask, m->width, m->height, (long long)w, (long long)h, size);
        goto done;
    }
    if ((size_t)o->cfg.target_class >= planes) {
        fprintf(stderr, "egcam: --mask %s: --class %d, but the output has %zu classes (0 to %zu)\n",
                o->mask, o->cfg.target_class, planes, planes - 1);
        goto done;
    }
    if (!(s->mask_seed = calloc(size, sizeof *s->mask_seed))) {
        fprintf(stderr, "egcam: out of memory\n");
        goto done;
    }
    size_t set = 0;
    for (size_t p = 0; p < plane; p++)
        if (m->pixels[p]) {
            s->mask_seed[(size_t)o->cfg.target_class * plane + p] = 1.0f;
            set++;
        }
    if (!set) {
        fprintf(stderr,
                "egcam: --mask %s: no pixel of the mask is set, so nothing would be "
                "explained\n",
                o->mask);
        free(s->mask_seed);
        s->mask_seed = NULL;
        goto done;
    }
    s->mask_size = (uint32_t)size;
    rc = 0;
done:
    egcam_image_free(m);
    return rc;
}

egcam_result *cli_session_explain(cli_session *s, const egcam_tensor *input, const char *path,
                                  uint32_t method, uint32_t combiner, double *ms)
{
    egcam_config cfg;
    if (prepare_mask(s, input) != 0)
        return NULL;
    const egcam_refset *set = cli_method_config(s, method, &cfg);
    cfg.combiner = combiner;
    egcam_result *res = NULL;
    double t0 = cli_now_ms();
    egcam_status st = egcam_explain(s->ctx, s->backend, &cfg, input, set, &res);
    *ms = cli_now_ms() - t0;
    if (st != EGCAM_OK) {
        cli_progress_done(&s->progress);
        fprintf(stderr, "egcam: %s: %s: %s\n", path, cli_method_title(method),
                cli_session_error(s, st, egcam_ctx_last_error(s->ctx)));
    }
    return res;
}

const int32_t *cli_targets(const cli_session *s, uint32_t *count)
{
    *count = s->o->target_count ? (uint32_t)s->o->target_count : 1;
    return s->o->target_count ? s->o->targets : NULL;
}

/* One call for n inputs; the library's status. */
static egcam_status explain_call(cli_session *s, const cli_input *const *ins, int n,
                                 const egcam_config *cfg, const egcam_refset *set,
                                 egcam_result **results, egcam_status *statuses)
{
    uint32_t count;
    const int32_t *targets = cli_targets(s, &count);
    egcam_tensor *tensors = malloc((size_t)n * sizeof *tensors);
    int32_t *classes = targets ? malloc((size_t)n * count * sizeof *classes) : NULL;
    if (!tensors || (targets && !classes)) {
        free(tensors);
        free(classes);
        for (int i = 0; i < n; i++)
            statuses[i] = EGCAM_E_OUT_OF_MEMORY;
        return egcam_ctx_set_error(s->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        tensors[i] = *ins[i]->tensor;
        if (classes)
            memcpy(classes + (size_t)i * count, targets, count * sizeof *classes);
    }
    egcam_status st = egcam_explain_many(s->ctx, s->backend, cfg, tensors, (uint32_t)n, classes,
                                         count, set, results, statuses);
    free(tensors);
    free(classes);
    return st;
}

/* The two failures that are an input's own (egcam_explain_many()); any
 * other status fails the whole call. */
static int own_failure(egcam_status st)
{
    return st == EGCAM_E_NON_FINITE || st == EGCAM_E_CLASS_OUT_OF_RANGE;
}

int cli_session_explain_many(cli_session *s, const cli_input *const *ins, int n, uint32_t method,
                             uint32_t combiner, egcam_result **results, double *ms)
{
    egcam_config cfg;
    if (n > 0 && prepare_mask(s, ins[0]->tensor) != 0)
        return n;
    const egcam_refset *set = cli_method_config(s, method, &cfg);
    cfg.combiner = combiner;
    uint32_t count;
    cli_targets(s, &count);
    egcam_status *statuses = calloc((size_t)n, sizeof *statuses);
    double t0 = cli_now_ms();
    egcam_status st =
        statuses ? explain_call(s, ins, n, &cfg, set, results, statuses) : EGCAM_E_OUT_OF_MEMORY;
    *ms = cli_now_ms() - t0;
    if (st == EGCAM_OK) {
        free(statuses);
        return 0;
    }
    cli_progress_done(&s->progress);
    int failed = 0;
    if (!own_failure(st) && n > 1) {
        /* The call failed as a whole: each input alone, for its own result
         * or message. */
        free(statuses);
        int base = s->progress.item;
        for (int i = 0; i < n; i++) {
            double one;
            cli_progress_items(&s->progress, base + i, 1, ins[i]->path);
            failed += cli_session_explain_many(s, ins + i, 1, method, combiner,
                                               results + (size_t)i * count, &one);
        }
        *ms = cli_now_ms() - t0;
        return failed;
    }
    for (int i = 0; i < n; i++) {
        if (own_failure(st) && statuses[i] == EGCAM_OK)
            continue;
        const char *why = own_failure(st) ? egcam_ctx_input_error(s->ctx, (size_t)i)
                                          : egcam_ctx_last_error(s->ctx);
        egcam_status own = statuses ? statuses[i] : st;
        fprintf(stderr, "egcam: %s: %s: %s\n", ins[i]->path, cli_method_title(method),
                why[0] ? cli_session_error(s, own, why) : egcam_status_string(own));
        failed++;
    }
    free(statuses);
    return failed;
}

/* The gradients each input takes with these methods, as the library counts
 * them; the counts need the input's shape alone, and any shape will do. */
static uint64_t gradients_per_input(const cli_session *s, const uint32_t *methods, int count)
{
    const egcam_tensor shape = {NULL, {1, 1, 1}, 3, 0};
    uint64_t total = 0;
    for (int m = 0; m < count; m++) {
        egcam_config cfg;
        const egcam_refset *set = cli_method_config(s, methods[m], &cfg);
        uint64_t backward = 0;
        if (egcam_explain_cost(s->ctx, &cfg, &shape, set, NULL, &backward, NULL) == EGCAM_OK)
            total += backward;
    }
    return total;
}

/* Inputs of one shape can share a call. */
static int same_shape(const cli_input *a, const cli_input *b)
{
    const egcam_tensor *x = a->tensor, *y = b->tensor;
    return x->shape[0] == y->shape[0] && x->shape[1] == y->shape[1] && x->shape[2] == y->shape[2];
}

int cli_session_each_batch(cli_options *o, const uint32_t *methods, int count, int cap,
                           cli_batch_fn fn)
{
    cli_session s;
    char **paths = NULL, **names = NULL;
    int n = -1;
    int bad = 0;
    if (cli_session_open(&s, o) == 0)
        n = cli_list_inputs(o->inputs, o->input_count, &paths, &bad);
    if (n > 0 && !(names = cli_output_names(paths, n))) {
        cli_free_list(paths, n);
        n = -1;
    }
    int failed = n < 0 || bad;
    if (cap <= 0)
        cap = o->cfg.batch_size < 256 ? (int)o->cfg.batch_size : 256;
    cli_input *loaded = n > 0 ? calloc((size_t)cap, sizeof *loaded) : NULL;
    const cli_input **batch = n > 0 ? calloc((size_t)cap, sizeof *batch) : NULL;
    if (n > 0 && (!loaded || !batch)) {
        fprintf(stderr, "egcam: out of memory\n");
        failed = 1;
        n = 0;
    }
    if (n > 0)
        cli_progress_start(&s.progress, s.ctx, n, gradients_per_input(&s, methods, count));
    /* Hold up to cap loaded inputs of one shape; explain them in one go
     * when the next is of another shape, or there is no room, or no next. */
    int held = 0, start = 0; /* loaded[0] is input `start` */
    for (int i = 0; i <= n && n > 0; i++) {
        cli_input in = {0};
        int ok = i < n && cli_load_input(s.ctx, paths[i], names[i], o, &in) == 0;
        if (i < n && !ok) {
            cli_input_free(&in);
            failed = 1;
            continue;
        }
        if (held && (!ok || held == cap || !same_shape(&loaded[0], &in))) {
            for (int k = 0; k < held; k++)
                batch[k] = &loaded[k];
            cli_progress_items(&s.progress, start, i - start, paths[start]);
            if (fn(&s, batch, held) != 0)
                failed = 1;
            for (int k = 0; k < held; k++)
                cli_input_free(&loaded[k]);
            held = 0;
        }
        if (ok) {
            start = held ? start : i;
            loaded[held++] = in;
        }
    }
    cli_progress_done(&s.progress);
    free(loaded);
    free(batch);
    if (n > 0) {
        cli_free_list(paths, n);
        cli_free_list(names, n);
    }
    cli_session_close(&s);
    return failed;
}
