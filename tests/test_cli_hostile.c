/*
 * test_cli_hostile.c - the egcam program against hostile input and a
 * hostile environment: numbers out of range, inputs whose names collide,
 * links planted where outputs go, a full disk (the file-size limit), a
 * dangling --out, file names and labels that are not UTF-8, a model that
 * prints, a layer with no gradient, a channels-last layer, and memory
 * limits from 400 MB to 1.2 GB.
 *
 * Usage: test_cli_hostile EGCAM_PROGRAM FIXTURE_DIR (tests/fixtures/torch)
 */
#define _XOPEN_SOURCE 700 /* symlink */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "cli_runner.h"

static const char *scratch(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmp, name);
    return p;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void copy_file(const char *from, const char *to)
{
    char buf[1 << 16];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void assert_one_line(const char *text)
{
    const char *nl = strchr(text, '\n');
    if (!nl || nl[1] != '\0')
        fail_msg("not one line: %s", text);
}

/* Every value the issue found slipping through, and their kin: each a
 * usage error (2) on one line that names the flag. */
static void test_numbers_checked(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"--noise 1e39", "--noise 1e39"},
        {"--noise nan", "--noise nan"},
        {"--mean 1e300,0,0", "--mean 1e300,0,0"},
        {"--mean 0,0", "--mean 0,0"},
        {"--mean 0,0,0,0", "--mean 0,0,0,0"},
        {"--mean 1e300", "--mean 1e300"},
        {"--std 0", "--std 0"},
        {"--resize 65536", "--resize 65536"},
        {"--crop 0x5", "--crop 0x5"},
        {"--std 1,1,1e39", "--std 1,1,1e39"},
        {"--threads 4294967295", "--threads 4294967295"},
        {"--threads 0", "--threads 0"},
        {"--samples 5x", "--samples 5x"},
        {"--samples -5", "--samples -5"},
        {"--samples 4294967296", "--samples 4294967296"},
        {"--batch 1000000", "--batch 1000000"},
        {"--seed -1", "--seed -1"},
        {"--seed 18446744073709551616", "--seed 18446744073709551616"},
        {"--class 2147483648", "--class 2147483648"},
        {"--size 16x16junk", "--size 16x16junk"},
        {"--size 0x16", "--size 0x16"},
        {"--max-model-mb 0", "--max-model-mb 0"},
        {"--layout sideways", "expected channels, channels_last or tokens"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        outcome *o = run("explain --model M --layer L %s x.npy", cases[i][0]);
        expect(o, 2, cases[i][1]);
        assert_one_line(o->err);
    }
    static const char *const shapes[] = {"3,99999999999,1", "3,16,16junk", "3,16",
                                         "3,16,16,1",       "0,16,16",     "3,-16,16",
                                         "3,16,65536",      "+3,16,16"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        outcome *o = run("layers --model M --input-shape %s", shapes[i]);
        expect(o, 2, shapes[i]);
        assert_one_line(o->err);
    }
    expect(run("layers --model M --input-shape 3,16,16 --samples 4"), 2,
           "--samples is not a flag of layers");
}

/* d1/x.png, d2/x.png and x.npy: three inputs, three names; each output
 * file belongs to one input, and the JSON line says which. */
static void test_output_names_unique(void **state)
{
    (void)state;
    mkdir(scratch("d1"), 0755);
    mkdir(scratch("d2"), 0755);
    copy_file(fixture("input16.png"), scratch("d1/x.png"));
    copy_file(fixture("input16.png"), scratch("d2/x.png"));
    copy_file(fixture("plain_cnn.features.3/input.npy"), scratch("x.npy"));
    copy_file(fixture("input16.png"), scratch("x-2.png")); /* a name the renaming must skip */
    outcome *o = run("explain --model %s --layer features.3 --method gradcam --out names "
                     "d1/x.png d2/x.png x.npy x-2.png",
                     fixture("plain_cnn.pt"));
    expect(o, 0, "d2/x.png: its outputs are named x-3");
    assert_non_null(strstr(o->err, "x.npy: its outputs are named x-4"));
    assert_non_null(strstr(o->out, "\"input\": \"d1/x.png\", \"name\": \"x\""));
    assert_non_null(strstr(o->out, "\"input\": \"d2/x.png\", \"name\": \"x-3\""));
    assert_non_null(strstr(o->out, "\"input\": \"x.npy\", \"name\": \"x-4\""));
    assert_non_null(strstr(o->out, "\"input\": \"x-2.png\", \"name\": \"x-2\""));
    static const char *const files[] = {"names/x.map.npy", "names/x.overlay.png",
                                        "names/x-2.overlay.png", "names/x-3.overlay.png",
                                        "names/x-4.map.npy"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!exists(scratch(files[i])))
            fail_msg("%s was not written", files[i]);
    assert_false(exists(scratch("names/x-4.overlay.png"))); /* a .npy input has no picture */
}

