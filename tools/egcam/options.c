/* options.c - the egcam program's flags, parsed from one table.
 *
 * Each flag says which subcommands take it and how its value is read:
 * a whole number or a number within a range, a word from a list, a
 * switch, a string, or by a function of its own. Every number is read in
 * full (no trailing junk, no sign where none belongs) and checked against
 * its range before it reaches a config, so a bad value is a usage error
 * (exit 2) naming the flag, never a runtime error later. */
#define _GNU_SOURCE /* getopt_long */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

/* Which subcommands take a flag. */
enum {
    EXPLAIN = 1 << CLI_EXPLAIN,
    COMPARE = 1 << CLI_COMPARE,
    LAYERS = 1 << CLI_LAYERS,
    EVAL = 1 << CLI_EVAL,
    RUNS = EXPLAIN | COMPARE | EVAL,
    ALL = RUNS | LAYERS
};

typedef enum {
    F_STRING, /* const char * at offset */
    F_U32,    /* uint32_t at offset, within [min, max] */
    F_FLOAT,  /* float at offset, within [min, max] */
    F_CHOICE, /* uint32_t at offset: the value of the word given */
    F_SWITCH, /* uint32_t at offset |= bits; takes no value */
    F_CUSTOM  /* read() */
} flag_kind;

/* What parsing remembers beyond cli_options: --preset fills what --mean,
 * --std and --channels leave unset, in whatever order they come. */
typedef struct parse_state {
    int mean_set, std_set, imagenet;
    int size_set, crop_set; /* --size; --crop */
    int class_set, top_set;
} parse_state;

typedef struct flag {
    const char *name;
    unsigned commands;
    flag_kind kind;
    size_t offset;
    double min, max;                                             /* F_U32, F_FLOAT */
    uint32_t bits;                                               /* F_SWITCH */
    const char *const *words;                                    /* F_CHOICE, NULL-terminated ... */
    const uint32_t *values;                                      /* ... and the value of each */
    int (*read)(cli_options *o, parse_state *ps, const char *v); /* F_CUSTOM: 0 or -1 */
    const char *expect;                                          /* what a bad value is told */
} flag;

/* ---- reading numbers -------------------------------------------------------- */

static int read_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!(s[0] >= '0' && s[0] <= '9'))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int read_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    unsigned long long v;
    if (read_u64(s, max, &v) != 0 || v < min)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int read_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Split a copy of s (into buf) at commas into exactly n parts. */
static int split(const char *s, char *buf, size_t size, char **parts, int n)
{
    if (snprintf(buf, size, "%s", s) >= (int)size)
        return -1;
    char *part = buf;
    for (int i = 0; i < n; i++) {
        char *comma = strchr(part, ',');
        if ((i < n - 1) != (comma != NULL))
            return -1;
        if (comma)
            *comma = '\0';
        parts[i] = part;
        part = comma ? comma + 1 : part;
    }
    return 0;
}

/* "a,b,c" into three numbers within [min, max]; or "a", one value for every
 * channel (a gray model's one). */
static int read_three(const char *s, double min, double max, float out[3])
{
    char buf[128], *parts[3];
    if (!strchr(s, ',')) {
        double v;
        if (read_double(s, min, max, &v) != 0)
            return -1;
        out[0] = out[1] = out[2] = (float)v;
        return 0;
    }
    if (split(s, buf, sizeof buf, parts, 3) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        double v;
        if (read_double(parts[i], min, max, &v) != 0)
            return -1;
        out[i] = (float)v;
    }
    return 0;
}

/* ---- flags with a reader of their own ------------------------------------------ */

/* --class K, or --class A,B,C: several targets of each input, each once. */
static int read_class(cli_options *o, parse_state *ps, const char *v)
{
    char buf[CLI_MAX_TARGETS * 12];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf)
        return -1;
    int n = 0;
    for (char *part = buf, *next; part; part = next) {
        if ((next = strchr(part, ',')))
            *next++ = '\0';
        uint32_t u;
        if (n == CLI_MAX_TARGETS || read_u32(part, 0, INT32_MAX, &u) != 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (o->targets[i] == (int32_t)u)
                return -1;
        o->targets[n++] = (int32_t)u;
    }
    ps->class_set = 1;
    o->top = 0;
    o->target_count = n > 1 ? n : 0; /* one class is the config's */
    o->cfg.target_class = n > 1 ? -1 : o->targets[0];
    return 0;
}

