/* cli_runner.c - see cli_runner.h. */
#define _XOPEN_SOURCE 700 /* mkdtemp, realpath */
#include "cli_runner.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

const char *program, *fixtures;
char tmp[256];

char *slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static outcome *run_args(const char *prefix, int seconds, const char *args)
{
    static outcome o;
    char cmd[8192], out[512], err[512], limit[32] = "";
    snprintf(out, sizeof out, "%s/stdout.txt", tmp);
    snprintf(err, sizeof err, "%s/stderr.txt", tmp);
    if (seconds > 0)
        snprintf(limit, sizeof limit, "timeout %d ", seconds);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s%s %s > %s 2> %s", tmp, prefix, limit, program, args,
             out, err);
    int st = system(cmd);
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out, o.out, sizeof o.out);
    slurp(err, o.err, sizeof o.err);
    return &o;
}

outcome *run(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run_args("", 0, args);
}

outcome *run_under(const char *prefix, int seconds, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run_args(prefix, seconds, args);
}

void expect(const outcome *o, int status, const char *needle)
{
    if (o->status != status || (needle && !strstr(o->err, needle)))
        fail_msg("exit %d (want %d), stderr: %s (want it to mention \"%s\")", o->status, status,
                 o->err, needle ? needle : "");
}

const char *fixture(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", fixtures, name);
    return p;
}

void write_bytes(const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

int cli_runner_start(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s EGCAM_PROGRAM FIXTURE_DIR\n", argv[0]);
        return -1;
    }
    /* Absolute: the commands run from the scratch folder. */
    static char program_path[4096], fixtures_path[4096];
    if (!realpath(argv[1], program_path) || !realpath(argv[2], fixtures_path)) {
        perror("realpath");
        return -1;
    }
    program = program_path;
    fixtures = fixtures_path;
    snprintf(tmp, sizeof tmp, "%s/egcam-cli-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

void cli_runner_end(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
}
