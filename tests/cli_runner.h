/* cli_runner.h - running the egcam program from a cmocka test: a scratch
 * folder, the program's exit status, stdout and stderr (test_cli.c and
 * test_cli_hostile.c). */
#ifndef EGCAM_TEST_CLI_RUNNER_H
#define EGCAM_TEST_CLI_RUNNER_H

#include <stddef.h>

extern const char *program, *fixtures; /* absolute paths */
extern char tmp[256];                  /* the scratch folder commands run in */

typedef struct outcome {
    int status;      /* exit status; -1 when killed by a signal */
    char out[16384]; /* stdout */
    char err[4096];  /* stderr */
} outcome;

/* Run `egcam ARGS` (a format string) in the scratch folder. */
outcome *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same after a shell prefix (`ulimit -f 2;`), under `timeout SECONDS`
 * (exit 124 when it ran out). */
outcome *run_under(const char *prefix, int seconds, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The exit status must be status, and stderr must mention needle (if any). */
void expect(const outcome *o, int status, const char *needle);

const char *fixture(const char *name); /* FIXTURE_DIR/name, 4 rotating buffers */
char *slurp(const char *path, char *buf, size_t size);
void write_bytes(const char *name, const void *data, size_t n); /* in the scratch folder */

/* From main: absolute paths of argv[1..2], a fresh scratch folder; 0 or -1. */
int cli_runner_start(int argc, char **argv);
void cli_runner_end(void);

#endif