/* --top K: the K largest logits of each input. */
static int read_top(cli_options *o, parse_state *ps, const char *v)
{
    uint32_t k;
    if (read_u32(v, 1, CLI_MAX_TARGETS, &k) != 0)
        return -1;
    for (uint32_t r = 0; r < k; r++)
        o->targets[r] = EGCAM_TARGET_RANK(r);
    ps->top_set = 1;
    o->top = k > 1;
    o->target_count = k > 1 ? (int)k : 0; /* the top one is the default */
    o->cfg.target_class = -1;
    return 0;
}

static int read_seed(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    unsigned long long s;
    if (read_u64(v, UINT64_MAX, &s) != 0)
        return -1;
    o->cfg.seed = s;
    return 0;
}

static int read_baseline(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    static const char *const words[] = {"zeros", "blur", "uniform"};
    static const uint32_t values[] = {EGCAM_REFERENCES_ZEROS, EGCAM_REFERENCES_BLUR,
                                      EGCAM_REFERENCES_UNIFORM};
    for (int i = 0; i < 3; i++)
        if (strcmp(v, words[i]) == 0) {
            o->cfg.references = values[i];
            return 0;
        }
    size_t n = strlen(v);
    if (n < 5 || strcmp(v + n - 4, ".npy") != 0)
        return -1;
    o->baseline_file = v;
    return 0;
}

/* "HxW" or "C,H,W": sides of 1 to 65535, channels of 1 to 4096. */
/* "HxW", each 1 to 65535. */
static int read_hxw(const char *v, uint32_t *h, uint32_t *w)
{
    char buf[32];
    const char *x = strchr(v, 'x');
    if (!x || x == v || (size_t)(x - v) >= sizeof buf)
        return -1;
    memcpy(buf, v, (size_t)(x - v));
    buf[x - v] = '\0';
    return read_u32(buf, 1, 65535, h) != 0 || read_u32(x + 1, 1, 65535, w) != 0 ? -1 : 0;
}

static int read_size(cli_options *o, parse_state *ps, const char *v)
{
    ps->size_set = 1;
    return read_hxw(v, &o->pre.height, &o->pre.width);
}

/* --resize S: torchvision's Resize(S), the shorter side to S. */
static int read_resize(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    return read_u32(v, 1, 65535, &o->pre.resize);
}

/* --crop HxW, or --crop S for S x S: CenterCrop after --resize. */
static int read_crop(cli_options *o, parse_state *ps, const char *v)
{
    ps->crop_set = 1;
    if (!strchr(v, 'x')) {
        if (read_u32(v, 1, 65535, &o->pre.height) != 0)
            return -1;
        o->pre.width = o->pre.height;
        return 0;
    }
    return read_hxw(v, &o->pre.height, &o->pre.width);
}

/* The tokens layout's grid, for a model whose patches do not form a square. */
static int read_token_grid(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    return read_hxw(v, &o->torch.grid_height, &o->torch.grid_width);
}

static int read_input_shape(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    static const uint32_t max[3] = {4096, 65535, 65535};
    char buf[64], *parts[3];
    if (split(v, buf, sizeof buf, parts, 3) != 0)
        return -1;
    for (int i = 0; i < 3; i++)
        if (read_u32(parts[i], 1, max[i], &o->input_shape[i]) != 0)
            return -1;
    return 0;
}

static int read_mean(cli_options *o, parse_state *ps, const char *v)
{
    ps->mean_set = 1;
    return read_three(v, -1e6, 1e6, o->pre.mean);
}

static int read_std(cli_options *o, parse_state *ps, const char *v)
{
    ps->std_set = 1;
    if (read_three(v, 0.0, 1e6, o->pre.std) != 0)
        return -1;
    return o->pre.std[0] > 0 && o->pre.std[1] > 0 && o->pre.std[2] > 0 ? 0 : -1;
}

static int read_preset(cli_options *o, parse_state *ps, const char *v)
{
    (void)o;
    if (strcmp(v, "imagenet") == 0)
        ps->imagenet = 1;
    else if (strcmp(v, "none") == 0)
        ps->imagenet = 0;
    else
        return -1;
    return 0;
}

static int read_channels(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    uint32_t u;
    if (read_u32(v, 1, 3, &u) != 0 || u == 2)
        return -1;
    o->pre.channels = u;
    return 0;
}

