/* process.h - what the egcam program controls about its own process: where
 * its output goes, how LibTorch and OpenBLAS start, how much address space
 * is left, and how it ends. Why each matters is in docs/hardening.md, "Low
 * memory". */
#ifndef EGCAM_CLI_PROCESS_H
#define EGCAM_CLI_PROCESS_H

#include <stdint.h>
#include <stdio.h>

/* The program's own output (JSON lines, tables, layer lists, help): the
 * standard output it was started with. From cli_process_start() on, file
 * descriptor 1 is a copy of standard error, so that anything else writing
 * there (a model's print(), a library's warning) cannot corrupt it. */
FILE *cli_out(void);

/* First thing in main: set up cli_out() and end the start-up guard (see
 * process.c). Returns 0, or 1 after printing why. */
int cli_process_start(void);

/* Whether the address-space limit (ulimit -v) leaves room for explaining;
 * 0, or 1 after printing why not (`when` says when, in the message). What
 * the process has mapped so far counts, so call it after the model is open
 * too. */
int cli_check_headroom(const char *when);

/* Make OpenBLAS map its work buffer now, while the room that
 * cli_check_headroom() found is there: a 2 x 2 product does it, and the
 * buffer is kept for every later call. Later, an allocation LibTorch
 * cannot make fails with a message, where OpenBLAS would have waited. */
void cli_reserve_blas(void);

/* Keep large blocks in glibc's heap for reuse instead of mapping each
 * afresh (mallopt), unless GLIBC_TUNABLES sets malloc's tunables. */
void cli_tune_allocator(void);

/* Flush cli_out() and stderr and end the process with status rc (1 when
 * the output could not be written), without running the libraries'
 * exit-time destructors: a thread stuck in OpenBLAS's allocator after an
 * out-of-memory error must not keep the program from exiting. */
_Noreturn void cli_exit(int rc);

#endif
