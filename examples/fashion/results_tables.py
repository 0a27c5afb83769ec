#!/usr/bin/python3
"""Print the Markdown tables of docs/results.md from the files `egcam eval`
wrote for one model (eval.csv, eval-paired.csv, eval-images.csv).

    /usr/bin/python3 examples/fashion/results_tables.py fashion-eval/classifier

Nothing here measures: it only rounds and arranges what eval measured. A
paired difference is bold where its 95% interval excludes 0."""
import csv
import math
import os
import sys

TITLES = {"gradcam": "Grad-CAM", "integrated": "Integrated", "expected": "Expected"}
METRICS = [("Deletion AUC", "deletion", "lower"), ("Insertion AUC", "insertion", "higher"),
           ("Infidelity", "infidelity", "lower"), ("Max-sensitivity", "max-sens.", "lower"),
           ("Pointing game %", "pointing %", "higher"),
           ("Energy pointing game", "energy", "higher"),
           ("Complexity (entropy)", "entropy", "lower"), ("Average drop %", "drop", "lower"),
           ("Increase in confidence %", "increase", "higher")]


def num(v, digits=3):
    v = float(v)
    if v == 0 or not math.isfinite(v):
        return "%g" % v
    return "%.*g" % (digits, v)


def cell(mean, lo, hi, paired=False):
    half = (float(hi) - float(lo)) / 2
    text = "%s ± %s" % (num(mean), num(half, 2))
    if paired and (float(lo) > 0 or float(hi) < 0):
        text = "**%s**" % text
    return text


def read(folder, name):
    with open(os.path.join(folder, name)) as f:
        return list(csv.DictReader(f))


def pairs_of(rows):
    seen = []
    for r in rows:
        p = (r["method"], r["combiner"])
        if p not in seen:
            seen.append(p)
    return seen


def table(rows, metrics, key, paired=False, only=None):
    index = {(r["metric"],) + key(r): r for r in rows}
    pairs = [p for p in pairs_of(rows) if only is None or p in only]
    out = ["| estimator | combiner | " + " | ".join("%s (%s)" % (m, b) for m, _, b in metrics) +
           " |", "| --- | --- |" + " --- |" * len(metrics)]
    for p in pairs:
        cells = []
        for m, _, _ in metrics:
            r = index.get((m,) + p)
            if r is None:
                cells.append("")
                continue
            mean = r.get("mean", r.get("mean_difference"))
            cells.append(cell(mean, r["ci95_low"], r["ci95_high"], paired))
        out.append("| %s | %s | %s |" % (TITLES[p[0]], p[1], " | ".join(cells)))
    return "\n".join(out)


def main(folder):
    means = read(folder, "eval.csv")
    paired = read(folder, "eval-paired.csv")
    have = {r["metric"] for r in means}
    metrics = [m for m in METRICS if m[0] in have]
    print("### Every pair\n")
    print(table(means, metrics, lambda r: (r["method"], r["combiner"])))
    first = [r for r in paired if (r["versus_method"], r["versus_combiner"]) == ("gradcam", "gradcam")]
    print("\n### Paired differences from Grad-CAM (each pair minus Grad-CAM, same images)\n")
    print(table(first, metrics, lambda r: (r["method"], r["combiner"]), paired=True))
    within = [r for r in paired if r["versus_combiner"] == "gradcam" and
              r["versus_method"] == r["method"] and r["combiner"] == "complete"]
    core = [m for m in metrics if m[0] in ("Deletion AUC", "Insertion AUC", "Infidelity")]
    print("\n### Completeness: complete minus the Grad-CAM combination, per estimator\n")
    print(table(within, core, lambda r: (r["method"], r["combiner"]), paired=True))
    images = read(folder, "eval-images.csv")
    if "saturation_area" in images[0]:
        area = {}
        for r in images:
            area[r["image"]] = float(r["saturation_area"])
        values = sorted(area.values())
        q3 = values[min(3 * len(values) // 4, len(values) - 1)]
        top = {i for i, a in area.items() if a >= q3}
        print("\n### Insertion AUC by saturation (most saturated quartile: area >= %s, %d images)\n"
              % (num(q3), len(top)))
        print("| estimator | combiner | most saturated quartile | the rest | quartile minus rest "
              "| minus Grad-CAM, quartile | minus Grad-CAM, rest |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        value = {(r["image"], r["method"], r["combiner"]): float(r["insertion"]) for r in images}
        for p in pairs_of(images):
            cells = []
            for diff in (False, True):
                for part in (True, False):
                    v = [value[(i, p[0], p[1])] - (value[(i, "gradcam", "gradcam")] if diff else 0)
                         for i in area if (i in top) == part]
                    m = sum(v) / len(v)
                    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
                    cells.append((m, 1.96 * sd / math.sqrt(len(v))))
            gap = (cells[0][0] - cells[1][0], math.hypot(cells[0][1], cells[1][1]))
            shown = [cells[0], cells[1], gap] + ([cells[2], cells[3]] if p != ("gradcam", "gradcam")
                                                 else [])
            texts = []
            for k, (m, h) in enumerate(shown):
                t = "%s ± %s" % (num(m), num(h, 2))
                texts.append("**%s**" % t if k >= 2 and abs(m) > h else t)
            texts += ["-"] * (5 - len(texts))
            print("| %s | %s | %s |" % (TITLES[p[0]], p[1], " | ".join(texts)))

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