/* ---- lists: estimators, combiners, pairs, metrics --------------------------------- */

static const char *const method_words[] = {"gradcam", "integrated", "expected", NULL};
static const uint32_t method_values[] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                         EGCAM_METHOD_EXPECTED};
static const char *const metric_words[] = {"deletion",    "insertion",  "infidelity",
                                           "sensitivity", "complexity", "confidence",
                                           "pointing",    "saturation", NULL};

static int word_index(const char *const *words, const char *v)
{
    for (int i = 0; words[i]; i++)
        if (strcmp(v, words[i]) == 0)
            return i;
    return -1;
}

/* Call fn on each comma-separated item of v (at most 255 bytes). */
static int each_item(cli_options *o, const char *v, int (*fn)(cli_options *o, const char *item))
{
    char buf[256];
    if (!*v || snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf)
        return -1;
    for (char *item = buf, *comma; item; item = comma ? comma + 1 : NULL) {
        if ((comma = strchr(item, ',')) != NULL)
            *comma = '\0';
        if (fn(o, item) != 0)
            return -1;
    }
    return 0;
}

static int add_method(cli_options *o, const char *item)
{
    int i = word_index(method_words, item);
    for (int k = 0; i >= 0 && k < o->method_count; k++)
        if (o->methods[k] == method_values[i])
            return -1; /* twice */
    if (i < 0 || o->method_count == 3)
        return -1;
    o->methods[o->method_count++] = method_values[i];
    return 0;
}

static int add_combiner(cli_options *o, const char *item)
{
    if (strcmp(item, "all") == 0) {
        if (o->combiner_count)
            return -1;
        for (uint32_t c = EGCAM_COMBINER_GRADCAM; c <= EGCAM_COMBINER_COMPLETE; c++)
            o->combiners[o->combiner_count++] = c;
        return 0;
    }
    uint32_t c = egcam_combiner_by_name(item);
    for (int k = 0; c && k < o->combiner_count; k++)
        if (o->combiners[k] == c)
            return -1;
    if (!c || o->combiner_count == 7)
        return -1;
    o->combiners[o->combiner_count++] = c;
    return 0;
}

/* ESTIMATOR[:COMBINER], Grad-CAM's combination when none is named. */
static int add_pair(cli_options *o, const char *item)
{
    char method[32];
    const char *colon = strchr(item, ':');
    size_t n = colon ? (size_t)(colon - item) : strlen(item);
    if (n >= sizeof method || o->pair_count == CLI_MAX_PAIRS)
        return -1;
    memcpy(method, item, n);
    method[n] = '\0';
    int m = word_index(method_words, method);
    uint32_t c = colon ? egcam_combiner_by_name(colon + 1) : EGCAM_COMBINER_GRADCAM;
    if (m < 0 || !c)
        return -1;
    for (int k = 0; k < o->pair_count; k++)
        if (o->pairs[k].method == method_values[m] && o->pairs[k].combiner == c)
            return -1;
    o->pairs[o->pair_count++] = (cli_pair){method_values[m], c};
    return 0;
}

static int add_metric(cli_options *o, const char *item)
{
    int i = word_index(metric_words, item);
    if (i < 0 || (o->metrics & (1u << i)))
        return -1;
    o->metrics |= 1u << i;
    return 0;
}

static int read_methods(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    o->method_count = 0;
    return each_item(o, v, add_method);
}

static int read_combiners(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    o->combiner_count = 0;
    return each_item(o, v, add_combiner);
}

static int read_pairs(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    o->pair_count = 0;
    if (strcmp(v, "all") == 0) { /* every estimator with every combiner */
        for (int m = 0; m < 3; m++)
            for (uint32_t c = EGCAM_COMBINER_GRADCAM; c <= EGCAM_COMBINER_COMPLETE; c++)
                o->pairs[o->pair_count++] = (cli_pair){method_values[m], c};
        return 0;
    }
    return each_item(o, v, add_pair);
}

static int read_metrics(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    o->metrics = 0;
    if (strcmp(v, "all") == 0) {
        o->metrics = (1u << CLI_METRIC_GROUPS) - 1;
        return 0;
    }
    return each_item(o, v, add_metric);
}

static int read_combiner(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    return (o->cfg.combiner = egcam_combiner_by_name(v)) ? 0 : -1;
}