/* A 64 x 64 PNG of noise: its overlay is larger than the maps. */
static void write_noise_png(const char *name)
{
    static uint8_t pixels[64 * 64 * 3];
    uint32_t v = 12345;
    for (size_t i = 0; i < sizeof pixels; i++) {
        v ^= v << 13, v ^= v >> 17, v ^= v << 5;
        pixels[i] = (uint8_t)v;
    }
    egcam_image img = {pixels, 64, 64, 3, 0};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_write(ctx, scratch(name), &img), EGCAM_OK);
    egcam_ctx_free(ctx);
}

/* A link planted at an output's name is replaced, not written through; a
 * disk that fills up (here the file-size limit, with SIGXFSZ ignored, as
 * a full disk gives ENOSPC) fails the input with the system's reason and
 * leaves none of its outputs: not the two maps written before the overlay
 * failed. */
static void test_outputs_whole_or_none(void **state)
{
    (void)state;
    const char *model = fixture("plain_cnn.pt");
    write_noise_png("noise.png");
    mkdir(scratch("atomic"), 0755);
    FILE *f = fopen(scratch("victim.txt"), "w");
    assert_non_null(f);
    fputs("keep me\n", f);
    fclose(f);
    assert_int_equal(symlink("../victim.txt", scratch("atomic/noise.map.npy")), 0);
    outcome *o = run("explain --model %s --layer features.3 --method gradcam --size 16x16 "
                     "--out atomic noise.png",
                     model);
    expect(o, 0, NULL);
    char text[64];
    assert_string_equal(slurp(scratch("victim.txt"), text, sizeof text), "keep me\n");
    struct stat st;
    assert_int_equal(lstat(scratch("atomic/noise.map.npy"), &st), 0);
    assert_true(S_ISREG(st.st_mode));

    o = run_under("trap '' XFSZ; ulimit -f 8;", 120,
                  "explain --model %s --layer features.3 --method gradcam --size 16x16 "
                  "--out full noise.png",
                  model);
    expect(o, 1, "full/noise.overlay.png: write error: File too large");
    assert_one_line(o->err);
    assert_string_equal(o->out, "");
    static const char *const gone[] = {"full/noise.map.npy", "full/noise.layer.npy",
                                       "full/noise.overlay.png"};
    for (size_t i = 0; i < 3; i++)
        if (exists(scratch(gone[i])))
            fail_msg("%s was left behind", gone[i]);
    /* Nor a temporary file. */
    DIR *d = opendir(scratch("full"));
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            fail_msg("full/%s was left behind", e->d_name);
    closedir(d);
}

static void test_out_dangling_link(void **state)
{
    (void)state;
    assert_int_equal(symlink("nowhere", scratch("dangling")), 0);
    outcome *o = run("explain --model %s --layer features.3 --out dangling %s",
                     fixture("plain_cnn.pt"), fixture("input16.png"));
    expect(o, 1, "--out dangling: a symbolic link to 'nowhere', which does not exist");
    assert_one_line(o->err);
}

/* Every byte of out is valid UTF-8. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80             ? 1
                   : (*p & 0xe0) == 0xc0 ? 2
                   : (*p & 0xf0) == 0xe0 ? 3
                   : (*p & 0xf8) == 0xf0 ? 4
                                         : 0;
        if (n == 0)
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

/* A file name and labels in Latin-1: the JSON line stays UTF-8, with
 * U+FFFD where a byte was not. */
