/*
 * cost_table.c - the cost table of docs/method.md, from egcam_explain_cost():
 * the rows each method forwards and pulls back, for one input, with the
 * built-in references. The test 'cost_table' checks that the page shows
 * what this prints.
 *
 *     build/bench/egcam-cost-table
 */
#include <stdio.h>
#include <stdlib.h>

#include <egcam/egcam.h>

int main(void)
{
    static const struct {
        const char *what;
        uint32_t method, references, flags;
        float noise;
    } rows[] = {
        {"Grad-CAM", EGCAM_METHOD_GRADCAM, EGCAM_REFERENCES_ZEROS, 0, 0.1f},
        {"Integrated Grad-CAM, zeros or blur baseline", EGCAM_METHOD_INTEGRATED,
         EGCAM_REFERENCES_ZEROS, 0, 0.1f},
        {"Expected Grad-CAM, zeros or blur reference", EGCAM_METHOD_EXPECTED,
         EGCAM_REFERENCES_ZEROS, 0, 0.1f},
        {"Expected Grad-CAM, 16 uniform references", EGCAM_METHOD_EXPECTED,
         EGCAM_REFERENCES_UNIFORM, 0, 0.1f},
        {"Expected Grad-CAM, clean difference", EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS,
         EGCAM_FLAG_CLEAN_DIFFERENCE, 0.1f},
        {"Expected Grad-CAM, noise 0", EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, 0, 0.0f},
    };
    egcam_ctx *ctx;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return 1;
    const egcam_tensor input = {NULL, {3, 224, 224}, 3, 0}; /* any shape gives the same */
    printf("| N = M = 50 | forward rows | of which built-in references | backward rows |\n"
           "| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        egcam_config cfg;
        if (egcam_config_init(&cfg) != EGCAM_OK)
            return 1;
        cfg.method = rows[i].method;
        cfg.references = rows[i].references;
        cfg.reference_count = 16;
        cfg.flags = rows[i].flags;
        cfg.noise_level = rows[i].noise;
        cfg.samples = cfg.steps = 50;
        uint64_t forward, backward, references;
        egcam_status st =
            egcam_explain_cost(ctx, &cfg, &input, NULL, &forward, &backward, &references);
        if (st != EGCAM_OK) {
            fprintf(stderr, "%s: %s\n", rows[i].what, egcam_ctx_last_error(ctx));
            return 1;
        }
        printf("| %s | %llu | %llu | %llu |\n", rows[i].what, (unsigned long long)forward,
               (unsigned long long)references, (unsigned long long)backward);
    }
    egcam_ctx_free(ctx);
    return 0;
}