static int read_colormap(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    return (o->colormap = egcam_colormap_by_name(v)) ? 0 : -1;
}

static int read_max_model(cli_options *o, parse_state *ps, const char *v)
{
    (void)ps;
    uint32_t mb;
    if (read_u32(v, 1, 1u << 24, &mb) != 0) /* up to 16 TiB */
        return -1;
    o->torch.max_model_bytes = (uint64_t)mb << 20;
    return 0;
}

/* ---- the table ------------------------------------------------------------------ */

#define AT(field) offsetof(cli_options, field)

static const char *const sampling_words[] = {"independent", "stratified", "antithetic", NULL};
static const uint32_t sampling_values[] = {EGCAM_SAMPLING_INDEPENDENT, EGCAM_SAMPLING_STRATIFIED,
                                           EGCAM_SAMPLING_ANTITHETIC};
static const char *const rule_words[] = {"midpoint", "left", "right", "trapezoid", NULL};
static const uint32_t rule_values[] = {EGCAM_RULE_MIDPOINT, EGCAM_RULE_LEFT, EGCAM_RULE_RIGHT,
                                       EGCAM_RULE_TRAPEZOID};
static const char *const layout_words[] = {"channels", "channels_last", "tokens", NULL};
static const uint32_t layout_values[] = {
    EGCAM_TORCH_LAYOUT_CHANNELS, EGCAM_TORCH_LAYOUT_CHANNELS_LAST, EGCAM_TORCH_LAYOUT_TOKENS};
static const char *const fill_words[] = {"blur", "zeros", "mean", NULL};
static const char *const background_words[] = {"black", "white", "none", NULL};
static const uint32_t background_values[] = {EGCAM_PNG_ALPHA_BLACK, EGCAM_PNG_ALPHA_WHITE,
                                             EGCAM_PNG_ALPHA_DROP};
static const uint32_t fill_values[] = {EGCAM_FILL_BLUR, EGCAM_FILL_ZEROS, EGCAM_FILL_MEAN};

#define STRING(n, cmds, field)                                                                     \
  {                                                                                                \
    .name = n, .commands = cmds, .kind = F_STRING, .offset = AT(field)                             \
  }
#define CHOICE(n, cmds, field, w, v)                                                               \
  {                                                                                                \
    .name = n, .commands = cmds, .kind = F_CHOICE, .offset = AT(field), .words = w, .values = v    \
  }
#define U32(n, cmds, field, lo, hi)                                                                \
  {                                                                                                \
    .name = n, .commands = cmds, .kind = F_U32, .offset = AT(field), .min = lo, .max = hi          \
  }
#define FLOAT(n, cmds, field, lo, hi)                                                              \
  {                                                                                                \
    .name = n, .commands = cmds, .kind = F_FLOAT, .offset = AT(field), .min = lo, .max = hi        \
  }
#define SWITCH(n, cmds, field, b)                                                                  \
  {                                                                                                \
    .name = n, .commands = cmds, .kind = F_SWITCH, .offset = AT(field), .bits = b                  \
  }
#define CUSTOM(n, cmds, fn, why)                                                                   \
  {                                                                                                \
    .name = n, .commands = cmds, .kind = F_CUSTOM, .read = fn, .expect = why                       \
  }

