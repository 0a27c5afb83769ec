/* session.h - what one run of explain, compare or eval shares across its
 * images: the context, the model, reference sets, labels, the progress bar. */
#ifndef EGCAM_CLI_SESSION_H
#define EGCAM_CLI_SESSION_H

#include <egcam/egcam.h>

#include "inputs.h"
#include "options.h"
#include "progress.h"

typedef struct cli_session {
    cli_options *o;
    egcam_ctx *ctx;
    egcam_backend *backend;
    egcam_refset *references; /* --references, for Expected Grad-CAM */
    egcam_refset *baseline;   /* --baseline FILE.npy */
    char **labels;
    int label_count;
    cli_progress progress;
    char said[2048];    /* cli_session_error()'s message */
    float *mask_seed;   /* --mask: the seed over the flattened output */
    uint32_t mask_size; /* its entries */
} cli_session;

/* Make the output folder, set threads, read labels, open the model and
 * forward the reference sets. Returns 0, or 1 after printing why. */
int cli_session_open(cli_session *s, cli_options *o);
void cli_session_close(cli_session *s);

/* Explain input (named path in messages) with method and combiner, as the
 * options say; NULL after printing why. *ms times the explanation. */
egcam_result *cli_session_explain(cli_session *s, const egcam_tensor *input, const char *path,
                                  uint32_t method, uint32_t combiner, double *ms);

/* The targets of each input as the options give them: *count of them, and
 * the list (NULL for the one target of cfg.target_class). */
const int32_t *cli_targets(const cli_session *s, uint32_t *count);

/* Explain n inputs of one shape with method and combiner, each for every
 * target (cli_targets), in one library call: results[i * T + t], NULL
 * where input i failed, which is said on stderr. A failure of the call
 * itself with n > 1 is retried one input at a time, so that each input gets
 * its own message. *ms times the whole. Returns how many inputs failed. */
int cli_session_explain_many(cli_session *s, const cli_input *const *ins, int n, uint32_t method,
                             uint32_t combiner, egcam_result **results, double *ms);

/* What explain and compare do with n loaded inputs of one shape: 0, or 1
 * after printing why. */
typedef int (*cli_batch_fn)(cli_session *s, const cli_input *const *ins, int n);

/* Open the session, list the inputs (files and folders), give each a
 * unique output name, load them and hand fn up to cap at a time (cap 0:
 * --batch) of one shape, so that they can share the model's calls; with a
 * progress bar over the inputs and the gradients that `count` explanations
 * with methods[] take (egcam_explain_cost()). A failed input is reported
 * and the others still run. Returns the exit status: 0, or 1 when anything
 * failed. */
int cli_session_each_batch(cli_options *o, const uint32_t *methods, int count, int cap,
                           cli_batch_fn fn);

/* The library's message for a failure with status st, in the CLI's words:
 * it names its C fields (config.batch_size) where the user set a flag
 * (--batch), and running out of memory says which flag lowers it. Owned
 * by s, valid until the next call. */
const char *cli_session_error(cli_session *s, egcam_status st, const char *message);

/* The config and reference set method runs with. */
const egcam_refset *cli_method_config(const cli_session *s, uint32_t method, egcam_config *cfg);

const char *cli_method_name(uint32_t method);             /* gradcam, integrated, expected */
const char *cli_method_title(uint32_t method);            /* Grad-CAM, ... */
const char *cli_label(const cli_session *s, int32_t cls); /* NULL when unknown */
double cli_now_ms(void);

#endif
