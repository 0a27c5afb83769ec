/* outputs.c - one input's files in --out (outputs.h). */
#include "outputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *out_path(const cli_session *s, const char *name, const char *suffix)
{
    size_t n = strlen(s->o->out_dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", s->o->out_dir, name, suffix);
    return p;
}

int cli_output(cli_outputs *o, const char *suffix, const egcam_tensor *tensor,
               const egcam_image *image)
{
    char *path = out_path(o->s, o->name, suffix);
    egcam_status st = !path    ? EGCAM_E_OUT_OF_MEMORY
                      : tensor ? egcam_npy_write(o->s->ctx, path, tensor)
                               : egcam_png_write(o->s->ctx, path, image);
    if (st != EGCAM_OK) {
        fprintf(stderr, "egcam: %s\n", path ? egcam_ctx_last_error(o->s->ctx) : "out of memory");
        free(path);
        return 1;
    }
    o->paths[o->count++] = path;
    return 0;
}

void cli_outputs_end(cli_outputs *o, int failed)
{
    for (int i = 0; i < o->count; i++) {
        if (failed)
            remove(o->paths[i]);
        free(o->paths[i]);
    }
    o->count = 0;
}
