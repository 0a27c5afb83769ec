/* report.h - what the egcam program says about each result: a JSON line on
 * its output, and on stderr what the caller should know (a zero gradient). */
#ifndef EGCAM_CLI_REPORT_H
#define EGCAM_CLI_REPORT_H

#include <egcam/egcam.h>

#include "inputs.h"
#include "session.h"

/* The JSON line of one explanation of `in` with method (cli.md), timed ms. */
void cli_report(cli_session *s, const cli_input *in, uint32_t method, const egcam_result *res,
                double ms);

#endif
