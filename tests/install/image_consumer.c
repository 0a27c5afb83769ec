/* image_consumer.c - a program of libegcam-image alone (pkg-config
 * egcam-image, or egcam::image in CMake): an image made, encoded as PNG in
 * memory, decoded again. Prints "image: ok" when the pixels came back. */
#include <stdio.h>
#include <string.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

int main(void)
{
    egcam_ctx *ctx = NULL;
    egcam_image *image = NULL, *back = NULL;
    egcam_bytes *png = NULL;
    int ok = egcam_ctx_new(&ctx) == EGCAM_OK && egcam_image_new(ctx, 4, 3, 3, &image) == EGCAM_OK;
    for (int i = 0; ok && i < 4 * 3 * 3; i++)
        image->pixels[i] = (uint8_t)(i * 7);
    ok =
        ok && egcam_png_encode(ctx, image, &png) == EGCAM_OK &&
        egcam_png_decode(ctx, egcam_bytes_data(png), egcam_bytes_size(png), 3, &back) == EGCAM_OK &&
        memcmp(back->pixels, image->pixels, 4 * 3 * 3) == 0;
    if (!ok)
        fprintf(stderr, "image_consumer: %s\n", egcam_ctx_last_error(ctx));
    else
        printf("image: ok (libegcam %s)\n", egcam_version_string());
    egcam_image_free(back);
    egcam_bytes_free(png);
    egcam_image_free(image);
    egcam_ctx_free(ctx);
    return ok ? 0 : 1;
}
