/* options.c - the egcam program's flags: parsing and help. */
#define _GNU_SOURCE /* getopt_long */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_MODEL = 256, OPT_LAYER, OPT_METHOD, OPT_CLASS, OPT_SAMPLES, OPT_STEPS, OPT_RULE,
    OPT_NOISE, OPT_SEED, OPT_BATCH, OPT_REFERENCES, OPT_BASELINE, OPT_SIZE, OPT_MEAN, OPT_STD,
    OPT_PRESET, OPT_CHANNELS, OPT_LABELS, OPT_DEVICE, OPT_THREADS, OPT_OUT, OPT_COLORMAP,
    OPT_OPACITY, OPT_LAYOUT, OPT_PREFIX_TOKENS, OPT_INPUT_SHAPE, OPT_CLEAN, OPT_HELP,
    OPT_DATA, OPT_LIMIT, OPT_CANVAS, OPT_FILL, OPT_PERTURBATIONS, OPT_EVAL_STEPS
};

static const struct option long_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"layer", required_argument, NULL, OPT_LAYER},
    {"method", required_argument, NULL, OPT_METHOD},
    {"class", required_argument, NULL, OPT_CLASS},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"rule", required_argument, NULL, OPT_RULE},
    {"noise", required_argument, NULL, OPT_NOISE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"references", required_argument, NULL, OPT_REFERENCES},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"clean-difference", no_argument, NULL, OPT_CLEAN},
    {"size", required_argument, NULL, OPT_SIZE},
    {"mean", required_argument, NULL, OPT_MEAN},
    {"std", required_argument, NULL, OPT_STD},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"channels", required_argument, NULL, OPT_CHANNELS},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"out", required_argument, NULL, OPT_OUT},
    {"colormap", required_argument, NULL, OPT_COLORMAP},
    {"opacity", required_argument, NULL, OPT_OPACITY},
    {"layout", required_argument, NULL, OPT_LAYOUT},
    {"prefix-tokens", required_argument, NULL, OPT_PREFIX_TOKENS},
    {"input-shape", required_argument, NULL, OPT_INPUT_SHAPE},
    {"help", no_argument, NULL, OPT_HELP},
    {"data", required_argument, NULL, OPT_DATA},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"canvas", required_argument, NULL, OPT_CANVAS},
    {"fill", required_argument, NULL, OPT_FILL},
    {"perturbations", required_argument, NULL, OPT_PERTURBATIONS},
    {"eval-steps", required_argument, NULL, OPT_EVAL_STEPS},
    {NULL, 0, NULL, 0},
};

static const char *const command_names[] = {"explain", "compare", "layers", "eval"};