static const flag flags[] = {
    STRING("model", ALL, model),
    STRING("layer", RUNS, layer),
    STRING("device", ALL, torch.device),
    STRING("output", ALL, torch.output),
    STRING("mask", EXPLAIN | COMPARE, mask),
    STRING("out", RUNS, out_dir),
    STRING("labels", RUNS, labels),
    STRING("references", RUNS, references),
    STRING("data", EVAL, data),
    CHOICE("method", EXPLAIN, cfg.method, method_words, method_values),
    CHOICE("rule", RUNS, cfg.rule, rule_words, rule_values),
    CHOICE("sampling", RUNS, cfg.sampling, sampling_words, sampling_values),
    CHOICE("layout", ALL, torch.layout, layout_words, layout_values),
    CHOICE("fill", EVAL, eval.fill, fill_words, fill_values),
    CHOICE("background", RUNS, alpha, background_words, background_values),
    U32("samples", RUNS, cfg.samples, 1, UINT32_MAX),
    U32("steps", RUNS, cfg.steps, 1, UINT32_MAX),
    U32("batch", RUNS, cfg.batch_size, 1, 65536),
    U32("threads", ALL, threads, 1, 1024),
    U32("prefix-tokens", ALL, torch.prefix_tokens, 0, 65535),
    U32("limit", EVAL, limit, 1, UINT32_MAX),
    U32("canvas", EVAL, canvas, 1, 65535),
    U32("perturbations", EVAL, eval.perturbations, 1, 10000),
    U32("eval-steps", EVAL, eval.steps, 1, 10000),
    FLOAT("noise", RUNS, cfg.noise_level, 0, 1000),
    FLOAT("opacity", RUNS, opacity, 0, 1),
    SWITCH("clean-difference", RUNS, cfg.flags, EGCAM_FLAG_CLEAN_DIFFERENCE),
    SWITCH("keep-layout", ALL, torch.flags, EGCAM_TORCH_FLAG_KEEP_LAYOUT),
    SWITCH("exact", ALL, torch.flags, EGCAM_TORCH_FLAG_EXACT),
    SWITCH("full-size", RUNS, full_size, 1),
    CUSTOM("class", RUNS, read_class,
           "expected a class index from 0 to 2147483647, or up to 64 different ones a,b,c"),
    CUSTOM("top", EXPLAIN | COMPARE, read_top, "expected a count of classes from 1 to 64"),
    CUSTOM("seed", RUNS, read_seed, "expected a whole number from 0 to 2^64-1"),
    CUSTOM("baseline", RUNS, read_baseline, "expected zeros, blur, uniform or a .npy file"),
    CUSTOM("size", RUNS, read_size, "expected HxW, e.g. 224x224, each 1 to 65535"),
    CUSTOM("resize", RUNS, read_resize, "expected the shorter side, 1 to 65535, e.g. 256"),
    CUSTOM("crop", RUNS, read_crop, "expected HxW or S, e.g. 224, each 1 to 65535"),
    CUSTOM("token-grid", ALL, read_token_grid, "expected HxW, e.g. 14x20, each 1 to 65535"),
    CUSTOM("input-shape", LAYERS, read_input_shape,
           "expected C,H,W, e.g. 3,224,224 (C 1 to 4096, H and W 1 to 65535)"),
    CUSTOM("mean", RUNS, read_mean,
           "expected three numbers a,b,c or one for every channel, from -1e6 to 1e6"),
    CUSTOM("std", RUNS, read_std,
           "expected three numbers a,b,c or one for every channel, each > 0 and at most 1e6"),
    CUSTOM("preset", RUNS, read_preset, "expected imagenet or none"),
    CUSTOM("channels", RUNS, read_channels, "expected 1 or 3"),
    CUSTOM("colormap", RUNS, read_colormap, "expected turbo, jet, viridis or inferno"),
    CUSTOM("combiner", RUNS, read_combiner,
           "expected gradcam, gradcam++, xgradcam, hirescam, elementwise, layercam or complete"),
    CUSTOM("methods", COMPARE | EVAL, read_methods,
           "expected a list of gradcam, integrated and expected, each once, e.g. gradcam,expected"),
    CUSTOM("combiners", COMPARE | EVAL, read_combiners,
           "expected all, or a list of combiners, each once, e.g. gradcam,complete"),
    CUSTOM("pairs", EVAL, read_pairs,
           "expected all, or a list of ESTIMATOR:COMBINER, each once, e.g. "
           "gradcam:gradcam,expected:complete (at most 21)"),
    CUSTOM("metrics", EVAL, read_metrics,
           "expected all, or a list of deletion, insertion, infidelity, sensitivity, "
           "complexity, confidence, pointing and saturation, each once"),
    CUSTOM("max-model-mb", ALL, read_max_model,
           "expected a whole number of MiB from 1 to 16777216"),
};
enum { FLAG_COUNT = sizeof flags / sizeof flags[0], FLAG_HELP = FLAG_COUNT };

/* "expected ..." for a value of f that does not fit. */
static void explain_expected(const flag *f, char *buf, size_t size)
{
    if (f->expect) {
        snprintf(buf, size, "%s", f->expect);
    } else if (f->kind == F_CHOICE) {
        size_t n = (size_t)snprintf(buf, size, "expected");
        for (int i = 0; f->words[i] && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, "%s%s",
                                  i == 0            ? " "
                                  : f->words[i + 1] ? ", "
                                                    : " or ",
                                  f->words[i]);
    } else if (f->kind == F_U32) {
        snprintf(buf, size, "expected a whole number from %.0f to %.0f", f->min, f->max);
    } else {
        snprintf(buf, size, "expected a number from %g to %g", f->min, f->max);
    }
}