static void test_json_is_utf8(void **state)
{
    (void)state;
    copy_file(fixture("input16.png"), scratch("caf\xe9.png"));
    static const char labels[] = "b\xf6se\nzero\xc0\xaf\nthree\xed\xa0\x80\nok\xe2\x82\xac\nfive\n";
    write_bytes("labels-latin1.txt", labels, sizeof labels - 1);
    for (int c = 0; c < 5; c++) {
        outcome *o = run("explain --model %s --layer features.3 --method gradcam --class %d "
                         "--labels labels-latin1.txt --out utf8 caf\xe9.png",
                         fixture("plain_cnn.pt"), c);
        expect(o, 0, NULL);
        if (!valid_utf8(o->out))
            fail_msg("not UTF-8: %s", o->out);
        assert_non_null(strstr(o->out, "\"input\": \"caf\\ufffd.png\""));
        static const char *const want[] = {"\"label\": \"b\\ufffdse\"",
                                           "\"label\": \"zero\\ufffd\\ufffd\"",
                                           "\"label\": \"three\\ufffd\\ufffd\\ufffd\"",
                                           "\"label\": \"ok\xe2\x82\xac\"", "\"label\": \"five\""};
        if (!strstr(o->out, want[c]))
            fail_msg("class %d: %s lacks %s", c, o->out, want[c]);
    }
}

/* A model that prints: its words go to stderr, stdout stays JSON lines. */
static void test_stdout_is_json_only(void **state)
{
    (void)state;
    outcome *o = run("compare --model %s --layer conv --samples 2 --steps 2 --out prints %s",
                     fixture("hostile/prints.pt"), fixture("input16.png"));
    expect(o, 0, "a line the model prints");
    int lines = 0;
    for (char *line = o->out; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        if (line[0] != '{' || nl[-1] != '}')
            fail_msg("not a JSON line: %.*s", (int)(nl - line), line);
        lines++;
        line = nl + 1;
    }
    assert_int_equal(lines, 3);
}

/* The ViT's last block: a JSON flag and a warning that names the cause. */
static void test_zero_gradient_warned(void **state)
{
    (void)state;
    outcome *o = run("explain --model %s --layer blocks.1 --layout tokens --method gradcam "
                     "--out vit %s",
                     fixture("tiny_vit.pt"), fixture("input16.png"));
    expect(o, 0, "is zero everywhere");
    assert_non_null(strstr(o->err, "class token"));
    assert_non_null(strstr(o->out, "\"zero_gradient\": true"));
    o = run("explain --model %s --layer blocks.1.norm1 --layout tokens --method gradcam "
            "--out vit %s",
            fixture("tiny_vit.pt"), fixture("input16.png"));
    expect(o, 0, NULL);
    assert_string_equal(o->err, "");
    assert_non_null(strstr(o->out, "\"zero_gradient\": false"));
}

/* `egcam layers` says which layout each layer needs; explain refuses the
 * wrong one with the flag that fixes it, and takes the right one. */
static void test_layouts(void **state)
{
    (void)state;
    outcome *o = run("layers --model %s --input-shape 3,16,16", fixture("swin_like.pt"));
    expect(o, 0, NULL);
    if (!strstr(o->out, "norm                                     1 x 4 x 4 x 24           "
                        "channels_last\n") ||
        !strstr(o->out, "patch                                    1 x 24 x 4 x 4           "
                        "channels\n"))
        fail_msg("layouts not shown: %s", o->out);
    o = run("layers --model %s --input-shape 3,16,16", fixture("tiny_vit.pt"));
    char line[128];
    snprintf(line, sizeof line, "%-40s %-24s tokens\n", "blocks.1.norm1", "1 x 17 x 16");
    if (!strstr(o->out, line))
        fail_msg("no \"%s\" in %s", line, o->out);
    o = run("explain --model %s --layer norm --out swin %s", fixture("swin_like.pt"),
            fixture("input16.png"));
    expect(o, 1, "--layout channels_last");
    assert_one_line(o->err);
    o = run("explain --model %s --layer norm --layout channels_last --out swin %s",
            fixture("swin_like.pt"), fixture("input16.png"));
    expect(o, 0, NULL);
    o = run("explain --model %s --layer norm --keep-layout --out swin %s", fixture("swin_like.pt"),
            fixture("input16.png"));
    expect(o, 0, NULL);
    /* A token grid that is not square: tiny_vit's 16 patch tokens laid out
     * 2 x 8 are explained; 3 x 5 does not hold them, and the backend says so. */
    o = run("explain --model %s --layer blocks.1.norm1 --layout tokens --token-grid 2x8 --out vit "
            "%s",
            fixture("tiny_vit.pt"), fixture("input16.png"));
    expect(o, 0, NULL);
    o = run("explain --model %s --layer blocks.1.norm1 --layout tokens --token-grid 3x5 --out vit "
            "%s",
            fixture("tiny_vit.pt"), fixture("input16.png"));
    expect(o, 1, "not a 3 x 5 grid");
    o = run("explain --model %s --layer blocks.1.norm1 --layout tokens --token-grid 3 --out vit %s",
            fixture("tiny_vit.pt"), fixture("input16.png"));
    expect(o, 2, "--token-grid");
}

