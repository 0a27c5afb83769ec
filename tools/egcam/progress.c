/* progress.c - the bar, drawn from libegcam's progress hook. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

enum { BAR = 30 };

static int draw(void *user, uint64_t done, uint64_t total)
{
    const cli_progress *p = user;
    double part = total ? (double)p->span * (double)done / (double)total : (double)p->span;
    double all = ((double)p->item + part) / (double)p->items;
    int filled = (int)(all * BAR + 0.5);
    int shown = p->item + 1 + (int)part; /* the input at work, counting from 1 */
    shown = shown > p->items ? p->items : shown;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %d/%d %-30.30s", filled,
            "==============================", BAR - filled, "", (int)(all * 100 + 0.5), shown,
            p->items, p->label ? p->label : "");
    fflush(stderr);
    return 0;
}

void cli_progress_start(cli_progress *p, egcam_ctx *ctx, int items, uint64_t samples_per_item)
{
    *p = (cli_progress){0};
    p->items = items > 0 ? items : 1;
    p->enabled = isatty(fileno(stderr)) && (items >= 4 || samples_per_item >= 64);
    if (p->enabled && egcam_ctx_set_progress(ctx, draw, p) != EGCAM_OK)
        p->enabled = 0;
}

void cli_progress_item(cli_progress *p, int item, const char *label)
{
    cli_progress_items(p, item, 1, label);
}

void cli_progress_items(cli_progress *p, int item, int span, const char *label)
{
    p->item = item;
    p->span = span > 0 ? span : 1;
    p->label = label;
    if (p->enabled)
        draw(p, 0, 1);
}

void cli_progress_done(cli_progress *p)
{
    if (p->enabled)
        fprintf(stderr, "\r%*s\r", BAR + 50, "");
}
