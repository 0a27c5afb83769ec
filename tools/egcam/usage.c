/* usage.c - the egcam program's help, one page per subcommand. */
#include "options.h"

static const char *const command_names[] = {"explain", "compare", "layers", "eval"};

const char *cli_command_name(enum cli_command cmd) { return command_names[cmd]; }

void cli_usage(enum cli_command cmd, FILE *to)
{
    if (cmd == CLI_LAYERS) {
        fputs("usage: egcam layers --model FILE --input-shape C,H,W [--device D]\n"
              "\n"
              "Print every module path of a TorchScript model with the shape of its output\n"
              "for one input of that shape, and the --layout that output needs: the names\n"
              "--layer accepts.\n",
              to);
        return;
    }
    if (cmd == CLI_EVAL)
        fputs("usage: egcam eval --model FILE --layer PATH --data PATH [options]\n"
              "\n"
              "Score (estimator, combiner) pairs on many images: deletion and insertion\n"
              "AUC, infidelity, max-sensitivity, complexity, average drop and increase in\n"
              "confidence, with boxes the pointing game and its energy variant, and on\n"
              "request how early the layer saturates along the path from zeros. Each\n"
              "estimator explains an image once for all its pairs. Prints a table (mean\n"
              "and 95% interval per pair and metric) and writes eval.md (with paired\n"
              "differences), eval.csv, eval-paired.csv, eval-images.csv (every value),\n"
              "curves.png (mean deletion and insertion curves) and saturation.png.\n"
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
              "  --pairs LIST              ESTIMATOR[:COMBINER],... or all (3 x 7); default\n"
              "                            --methods x --combiners\n"
              "  --methods LIST            estimators (default gradcam,integrated,expected)\n"
              "  --combiners LIST          combiners or all (default: --combiner's)\n"
              "  --metrics LIST            deletion,insertion,infidelity,sensitivity,\n"
              "                            complexity,confidence,pointing,saturation or all\n"
              "                            (default all but saturation)\n"
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
            "  --combiner C              gradcam|gradcam++|xgradcam|hirescam|elementwise|\n"
            "                            layercam|complete (default gradcam)\n"
            "%s"
            "  --class K[,K2,...]        class(es) to explain (default: the top logit);\n"
            "                            several share the forward passes\n"
            "%s"
            "  --samples N               Expected Grad-CAM samples (default 50)\n"
            "  --steps M                 Integrated Grad-CAM steps (default 50)\n"
            "  --rule R                  midpoint|left|right|trapezoid (default midpoint)\n"
            "  --sampling S              Expected Grad-CAM: independent|stratified|antithetic\n"
            "                            (default independent; the others: less error per N)\n"
            "  --noise LEVEL             Expected Grad-CAM noise, a fraction of the input's\n"
            "                            range (default 0.1; 0 turns smoothing off)\n"
            "  --clean-difference        Expected Grad-CAM: A(x) - A(x'), N fewer forwards\n"
            "  --seed S                  random seed (default 1701274477)\n"
            "  --batch B                 inputs per model call (default 16)\n"
            "  --references FILE|DIR     Expected Grad-CAM references: a [R,C,H,W] .npy or\n"
            "                            a folder of PNGs (preprocessed like the inputs)\n"
            "  --baseline B              zeros|blur|uniform|FILE.npy (default zeros)\n"
            "Preprocessing of PNG inputs:\n"
            "  --size HxW                stretch to H x W (default: keep the size)\n"
            "  --resize S                the shorter side to S, aspect kept (torchvision's\n"
            "                            Resize(S))\n"
            "  --crop HxW|S              then the centre H x W (CenterCrop)\n"
            "  --preset P                imagenet|none (default none: scale to [0,1]);\n"
            "                            imagenet: --resize 256 --crop 224 unless a size is\n"
            "                            given, torchvision's mean and std, 3 channels\n"
            "  --mean a,b,c  --std a,b,c per-channel normalisation (one value: every channel)\n"
            "  --background B            PNG alpha: black|white|none (none: the colour as\n"
            "                            stored, as PIL's convert(\"RGB\"); default black)\n"
            "  --full-size               explain PNGs over 2048x2048 pixels given no size\n"
            "                            at full resolution (refused otherwise)\n"
            "  --channels C              1 or 3 (default: as stored; imagenet: 3)\n"
            "Model:\n"
            "  --model FILE --layer PATH a TorchScript file and a module path in it\n"
            "  --layout L                channels|channels_last|tokens (default channels;\n"
            "                            egcam layers says which a layer needs)\n"
            "  --keep-layout             use --layout even where it does not fit the input\n"
            "  --prefix-tokens N         tokens layout: leading tokens off the grid (default 1)\n"
            "  --token-grid HxW          tokens layout: the patch grid, when not square\n"
            "  --output KEY|INDEX        a forward returning a dict or tuple: the element\n"
            "                            holding the logits (torchvision segmentation: out)\n"
            "  --exact                   run the model below the layer as written, not\n"
            "                            frozen for inference (slower; bits as LibTorch's)\n"
            "  --max-model-mb M          refuse model files that inflate to more than M MiB\n"
            "                            (default 2 x the file + 64 MiB)\n"
            "  --device D                cpu|cuda|cuda:N (default cpu)\n"
            "  --threads T               LibTorch intra-op threads (1 to 1024)\n"
            "Output:\n"
            "  --out DIR                 where files go (default .)\n"
            "  --labels FILE             class names, one per line\n"
            "  --colormap C              turbo|jet|viridis|inferno (default turbo)\n"
            "  --opacity A               overlay opacity in [0,1] (default 0.5)\n",
            command_names[cmd],
            cmd == CLI_EXPLAIN
                ? "Explain each input: writes NAME.map.npy (the normalised map, [H,W] at the\n"
                  "model's input size), NAME.layer.npy (the map at the layer, after ReLU) and,\n"
                  "for images, NAME.overlay.png (NAME-2, NAME-3 ... when inputs share a name);\n"
                  "with several targets, NAME.classK.* or NAME.topR.* for each. Prints one JSON\n"
                  "line per input and target. Inputs of one size share model calls.\n"
                : "Explain each input with the three methods: writes NAME.panel.png (the input\n"
                  "and the three maps side by side); with several --combiners, a grid of\n"
                  "estimators down and combiners across, each row from one explanation; with\n"
                  "several targets (--class A,B or --top K), a row for each.\n"
                  "Prints one JSON line per input, estimator, target and combiner.\n",
            cmd == CLI_EXPLAIN
                ? "  --method M                gradcam|integrated|expected (default expected)\n"
                : "",
            cmd == CLI_EXPLAIN
                ? ""
                : "  --methods LIST            estimators (default all three)\n"
                  "  --combiners LIST          combiners, or all (default: --combiner)\n",
            "  --top K                   the K largest logits (default 1; at most 64)\n"
            "  --mask FILE.png           segmentation: explain --class K summed over the\n"
            "                            mask's non-zero pixels (the output's size)\n");
}
