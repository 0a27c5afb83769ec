/*
 * explain_png.c - the shortest useful program: explain one PNG with a
 * TorchScript model and write the Expected Grad-CAM overlay.
 *
 *     explain_png MODEL.pt LAYER INPUT.png OUTPUT.png
 *
 * Build against an installed libegcam:
 *     cc explain_png.c $(pkg-config --cflags --libs egcam-torch) -o explain_png
 */
#include <stdio.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.pt LAYER INPUT.png OUTPUT.png\n", argv[0]);
        return 2;
    }
    egcam_ctx *ctx = NULL;
    egcam_backend *model = NULL;
    egcam_image *image = NULL, *overlay = NULL;
    egcam_tensor *input = NULL;
    egcam_result *result = NULL;
    egcam_preprocess pre;
    egcam_config cfg;
    int rc = 1;

    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return 1;
    if (egcam_torch_open(ctx, argv[1], argv[2], NULL, &model) != EGCAM_OK ||
        egcam_png_read(ctx, argv[3], 3, &image) != EGCAM_OK ||
        egcam_preprocess_init(&pre) != EGCAM_OK || /* keep the size, scale to [0, 1] */
        egcam_preprocess_image(ctx, image, &pre, &input) != EGCAM_OK ||
        egcam_config_init(&cfg) != EGCAM_OK || /* Expected Grad-CAM, N = 50 */
        egcam_explain(ctx, model, &cfg, input, NULL, &result) != EGCAM_OK)
        goto done;
    uint32_t h, w;
    const float *map = egcam_result_map(result, EGCAM_MAP_NORMALIZED, &h, &w);
    if (egcam_render_overlay(ctx, image, map, h, w, EGCAM_COLORMAP_TURBO, 0.5f, &overlay) !=
            EGCAM_OK ||
        egcam_png_write(ctx, argv[4], overlay) != EGCAM_OK)
        goto done;
    printf("class %d, logit %.4f: %s\n", egcam_result_class(result), egcam_result_logit(result),
           argv[4]);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "explain_png: %s\n", egcam_ctx_last_error(ctx));
    egcam_image_free(overlay);
    egcam_result_free(result);
    egcam_tensor_free(input);
    egcam_image_free(image);
    egcam_backend_free(model);
    egcam_ctx_free(ctx);
    return rc;
}