/* Read v into o as f says; 0, or -1 for a value that does not fit. */
static int apply(const flag *f, cli_options *o, parse_state *ps, const char *v)
{
    char *at = (char *)o + f->offset;
    switch (f->kind) {
    case F_STRING: *(const char **)(void *)at = v; return 0;
    case F_U32: return read_u32(v, (uint32_t)f->min, (uint32_t)f->max, (uint32_t *)(void *)at);
    case F_FLOAT: {
        double d;
        if (read_double(v, f->min, f->max, &d) != 0)
            return -1;
        *(float *)(void *)at = (float)d;
        return 0;
    }
    case F_CHOICE:
        for (int i = 0; f->words[i]; i++)
            if (strcmp(v, f->words[i]) == 0) {
                *(uint32_t *)(void *)at = f->values[i];
                return 0;
            }
        return -1;
    case F_SWITCH: *(uint32_t *)(void *)at |= f->bits; return 0;
    case F_CUSTOM: return f->read(o, ps, v);
    }
    return -1;
}

static int defaults(cli_options *o)
{
    memset(o, 0, sizeof *o);
    if (egcam_config_init(&o->cfg) != EGCAM_OK || egcam_preprocess_init(&o->pre) != EGCAM_OK ||
        egcam_torch_options_init(&o->torch) != EGCAM_OK ||
        egcam_eval_options_init(&o->eval) != EGCAM_OK)
        return -1;
    o->out_dir = ".";
    o->colormap = EGCAM_COLORMAP_TURBO;
    o->opacity = 0.5f;
    o->metrics = (1u << CLI_METRIC_SATURATION) - 1; /* everything but saturation */
    return 0;
}

/* --preset imagenet: torchvision's evaluation transform (Resize(256),
 * CenterCrop(224), its mean and std, 3 channels), each part the command
 * line did not set. --size stretches; --resize and --crop keep the aspect:
 * one or the other. Says why on stderr when it returns -1. */
static int finish_preset(cli_options *o, parse_state *ps)
{
    if (ps->size_set && (o->pre.resize || ps->crop_set)) {
        fprintf(stderr, "egcam: --size stretches the image to its size, --resize and --crop keep "
                        "its aspect: give one or the other\n");
        return -1;
    }
    if (ps->imagenet && !ps->size_set) { /* each part not given: Resize(256), CenterCrop(224) */
        if (!o->pre.resize)
            o->pre.resize = 256;
        if (!ps->crop_set) {
            o->pre.height = o->pre.width = 224;
            ps->crop_set = 1;
        }
    }
    if (ps->crop_set && !o->pre.resize) {
        fprintf(stderr, "egcam: --crop takes the centre of the resized image: give --resize "
                        "too (e.g. --resize 256 --crop 224)\n");
        return -1;
    }
    if (!ps->imagenet)
        return 0;
    egcam_preprocess p;
    if (egcam_preprocess_init_imagenet(&p) != EGCAM_OK)
        return -1;
    if (!ps->mean_set)
        memcpy(o->pre.mean, p.mean, sizeof p.mean);
    if (!ps->std_set)
        memcpy(o->pre.std, p.std, sizeof p.std);
    if (!o->pre.channels)
        o->pre.channels = p.channels;
    return 0;
}

/* The pairs, where --pairs gave none: --methods x --combiners, estimator
 * by estimator, with their defaults (all three; --combiner's). */
static void finish_pairs(cli_options *o)
{
    if (!o->method_count)
        for (int m = 0; m < 3; m++)
            o->methods[o->method_count++] = method_values[m];
    if (!o->combiner_count)
        o->combiners[o->combiner_count++] =
            o->cfg.combiner ? o->cfg.combiner : EGCAM_COMBINER_GRADCAM;
    if (o->pair_count)
        return;
    for (int m = 0; m < o->method_count; m++)
        for (int c = 0; c < o->combiner_count; c++)
            o->pairs[o->pair_count++] = (cli_pair){o->methods[m], o->combiners[c]};
}

