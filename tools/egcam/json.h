/* json.h - the JSON the egcam program prints. */
#ifndef EGCAM_CLI_JSON_H
#define EGCAM_CLI_JSON_H

#include <stdio.h>

/* s as a JSON string, quotes included. Bytes that are not valid UTF-8 (a
 * file name or label in another encoding) are written as \ufffd, one per
 * byte, so that the line stays valid JSON; control characters as \u00XX. */
void cli_json_string(FILE *f, const char *s);

#endif