/* From 400 MB to 1.2 GB of address space: every run ends by itself, with
 * its result (0), a line that says memory ran short (1), or, below what
 * the dynamic loader needs to map LibTorch, the loader's own message
 * (127); never a hang, a signal or a silent exit. Address-space limits
 * and AddressSanitizer's shadow memory do not mix: not run under ASan (a
 * cmocka skip reads as a failure in TAP, so it passes, saying so). */
static void test_memory_limits(void **state)
{
    (void)state;
    if (getenv("EGCAM_SANITIZE_NESTED")) {
        printf("# not run under ASan\n");
        return;
    }
    int worked = 0;
    for (int mb = 400; mb <= 1200; mb += 50) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "ulimit -v %d;", mb * 1000);
        outcome *o =
            run_under(prefix, 120, "explain --model %s --layer features.3 --samples 8 --out mem %s",
                      fixture("plain_cnn.pt"), fixture("input16.png"));
        if (o->status == 0) {
            worked++;
            continue;
        }
        if (o->status == 127 && strstr(o->err, "error while loading shared libraries"))
            continue;
        if (o->status != 1 || !strstr(o->err, "egcam: "))
            fail_msg("ulimit -v %d MB: exit %d, stderr: %s", mb, o->status, o->err);
        if (!strstr(o->err, "memory") && !strstr(o->err, "allocate"))
            fail_msg("ulimit -v %d MB: exit 1 without naming memory: %s", mb, o->err);
        if (strstr(o->err, "batch_size")) /* the C field: the user set --batch */
            fail_msg("ulimit -v %d MB: names the library's field: %s", mb, o->err);
    }
    assert_true(worked > 0); /* the top of the range is enough */
}

/* A batch too large for memory: the message names the flag that lowers it,
 * with its value, not the library's config field. 1000 rows of 3 x 512 x
 * 512 floats are 3 GB, beyond a 2.5 GB address space that LibTorch fits
 * in. Not under ASan, as above. */
static void test_out_of_memory_names_flag(void **state)
{
    (void)state;
    if (getenv("EGCAM_SANITIZE_NESTED")) {
        printf("# not run under ASan\n");
        return;
    }
    outcome *o = run_under("ulimit -v 2500000;", 120,
                           "explain --model %s --layer features.3 --size 512x512 --samples 1000 "
                           "--batch 1000 --out mem %s",
                           fixture("plain_cnn.pt"), fixture("input16.png"));
    expect(o, 1, "out of memory for a batch of 1000 inputs; try a smaller --batch (now 1000)");
    assert_null(strstr(o->err, "batch_size"));
}

int main(int argc, char **argv)
{
    if (cli_runner_start(argc, argv) != 0)
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_memory_names_flag),
        cmocka_unit_test(test_numbers_checked),
        cmocka_unit_test(test_output_names_unique),
        cmocka_unit_test(test_outputs_whole_or_none),
        cmocka_unit_test(test_out_dangling_link),
        cmocka_unit_test(test_json_is_utf8),
        cmocka_unit_test(test_stdout_is_json_only),
        cmocka_unit_test(test_zero_gradient_warned),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_memory_limits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cli_runner_end();
    return rc;
}
