/* process.c - the egcam program's own process: output stream, start-up,
 * address space, exit (process.h). */
#define _GNU_SOURCE /* setenv */
#include "process.h"

#include <dlfcn.h>
#include <errno.h>
#ifdef __GLIBC__
#  include <malloc.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/lsan_interface.h>
#  define CLI_LEAK_CHECK() __lsan_do_leak_check()
#else
#  define CLI_LEAK_CHECK() ((void)0)
#endif

/* OpenBLAS's work buffer, which it maps at its first call (Debian's
 * build: BUFFER_SIZE, 128 MiB), and what the rest of one explanation of
 * the bundled models needs on top. Measured: with less room than the
 * buffer, OpenBLAS retries its allocation forever (docs/hardening.md). */
#define OPENBLAS_BUFFER ((uint64_t)128 << 20)
#define WORKING_MARGIN ((uint64_t)48 << 20)

static FILE *out;

FILE *cli_out(void) { return out ? out : stdout; }

/* ---- before the libraries start ------------------------------------------ */

/* LibTorch and OpenBLAS initialise before main(): OpenBLAS starts a thread
 * per core (raising SIGINT when it cannot), and LibTorch registers its
 * operators (aborting on std::bad_alloc when memory is short). Neither can
 * be caught where it happens, so until main() begins these two signals end
 * the program with a line that says what went wrong. */
static char startup_message[320];

static void startup_failed(int sig)
{
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, startup_message, strlen(startup_message));
    (void)ignored;
    _exit(1);
}

/* One OpenBLAS thread: LibTorch runs its own threads around BLAS calls
 * (nested threads only compete), and every OpenBLAS thread costs a
 * 128 MiB buffer and a thread stack. OpenBLAS reads the setting when it
 * starts, before main(), and libc's own start-up then resets the
 * environment to the one the program was given: so the program starts
 * itself again, at once, with OPENBLAS_NUM_THREADS=1 added. The user's
 * setting (OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or OMP_NUM_THREADS)
 * wins, and is also what stops the loop. */
static void one_openblas_thread(char **argv, char **envp)
{
    static const char *const names[] = {
        "OPENBLAS_NUM_THREADS=", "GOTO_NUM_THREADS=", "OMP_NUM_THREADS="};
    size_t n = 0;
    for (; envp && envp[n]; n++)
        for (size_t k = 0; k < 3; k++)
            if (strncmp(envp[n], names[k], strlen(names[k])) == 0)
                return;
    char **env = malloc((n + 2) * sizeof *env);
    if (!env)
        return;
    for (size_t i = 0; i < n; i++)
        env[i] = envp[i];
    env[n] = (char *)"OPENBLAS_NUM_THREADS=1";
    env[n + 1] = NULL;
    execve("/proc/self/exe", argv, env);
    free(env); /* no /proc: go on with OpenBLAS's default */
}

static void before_libraries(int argc, char **argv, char **envp)
{
    (void)argc;
    one_openblas_thread(argv, envp);
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
        snprintf(startup_message, sizeof startup_message,
                 "egcam: LibTorch or OpenBLAS failed while starting, before egcam could run: "
                 "out of memory under the address-space limit (ulimit -v %llu kB); egcam needs "
                 "about 800 MB (docs/hardening.md)\n",
                 (unsigned long long)lim.rlim_cur / 1024);
    else
        snprintf(startup_message, sizeof startup_message,
                 "egcam: LibTorch or OpenBLAS failed while starting, before egcam could run "
                 "(OpenBLAS interrupts a program whose threads it cannot start: memory or "
                 "process limits; docs/hardening.md)\n");
    signal(SIGABRT, startup_failed);
    signal(SIGINT, startup_failed);
}

/* glibc runs an executable's .preinit_array before any shared library's
 * initialisers, with main's arguments. */
__attribute__((section(".preinit_array"),
               used)) static void (*const preinit)(int, char **, char **) = before_libraries;

int cli_process_start(void)
{
    signal(SIGABRT, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    int fd = dup(STDOUT_FILENO);
    if (fd < 0) /* no standard output: writing to it fails, and says so at exit */
        return 0;
    if (!(out = fdopen(fd, "w"))) {
        close(fd);
        fprintf(stderr, "egcam: standard output: %s\n", strerror(errno));
        return 1;
    }
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fprintf(stderr, "egcam: standard error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

/* ---- address space --------------------------------------------------------- */

/* Bytes of address space mapped now (the first field of /proc/self/statm). */
static uint64_t mapped_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (f) {
        if (fscanf(f, "%llu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)pages * (uint64_t)(page > 0 ? page : 4096);
}

int cli_check_headroom(const char *when)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
        return 0;
    uint64_t used = mapped_now(), limit = (uint64_t)lim.rlim_cur;
    uint64_t need = OPENBLAS_BUFFER + WORKING_MARGIN;
    if (used < limit && limit - used >= need)
        return 0;
    fprintf(stderr,
            "egcam: not enough memory %s: the address-space limit (ulimit -v %llu kB) leaves "
            "%llu MiB, and explaining needs at least %llu MiB more (OpenBLAS maps 128 MiB at "
            "its first call, and waits forever when it cannot); raise the limit "
            "(docs/hardening.md)\n",
            when, (unsigned long long)(limit / 1024),
            (unsigned long long)(used < limit ? (limit - used) >> 20 : 0),
            (unsigned long long)(need >> 20));
    return 1;
}

/* BLAS's sgemm, as Fortran declares it. */
typedef void sgemm_fn(const char *transa, const char *transb, const int *m, const int *n,
                      const int *k, const float *alpha, const float *a, const int *lda,
                      const float *b, const int *ldb, const float *beta, float *c, const int *ldc);

void cli_reserve_blas(void)
{
    /* The BLAS LibTorch links (OpenBLAS, or another) is in the global scope. */
    sgemm_fn *sgemm = (sgemm_fn *)(uintptr_t)dlsym(RTLD_DEFAULT, "sgemm_");
    if (!sgemm)
        return;
    int n = 2;
    float a[4] = {1, 0, 0, 1}, b[4] = {1, 0, 0, 1}, c[4], one = 1, zero = 0;
    sgemm("N", "N", &n, &n, &n, &one, a, &n, b, &n, &zero, c, &n);
}

void cli_tune_allocator(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* LibTorch allocates each pass's activations afresh, hundreds of MiB a
     * batch at 224 x 224: above glibc's largest dynamic mmap threshold
     * (32 MiB), so each is mapped, faulted in page by page and unmapped,
     * every pass. Kept in the heap they are reused: a process explaining
     * ResNet-18 four times faults 0.15 million pages instead of 1.07
     * million, and takes 0.89 of the time (docs/performance.md, "The
     * allocator"). Who sets glibc's malloc tunables has chosen; they are
     * left alone. */
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (tunables && strstr(tunables, "glibc.malloc."))
        return;
    if (mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1)
        (void)mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

/* ---- the end -------------------------------------------------------------- */

_Noreturn void cli_exit(int rc)
{
    if (out && (fflush(out) != 0 || ferror(out))) {
        fprintf(stderr, "egcam: standard output: %s\n", strerror(errno));
        rc = 1;
    }
    fflush(stdout); /* what libraries wrote there: standard error by now */
    fflush(stderr);
    CLI_LEAK_CHECK();
    _exit(rc);
}
