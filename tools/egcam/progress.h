/* progress.h - a progress bar on stderr, for long runs at a terminal. */
#ifndef EGCAM_CLI_PROGRESS_H
#define EGCAM_CLI_PROGRESS_H

#include <stdint.h>

#include <egcam/egcam.h>

typedef struct cli_progress {
    int enabled;
    int item, items;   /* which input of how many */
    int span;          /* inputs in the call that runs now, from item on */
    const char *label; /* what runs now */
} cli_progress;

/* Show a bar only when stderr is a terminal and the work is long. */
void cli_progress_start(cli_progress *p, egcam_ctx *ctx, int items, uint64_t samples_per_item);
void cli_progress_item(cli_progress *p, int item, const char *label);
/* A call that explains `span` inputs from `item` on: the bar counts them
 * as its samples are done. */
void cli_progress_items(cli_progress *p, int item, int span, const char *label);
void cli_progress_done(cli_progress *p);

#endif
