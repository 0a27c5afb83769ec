/*
 * egcam - explain image classifiers from the command line.
 *
 *   egcam explain --model FILE --layer PATH [options] INPUT...
 *   egcam compare --model FILE --layer PATH [options] INPUT...
 *   egcam layers  --model FILE --input-shape C,H,W
 *   egcam eval    --model FILE --layer PATH --data PATH [options]
 *
 * Exit status: 0 success, 1 runtime error (the other inputs still run),
 * 2 bad usage. Errors are one line on stderr naming the file or flag;
 * standard output carries the program's own output only (process.h).
 */
#include <stdio.h>
#include <string.h>

#include <egcam/egcam.h>

#include "commands.h"
#include "options.h"
#include "process.h"

static const struct {
    const char *name;
    enum cli_command cmd;
    int (*run)(cli_options *o);
    const char *what;
} commands[] = {
    {"explain", CLI_EXPLAIN, cli_explain_main,
     "explain inputs with one method: maps as .npy, overlays as PNG"},
    {"compare", CLI_COMPARE, cli_compare_main,
     "Grad-CAM, Integrated and Expected Grad-CAM side by side, as PNG panels"},
    {"layers", CLI_LAYERS, cli_layers_main,
     "list a model's layers, their output shapes and the layout each needs"},
    {"eval", CLI_EVAL, cli_eval_main,
     "score the three methods' faithfulness and localisation on a data set"},
};
enum { COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *to)
{
    fputs("usage: egcam explain|compare|layers|eval [options]   (egcam COMMAND --help for more)\n"
          "\n",
          to);
    for (int i = 0; i < COMMANDS; i++)
        fprintf(to, "  %-8s %s\n", commands[i].name, commands[i].what);
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(cli_out());
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        fprintf(cli_out(), "egcam %s\n", egcam_version_string());
        return 0;
    }
    for (int i = 0; i < COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        cli_options o;
        int rc = cli_parse(commands[i].cmd, argc - 1, argv + 1, &o);
        if (rc)
            return rc == 1 ? 0 : rc;
        if (cli_check_headroom("to start") != 0)
            return 1;
        cli_reserve_blas();
        cli_tune_allocator();
        return commands[i].run(&o);
    }
    fprintf(stderr, "egcam: unknown command '%s' (explain, compare, layers or eval)\n", argv[1]);
    return 2;
}

int main(int argc, char **argv)
{
    if (cli_process_start() != 0)
        cli_exit(1);
    cli_exit(run_command(argc, argv));
}
