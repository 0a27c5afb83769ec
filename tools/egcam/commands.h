/* commands.h - the egcam program's subcommands, one file each. Each takes
 * the parsed command line and returns the exit status (docs/cli.md). */
#ifndef EGCAM_CLI_COMMANDS_H
#define EGCAM_CLI_COMMANDS_H

#include "options.h"

int cli_explain_main(cli_options *o); /* explain.c */
int cli_compare_main(cli_options *o); /* compare.c */
int cli_layers_main(cli_options *o);  /* layers.c */
int cli_eval_main(cli_options *o);    /* eval.c */

#endif