void cli_usage(enum cli_command cmd, FILE *to)
{
    if (cmd == CLI_LAYERS) {
        fputs("usage: egcam layers --model FILE --input-shape C,H,W [--device D]\n"
              "\n"
              "Print every module path of a TorchScript model with the shape of its output\n"
              "for one input of that shape: the names --layer accepts.\n",
              to);
        return;
    }
    if (cmd == CLI_EVAL)
        fputs("usage: egcam eval --model FILE --layer PATH --data PATH [options]\n"
              "\n"
              "Score the three methods on many images: deletion and insertion AUC,\n"
              "infidelity, max-sensitivity, complexity, average drop and increase in\n"
              "confidence, and with boxes the pointing game and its energy variant.\n"
              "Prints a table (mean and 95% interval per metric and method) and writes\n"
              "eval.md, eval.csv and curves.png (mean deletion and insertion curves).\n"
              "\n"
              "  --data PATH               Fashion-MNIST IDX: a *-images-idx3-ubyte.gz file\n"
              "                            or a folder with t10k-images-idx3-ubyte.gz; or a\n"
              "                            folder of PNGs (boxes from its boxes.csv)\n"
              "  --limit K                 the first K images (default all)\n"
              "  --canvas N                IDX items on N x N canvases among fragments of\n"
              "                            others, with their boxes (the localisation set)\n"
              "  --fill F                  blur|zeros|mean: what deleted pixels become\n"
              "  --perturbations P         draws for infidelity and max-sensitivity (10)\n"
              "  --eval-steps S            deletion/insertion steps (28)\n"
              "and the method, preprocessing, model and output flags of explain.\n",
              to);
    if (cmd == CLI_EVAL)
        return;
    fprintf(to,
            "usage: egcam %s --model FILE --layer PATH [options] INPUT...\n"
            "\n"
            "%s\n"
            "INPUT is a PNG file, a .npy float32 tensor [C,H,W] or [1,C,H,W] (used as is),\n"
            "or a folder of PNG files.\n"
            "\n"
            "Method:\n"
            "%s"
            "  --class K                 class to explain (default: the top logit)\n"
            "  --samples N               Expected Grad-CAM samples (default 50)\n"
            "  --steps M                 Integrated Grad-CAM steps (default 50)\n"
            "  --rule R                  midpoint|left|right|trapezoid (default midpoint)\n"
            "  --noise LEVEL             Expected Grad-CAM noise, a fraction of the input's\n"
            "                            range (default 0.1; 0 turns smoothing off)\n"
            "  --clean-difference        Expected Grad-CAM: A(x) - A(x'), N fewer forwards\n"
            "  --seed S                  random seed (default 1701274477)\n"
            "  --batch B                 inputs per model call (default 16)\n"
            "  --references FILE|DIR     Expected Grad-CAM references: a [R,C,H,W] .npy or\n"
            "                            a folder of PNGs (preprocessed like the inputs)\n"
            "  --baseline B              zeros|blur|uniform|FILE.npy (default zeros)\n"
            "Preprocessing of PNG inputs:\n"
            "  --size HxW                resize to H x W (default: keep the size)\n"
            "  --preset P                imagenet|none (default none: scale to [0,1])\n"
            "  --mean a,b,c  --std a,b,c per-channel normalisation\n"
            "  --channels C              1 or 3 (default: as stored; imagenet: 3)\n"
            "Model:\n"
            "  --model FILE --layer PATH a TorchScript file and a module path in it\n"
            "  --layout L                channels|tokens (default channels)\n"
            "  --prefix-tokens N         tokens layout: leading tokens off the grid (default 1)\n"
            "  --device D                cpu|cuda|cuda:N (default cpu)\n"
            "  --threads T               LibTorch intra-op threads\n"
            "Output:\n"
            "  --out DIR                 where files go (default .)\n"
            "  --labels FILE             class names, one per line\n"
            "  --colormap C              turbo|jet|viridis|inferno (default turbo)\n"
            "  --opacity A               overlay opacity in [0,1] (default 0.5)\n",
            command_names[cmd],
            cmd == CLI_EXPLAIN
                ? "Explain each input: writes NAME.map.npy (the normalised map, [H,W] at the\n"
                  "model's input size), NAME.layer.npy (the map at the layer, after ReLU) and,\n"
                  "for images, NAME.overlay.png; prints one JSON line per input.\n"
                : "Explain each input with the three methods: writes NAME.panel.png (the input\n"
                  "and the three maps side by side); prints one JSON line per input and method.\n",
            cmd == CLI_EXPLAIN
                ? "  --method M                gradcam|integrated|expected (default expected)\n"
                : "");
}

static int bad(const char *flag, const char *value, const char *why)
{
    fprintf(stderr, "egcam: --%s %s: %s\n", flag, value, why);
    return 2;
}

static int parse_u32(const char *s, uint32_t min, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX || v < min)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = (float)v;
    return 0;
}

static int parse_floats3(const char *s, float out[3])
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL, *tok = strtok_r(buf, ",", &save);
    for (int i = 0; i < 3; i++, tok = strtok_r(NULL, ",", &save))
        if (!tok || parse_float(tok, &out[i]) != 0)
            return -1;
    return tok ? -1 : 0;
}

static int lookup(const char *s, const char *const *names, const uint32_t *values, uint32_t *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = values[i];
            return 0;
        }
    return -1;
}