/* The arguments each subcommand needs, once every flag is read. */
static int check_required(enum cli_command cmd, cli_options *o)
{
    const char *name = cli_command_name(cmd);
    if (!o->model) {
        fprintf(stderr, "egcam %s: --model is required\n", name);
        return 2;
    }
    if (cmd == CLI_LAYERS && !o->input_shape[0]) {
        fprintf(stderr, "egcam layers: --input-shape is required\n");
        return 2;
    }
    if (cmd != CLI_LAYERS && !o->layer) {
        fprintf(stderr, "egcam %s: --layer is required\n", name);
        return 2;
    }
    if (cmd == CLI_EVAL && !o->data) {
        fprintf(stderr, "egcam eval: --data is required\n");
        return 2;
    }
    if ((cmd == CLI_LAYERS || cmd == CLI_EVAL) && o->input_count) {
        fprintf(stderr, "egcam %s: unexpected argument %s%s\n", name, o->inputs[0],
                cmd == CLI_EVAL ? " (images come from --data)" : "");
        return 2;
    }
    if ((cmd == CLI_EXPLAIN || cmd == CLI_COMPARE) && !o->input_count) {
        fprintf(stderr, "egcam %s: no INPUT given\n", name);
        return 2;
    }
    if (cmd == CLI_EVAL) {
        o->eval.batch_size = o->cfg.batch_size;
        o->eval.seed = o->cfg.seed;
    }
    if (o->pair_count && (o->method_count || o->combiner_count)) {
        fprintf(stderr, "egcam eval: --pairs names the pairs itself; give it or --methods and "
                        "--combiners, not both\n");
        return 2;
    }
    finish_pairs(o);
    return 0;
}

int cli_parse(enum cli_command cmd, int argc, char **argv, cli_options *o)
{
    if (defaults(o) != 0)
        return 2;
    struct option long_options[FLAG_COUNT + 2];
    for (int i = 0; i < FLAG_COUNT; i++)
        long_options[i] = (struct option){
            flags[i].name, flags[i].kind == F_SWITCH ? no_argument : required_argument, NULL,
            256 + i};
    long_options[FLAG_COUNT] = (struct option){"help", no_argument, NULL, 256 + FLAG_HELP};
    long_options[FLAG_COUNT + 1] = (struct option){NULL, 0, NULL, 0};

    const char *name = cli_command_name(cmd);
    parse_state ps = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (c == 'h' || c == 256 + FLAG_HELP) {
            cli_usage(cmd, cli_out());
            return 1;
        }
        if (c == ':') {
            fprintf(stderr, "egcam %s: %s needs a value\n", name, argv[optind - 1]);
            return 2;
        }
        if (c < 256 || c >= 256 + FLAG_COUNT) {
            if (optopt > 0 && optopt < 256) /* a short flag: name it, not its cluster */
                fprintf(stderr, "egcam %s: unknown flag -%c (see egcam %s --help)\n", name, optopt,
                        name);
            else
                fprintf(stderr, "egcam %s: unknown flag %s (see egcam %s --help)\n", name,
                        argv[optind - 1], name);
            return 2;
        }
        const flag *f = &flags[c - 256];
        if (!(f->commands & (1u << cmd))) {
            fprintf(stderr, "egcam %s: --%s is not a flag of %s (see egcam %s --help)\n", name,
                    f->name, name, name);
            return 2;
        }
        if (apply(f, o, &ps, optarg) != 0) {
            char why[160];
            explain_expected(f, why, sizeof why);
            fprintf(stderr, "egcam: --%s %s: %s\n", f->name, optarg, why);
            return 2;
        }
    }
    o->inputs = argv + optind;
    o->input_count = argc - optind;
    if (finish_preset(o, &ps) != 0)
        return 2;
    if (ps.class_set && ps.top_set) {
        fprintf(stderr, "egcam %s: --class and --top both choose the targets; give one\n", name);
        return 2;
    }
    if (o->mask && (ps.top_set || o->target_count || o->cfg.target_class < 0)) {
        fprintf(stderr,
                "egcam %s: --mask explains one class over the mask's pixels: give it "
                "one --class K\n",
                name);
        return 2;
    }
    if (cmd == CLI_EVAL && o->target_count) {
        fprintf(stderr, "egcam eval: --class takes one class here (each image is scored for "
                        "one target)\n");
        return 2;
    }
    return check_required(cmd, o);
}
