#!/usr/bin/python3
"""Print the markdown table of docs/performance.md from egcam-bench's JSON
lines (and bench/peers.py's, when given), with the derived ratios:

    python3 bench/table.py results.jsonl [peers.jsonl]
"""
import json
import os
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    rows = load(sys.argv[1])
    peers = load(sys.argv[2])[-1] if len(sys.argv) > 2 else None
    print("| model | layer | method | N | batch | explain ms | floor ms | ratio | "
          "forwards/s | peak MiB |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        model = os.path.splitext(os.path.basename(r["model"]))[0]
        if model == "model":  # a bundled model: name it by its folder
            model = "fashion " + os.path.basename(os.path.dirname(r["model"]))
        method = r["method"] + (" (clean difference)" if r["clean_difference"] else "")
        method += " (references made per call)" if r.get("uncached_refs") else ""
        floor = "%.1f" % r["floor_ms"] if r["floor_ms"] else "-"
        ratio = "%.3f" % r["ratio"] if r["ratio"] else "-"
        fps = r["forward_rows"] / (r["explain_ms"] / 1e3)
        print("| %s | %s | %s | %d | %d | %.1f | %s | %s | %.1f | %.0f |" % (
            model, r["layer"], method, r["n"], r["batch"], r["explain_ms"], floor, ratio,
            fps, r["peak_rss_mib"]))

    def find(**kw):  # the first ResNet-18 row with a floor and these values
        for r in rows:
            if ("resnet18" in r["model"] and r["floor_ms"] and not r.get("uncached_refs") and
                    all(r.get(k) == v for k, v in kw.items())):
                return r
        return None

    print()
    default = find(method="expected", n=50, clean_difference=0)
    clean = find(method="expected", n=50, clean_difference=1)
    if default and clean:
        print("- Clean difference / default, Expected Grad-CAM N = 50: %.3f" %
              (clean["explain_ms"] / default["explain_ms"]))
    small = [r for r in rows if "resnet18" in r["model"] and r["method"] == "expected"
             and not r["floor_ms"]]
    if len(small) == 2:
        a, b = sorted(small, key=lambda r: r["n"])
        print("- Peak memory, N = %d / N = %d at batch %d: %.3f (%.0f / %.0f MiB)" % (
            b["n"], a["n"], a["batch"], b["peak_rss_mib"] / a["peak_rss_mib"],
            b["peak_rss_mib"], a["peak_rss_mib"]))
    if peers:
        gc = find(method="gradcam")
        if default:
            print("- libegcam / Captum LayerGradientShap, N = %d, %d references, %d threads: "
                  "%.3f (%.1f / %.1f ms)" % (
                      peers["samples"], peers["refs"], peers["threads"],
                      default["explain_ms"] / peers["captum_layer_gradient_shap_ms"],
                      default["explain_ms"], peers["captum_layer_gradient_shap_ms"]))
        if gc:
            print("- libegcam / pytorch-grad-cam GradCAM, %d threads: %.3f (%.1f / %.1f ms)" % (
                peers["threads"], gc["explain_ms"] / peers["pytorch_grad_cam_gradcam_ms"],
                gc["explain_ms"], peers["pytorch_grad_cam_gradcam_ms"]))


if __name__ == "__main__":
    main()
