#!/usr/bin/env python3
"""Write the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<name>/).

Run from anywhere: python3 tests/fuzz/make-corpus.py. Only the standard
library; the output is deterministic, and the files are committed. Each seed
is a small, valid (or nearly valid) input in the layout its harness reads;
see the comment at the top of each fuzz_<name>.c.
"""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")


def write(name, fname, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


# ---- PNG: one option byte, then the file -----------------------------------

def chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body +
            struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def adam7_passes(w, h):
    starts = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
              (1, 0, 2, 2), (0, 1, 1, 2)]
    for x0, y0, dx, dy in starts:
        cols = list(range(x0, w, dx))
        rows = list(range(y0, h, dy))
        if cols and rows:
            yield cols, rows


def png(w, h, depth, color, pixels, interlace=0, extra=b"", iend=True):
    """pixels[y][x] is a tuple of samples; packed MSB first for depth < 8."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]

    def row_bytes(samples):
        if depth >= 8:
            fmt = ">" + ("B" if depth == 8 else "H") * len(samples)
            return struct.pack(fmt, *samples)
        bits, out, n = 0, bytearray(), 0
        for s in samples:
            bits = (bits << depth) | s
            n += depth
            if n == 8:
                out.append(bits)
                bits, n = 0, 0
        if n:
            out.append(bits << (8 - n))
        return bytes(out)

    raw = bytearray()
    if interlace:
        for cols, rows in adam7_passes(w, h):
            for y in rows:
                raw += b"\0" + row_bytes([s for x in cols for s in pixels[y][x]])
    else:
        for y in range(h):
            raw += b"\0" + row_bytes([s for x in range(w) for s in pixels[y][x]])
    assert all(len(p) == channels for row in pixels for p in row)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(bytes(raw), 9)))
    return data + (chunk(b"IEND", b"") if iend else b"")


def make_png():
    with open(os.path.join(ROOT, "tests/fixtures/torch/input16.png"), "rb") as f:
        write("png", "input16-as-stored.bin", b"\x00" + f.read())
    gray1 = [[((x + y) % 2,) for x in range(5)] for y in range(3)]
    write("png", "gray1-as-gray.bin", b"\x01" + png(5, 3, 1, 0, gray1))
    pal = [[((x * 3 + y) % 16,) for x in range(4)] for y in range(3)]
    plte = chunk(b"PLTE", bytes(range(48)))
    trns = chunk(b"tRNS", bytes([0, 128, 255, 7]))
    write("png", "palette4-trns-as-rgb.bin", b"\x02" + png(4, 3, 4, 3, pal, extra=plte + trns))
    rgba16 = [[(x * 9000, y * 9000, 65535 - x * 4000, (x + y) * 7000) for x in range(5)]
              for y in range(5)]
    gama = chunk(b"gAMA", struct.pack(">I", 45455))
    write("png", "rgba16-adam7-gama.bin", b"\x00" + png(5, 5, 16, 6, rgba16, 1, gama))
    ga16 = [[(x * 20000, 65535 - y * 20000) for x in range(3)] for y in range(3)]
    write("png", "graya16-adam7-file-as-rgb.bin", b"\x82" + png(3, 3, 16, 4, ga16, 1))
    rgb = [[(x * 100, y * 100, 50) for x in range(2)] for y in range(2)]
    write("png", "rgb8-no-iend.bin", b"\x00" + png(2, 2, 8, 2, rgb, iend=False))
    write("png", "rgb8-as-gray.bin", b"\x01" + png(2, 2, 8, 2, rgb))
    ga8 = [[(x * 60, 255 - y * 80) for x in range(3)] for y in range(2)]
    write("png", "graya8-as-gray.bin", b"\x01" + png(3, 2, 8, 4, ga8))
    rgba8 = [[(x * 60, y * 90, 200, 128 + x) for x in range(3)] for y in range(2)]
    write("png", "rgba8-file-as-gray.bin", b"\x81" + png(3, 2, 8, 6, rgba8))
    huge = png(1, 1, 8, 0, [[(0,)]])
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    huge = huge[:8] + chunk(b"IHDR", ihdr) + huge[8 + 25:]
    write("png", "ihdr-over-the-limit.bin", b"\x00" + huge)
    trunc = png(8, 8, 8, 0, [[(x * y,) for x in range(8)] for y in range(8)])
    write("png", "gray8-truncated.bin", b"\x01" + trunc[:len(trunc) // 2])


# ---- .npy: the file itself -------------------------------------------------

def npy(header, floats, major=1):
    text = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H" if major == 1 else "<I", len(text))
    return (b"\x93NUMPY" + bytes([major, 0]) + length + text.encode() +
            struct.pack("<%df" % len(floats), *floats))


def make_npy():
    for v in (1, 2, 3):
        with open(os.path.join(ROOT, "tests/fixtures/io/f32_2x3x4_v%d.npy" % v), "rb") as f:
            write("npy", "f32-2x3x4-v%d.npy" % v, f.read())
    write("npy", "1d-double-quotes.npy",
          npy('{"shape": (3,), "fortran_order": False, "descr": "<f4"}', [1.5, -2.0, 0.25]))
    write("npy", "4d-long-suffix.npy",
          npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 1, 2, 2), }",
              [0.0, 1.0, 2.0, 3.0], 2))
    write("npy", "fortran-order.npy",
          npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", [1.0, 2.0]))


# ---- IDX: 6 header bytes, the images file, the labels file -----------------

def idx(dims, body):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def idx_input(flags, limit, canvas, seed, images, labels):
    return bytes([flags, limit - 1, canvas, seed]) + struct.pack("<H", len(images)) + images + labels


def make_idx():
    items = gzip.open(os.path.join(ROOT, "tests/fixtures/fashion/t10k-images-idx3-ubyte.gz")).read()
    labels = gzip.open(os.path.join(ROOT, "tests/fixtures/fashion/t10k-labels-idx1-ubyte.gz")).read()
    three = idx([3, 28, 28], items[16:16 + 3 * 784])
    three_labels = idx([3], labels[8:11])
    # gzip both here, labels file present
    write("idx", "fashion3-gz-labels.bin", idx_input(1 | 2 | 4, 256, 0, 0, three, three_labels))
    # canvases of 40 x 40, limit 2
    write("idx", "fashion3-canvas40.bin", idx_input(1 | 2 | 8, 2, 24, 7, three, three_labels))
    # the images as a real gzip stream in the input, no labels file
    small = idx([2, 3, 4], bytes(range(24)))
    write("idx", "small-gzip-stream.bin",
          idx_input(0, 256, 0, 0, gzip.compress(small, mtime=0), b""))
    # plain bytes, labels plain too
    write("idx", "small-plain-labels.bin", idx_input(2, 256, 0, 0, small, idx([2], b"\x01\x09")))


# ---- config: egcam_config (LP64), 16 control bytes, floats ------------------

def config(struct_size=144, method=3, target_class=-1, count=0, samples=50, steps=50, rule=1,
           batch=16, references=1, reference_count=16, flags=0, noise=0.1, blur=0.0,
           seed=0x6567636D):
    c = struct.pack("<QIiQIIIIIIIIffIIQ", struct_size, method, target_class, 0, count, samples,
                    steps, rule, batch, references, reference_count, flags, noise, blur, 0, 0,
                    seed)
    return c + bytes(64)


def ctl(b2=0, C=0, h=1, w=1, s=1, KL=0x21, cancel=0, refs=0, mismatch=(0, 0, 0)):
    return bytes([0, 0, b2, C, h, w, s, KL, cancel, refs]) + bytes(mismatch) + bytes(3)


def floats(n, step=0.37):
    return struct.pack("<%df" % n, *[((i * step) % 2.0) - 1.0 for i in range(n)])


def make_config():
    write("config", "defaults.bin", config() + ctl() + floats(64))
    write("config", "gradcam-nchw.bin", config(method=1) + ctl(b2=4, C=1) + floats(64))
    write("config", "integrated-trapezoid-blur.bin",
          config(method=2, rule=4, steps=7, references=2, blur=1.5, batch=3) +
          ctl(C=2, h=2, w=3, s=1) + floats(64))
    write("config", "expected-uniform.bin",
          config(samples=9, references=3, reference_count=4, batch=2, flags=1) +
          ctl(C=1) + floats(64))
    write("config", "expected-refset-cancel.bin",
          config(samples=9, batch=2) + ctl(b2=16 | 32, cancel=3, refs=0x0a) + floats(128))
    write("config", "weights-larger-struct.bin",
          config(struct_size=200, count=4, samples=5) + ctl(b2=2, KL=0x32) + floats(64))


# ---- backend: table header, shapes, operations -----------------------------

def make_backend():
    head = bytes([0, 0, 0]) + bytes([1, 2, 2, 1, 1, 1, 2])  # C2 H3 W3 K2 h2 w2 L3
    # op 0: explain, Expected Grad-CAM with 3 samples, batch 2, then honest answers
    explain = bytes([0, 2, 2, 2, 0, 1, 0, 0, 0, 2, 0, 16])
    write("backend", "explain-expected.bin", head + explain)
    # op 2: forward for backward (2 rows), op 3: backward
    # (36 input bytes, then one answer byte and two claims of 4 bytes)
    write("backend", "forward-backward.bin", head + bytes([2, 0x11]) + bytes(45) + bytes([3]))
    # op 1: a reference set of one baseline, then Integrated Grad-CAM over 4
    # steps for class 0 (the zeros that follow are read as zeros anyway)
    write("backend", "refset-integrated.bin", head + bytes([1, 1, 0, 3, 0, 1, 0, 0, 0, 1, 0]))
    # a table of abi_version 0
    write("backend", "abi0.bin", bytes([4, 0, 0]) + bytes(7))
    # forward whose activations claim another row count (kind 9 -> rows + 1)
    write("backend", "forward-wrong-rows.bin",
          head + bytes([2, 0x10]) + bytes(18) + bytes([0, 0x89, 0]) + bytes(8))


if __name__ == "__main__":
    make_png()
    make_npy()
    make_idx()
    make_config()
    make_backend()