int cli_parse(enum cli_command cmd, int argc, char **argv, cli_options *o)
{
    memset(o, 0, sizeof *o);
    if (egcam_config_init(&o->cfg) != EGCAM_OK || egcam_preprocess_init(&o->pre) != EGCAM_OK ||
        egcam_torch_options_init(&o->torch) != EGCAM_OK ||
        egcam_eval_options_init(&o->eval) != EGCAM_OK)
        return 2;
    o->out_dir = ".";
    o->colormap = EGCAM_COLORMAP_TURBO;
    o->opacity = 0.5f;
    int mean_set = 0, std_set = 0;
    static const char *const methods[] = {"gradcam", "integrated", "expected", NULL};
    static const uint32_t method_values[] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                             EGCAM_METHOD_EXPECTED};
    static const char *const rules[] = {"midpoint", "left", "right", "trapezoid", NULL};
    static const uint32_t rule_values[] = {EGCAM_RULE_MIDPOINT, EGCAM_RULE_LEFT, EGCAM_RULE_RIGHT,
                                           EGCAM_RULE_TRAPEZOID};
    static const char *const baselines[] = {"zeros", "blur", "uniform", NULL};
    static const uint32_t baseline_values[] = {EGCAM_REFERENCES_ZEROS, EGCAM_REFERENCES_BLUR,
                                               EGCAM_REFERENCES_UNIFORM};
    static const char *const layouts[] = {"channels", "tokens", NULL};
    static const uint32_t layout_values[] = {EGCAM_TORCH_LAYOUT_CHANNELS, EGCAM_TORCH_LAYOUT_TOKENS};

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        const char *name = "";
        for (const struct option *lo = long_options; lo->name; lo++)
            if (lo->val == c)
                name = lo->name;
        const char *v = optarg;
        uint32_t u;
        int32_t cls;
        switch (c) {
        case 'h':
        case OPT_HELP:
            cli_usage(cmd, stdout);
            return 1;
        case OPT_MODEL: o->model = v; break;
        case OPT_LAYER: o->layer = v; break;
        case OPT_OUT: o->out_dir = v; break;
        case OPT_LABELS: o->labels = v; break;
        case OPT_DEVICE: o->torch.device = v; break;
        case OPT_METHOD:
            if (cmd != CLI_EXPLAIN || lookup(v, methods, method_values, &o->cfg.method) != 0)
                return bad(name, v, cmd != CLI_EXPLAIN ? "only for explain"
                                                       : "expected gradcam, integrated or expected");
            break;
        case OPT_CLASS:
            if (parse_u32(v, 0, &u) != 0 || u > INT32_MAX)
                return bad(name, v, "expected a class index >= 0");
            cls = (int32_t)u;
            o->cfg.target_class = cls;
            break;
        case OPT_SAMPLES:
            if (parse_u32(v, 1, &o->cfg.samples) != 0)
                return bad(name, v, "expected a whole number >= 1");
            break;
        case OPT_STEPS:
            if (parse_u32(v, 1, &o->cfg.steps) != 0)
                return bad(name, v, "expected a whole number >= 1");
            break;
        case OPT_BATCH:
            if (parse_u32(v, 1, &o->cfg.batch_size) != 0)
                return bad(name, v, "expected a whole number >= 1");
            break;
        case OPT_THREADS:
            if (parse_u32(v, 1, &o->threads) != 0)
                return bad(name, v, "expected a whole number >= 1");
            break;
        case OPT_PREFIX_TOKENS:
            if (parse_u32(v, 0, &o->torch.prefix_tokens) != 0)
                return bad(name, v, "expected a whole number");
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || !(v[0] >= '0' && v[0] <= '9'))
                return bad(name, v, "expected a whole number");
            o->cfg.seed = s;
            break;
        }
        case OPT_RULE:
            if (lookup(v, rules, rule_values, &o->cfg.rule) != 0)
                return bad(name, v, "expected midpoint, left, right or trapezoid");
            break;
        case OPT_NOISE:
            if (parse_float(v, &o->cfg.noise_level) != 0 || o->cfg.noise_level < 0)
                return bad(name, v, "expected a number >= 0");
            break;
        case OPT_CLEAN: o->cfg.flags |= EGCAM_FLAG_CLEAN_DIFFERENCE; break;
        case OPT_REFERENCES: o->references = v; break;
        case OPT_BASELINE:
            if (lookup(v, baselines, baseline_values, &o->cfg.references) != 0) {
                size_t n = strlen(v);
                if (n < 5 || strcmp(v + n - 4, ".npy") != 0)
                    return bad(name, v, "expected zeros, blur, uniform or a .npy file");
                o->baseline_file = v;
            }
            break;
        case OPT_SIZE: {
            char hbuf[16];
            const char *x = strchr(v, 'x');
            size_t hl = x ? (size_t)(x - v) : 0;
            uint32_t h, w;
            if (!x || hl == 0 || hl >= sizeof hbuf)
                return bad(name, v, "expected HxW, e.g. 224x224");
            memcpy(hbuf, v, hl);
            hbuf[hl] = '\0';
            if (parse_u32(hbuf, 1, &h) != 0 || parse_u32(x + 1, 1, &w) != 0 || h > 65535 ||
                w > 65535)
                return bad(name, v, "expected HxW, e.g. 224x224, each 1 to 65535");
            o->pre.height = h;
            o->pre.width = w;
            break;
        }
        case OPT_MEAN:
            if (parse_floats3(v, o->pre.mean) != 0)
                return bad(name, v, "expected three numbers a,b,c");
            mean_set = 1;
            break;
        case OPT_STD:
            if (parse_floats3(v, o->pre.std) != 0 || !(o->pre.std[0] > 0) ||
                !(o->pre.std[1] > 0) || !(o->pre.std[2] > 0))
                return bad(name, v, "expected three numbers a,b,c, each > 0");
            std_set = 1;
            break;
        case OPT_PRESET:
            if (strcmp(v, "imagenet") == 0) {
                egcam_preprocess p;
                if (egcam_preprocess_init_imagenet(&p) != EGCAM_OK)
                    return 2;
                if (!mean_set)
                    memcpy(o->pre.mean, p.mean, sizeof p.mean);
                if (!std_set)
                    memcpy(o->pre.std, p.std, sizeof p.std);
                if (!o->pre.channels)
                    o->pre.channels = p.channels;
            } else if (strcmp(v, "none") != 0) {
                return bad(name, v, "expected imagenet or none");
            }
            break;
        case OPT_CHANNELS:
            if (parse_u32(v, 1, &u) != 0 || (u != 1 && u != 3))
                return bad(name, v, "expected 1 or 3");
            o->pre.channels = u;
            break;
        case OPT_COLORMAP:
            if (!(o->colormap = egcam_colormap_by_name(v)))
                return bad(name, v, "expected turbo, jet, viridis or inferno");
            break;
        case OPT_OPACITY:
            if (parse_float(v, &o->opacity) != 0 || o->opacity < 0 || o->opacity > 1)
                return bad(name, v, "expected a number in [0, 1]");
            break;
        case OPT_LAYOUT:
            if (lookup(v, layouts, layout_values, &o->torch.layout) != 0)
                return bad(name, v, "expected channels or tokens");
            break;
        case OPT_INPUT_SHAPE:
            if (sscanf(v, "%d,%d,%d", &o->input_channels[0], &o->input_channels[1],
                       &o->input_channels[2]) != 3 ||
                o->input_channels[0] <= 0 || o->input_channels[1] <= 0 ||
                o->input_channels[2] <= 0)
                return bad(name, v, "expected C,H,W, e.g. 3,224,224");
            break;
        case OPT_DATA: o->data = v; break;
        case OPT_LIMIT:
            if (parse_u32(v, 1, &o->limit) != 0)
                return bad(name, v, "expected a whole number >= 1");
            break;
        case OPT_CANVAS:
            if (parse_u32(v, 1, &o->canvas) != 0)
                return bad(name, v, "expected a whole number >= 1");
            break;
        case OPT_PERTURBATIONS:
            if (parse_u32(v, 1, &o->eval.perturbations) != 0 || o->eval.perturbations > 10000)
                return bad(name, v, "expected a whole number from 1 to 10000");
            break;
        case OPT_EVAL_STEPS:
            if (parse_u32(v, 1, &o->eval.steps) != 0 || o->eval.steps > 10000)
                return bad(name, v, "expected a whole number from 1 to 10000");
            break;
        case OPT_FILL: {
            static const char *const fills[] = {"blur", "zeros", "mean", NULL};
            static const uint32_t fill_values[] = {EGCAM_FILL_BLUR, EGCAM_FILL_ZEROS,
                                                   EGCAM_FILL_MEAN};
            if (lookup(v, fills, fill_values, &o->eval.fill) != 0)
                return bad(name, v, "expected blur, zeros or mean");
            break;
        }
        case ':':
            fprintf(stderr, "egcam %s: %s needs a value\n", command_names[cmd], argv[optind - 1]);
            return 2;
        default:
            if (optopt > 0 && optopt < 256) /* a short flag: name it, not its cluster */
                fprintf(stderr, "egcam %s: unknown flag -%c (see egcam %s --help)\n",
                        command_names[cmd], optopt, command_names[cmd]);
            else
                fprintf(stderr, "egcam %s: unknown flag %s (see egcam %s --help)\n",
                        command_names[cmd], argv[optind - 1], command_names[cmd]);
            return 2;
        }
    }
    o->inputs = argv + optind;
    o->input_count = argc - optind;
    if (!o->model) {
        fprintf(stderr, "egcam %s: --model is required\n", command_names[cmd]);
        return 2;
    }
    if (cmd == CLI_LAYERS) {
        if (!o->input_channels[0]) {
            fprintf(stderr, "egcam layers: --input-shape is required\n");
            return 2;
        }
        if (o->input_count) {
            fprintf(stderr, "egcam layers: unexpected argument %s\n", o->inputs[0]);
            return 2;
        }
        return 0;
    }
    if (!o->layer) {
        fprintf(stderr, "egcam %s: --layer is required\n", command_names[cmd]);
        return 2;
    }
    if (cmd == CLI_EVAL) {
        if (!o->data) {
            fprintf(stderr, "egcam eval: --data is required\n");
            return 2;
        }
        if (o->input_count) {
            fprintf(stderr, "egcam eval: unexpected argument %s (images come from --data)\n",
                    o->inputs[0]);
            return 2;
        }
        o->eval.batch_size = o->cfg.batch_size;
        o->eval.seed = o->cfg.seed;
        return 0;
    }
    if (!o->input_count) {
        fprintf(stderr, "egcam %s: no INPUT given\n", command_names[cmd]);
        return 2;
    }
    return 0;
}
