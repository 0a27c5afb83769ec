#!/usr/bin/python3
"""Time the Python peers on the model and settings egcam-bench uses:
Captum's LayerGradientShap (Expected Gradients at a layer: the estimator of
Expected Grad-CAM before pooling) and pytorch-grad-cam's GradCAM.

Neither peer is a dependency of libegcam, and neither is committed. Fetch
them yourself and pass the folder that holds their packages:

    /usr/bin/python3 bench/peers.py --peers DIR [--samples 50] [--refs 16] \\
        [--threads 2] [--repeats 5] [--json FILE]
    /usr/bin/python3 bench/peers.py --peers DIR --images 64 [--batch 16] ...

The second form times pytorch-grad-cam's GradCAM on --images inputs, in
batches of --batch (one call per batch, a target per image) and one at a
time, as egcam-bench-many times libegcam on the same work.

DIR must hold captum/ and pytorch_grad_cam/ (the package folders of
github.com/pytorch/captum and github.com/jacobgil/pytorch-grad-cam). Runs
with Debian's python3-torch, python3-torchvision, python3-tqdm (Captum) and
python3-opencv (pytorch-grad-cam). pytorch-grad-cam imports ttach for
test-time augmentation, which it does not use here; a stand-in module is
installed when ttach is missing.

The model is torchvision's ResNet-18 with random weights at 224x224, as
bench/make_models.py makes it, explained at layer4 for its top class. Each
peer's time is the median of --repeats runs after one warm-up, in ms.
"""
import argparse
import json
import statistics
import sys
import time
import types

import torch
import torchvision


def ttach_stand_in():
    try:
        import ttach  # noqa: F401
    except ImportError:
        class Transform:  # GradCAM builds a default Compose it never runs here
            def __init__(self, *args, **kwargs):
                pass
        stub = types.ModuleType("ttach")
        stub.Compose = stub.HorizontalFlip = stub.Multiply = Transform
        sys.modules["ttach"] = stub


def uniform(shape, seed, lo=-2.0, hi=2.0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", required=True)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--refs", type=int, default=16)
    ap.add_argument("--noise-level", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--images", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    sys.path.insert(0, args.peers)
    ttach_stand_in()
    from captum.attr import LayerGradientShap
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = uniform((1, 3, 224, 224), 1)
    refs = uniform((args.refs, 3, 224, 224), 2)
    with torch.no_grad():
        cls = int(model(x).argmax())
    # libegcam's sigma: noise_level * (max(x) - min(x)).
    sigma = args.noise_level * float(x.max() - x.min())

    shap = LayerGradientShap(model, model.layer4)

    def captum_expected():
        attr = shap.attribute(x, baselines=refs, n_samples=args.samples, stdevs=sigma,
                              target=cls)
        with torch.no_grad():  # pooled into a map, as libegcam returns it
            acts = model.layer4(model.layer3(model.layer2(model.layer1(
                model.maxpool(model.relu(model.bn1(model.conv1(x))))))))
            weights = attr.mean(dim=(2, 3), keepdim=True)
            return torch.relu((weights * acts).sum(1))

    gradcam = GradCAM(model=model, target_layers=[model.layer4])
    targets = [ClassifierOutputTarget(cls)]

    def gradcam_map():
        return gradcam(input_tensor=x, targets=targets)

    if args.images:
        results = batched_gradcam(args, model, GradCAM, ClassifierOutputTarget)
        print(json.dumps(results))
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(results) + "\n")
        return

    results = {
        "threads": args.threads, "samples": args.samples, "refs": args.refs,
        "captum_layer_gradient_shap_ms": timed(captum_expected, args.repeats),
        "pytorch_grad_cam_gradcam_ms": timed(gradcam_map, args.repeats),
        "torch": torch.__version__,
    }
    print(json.dumps(results))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(results) + "\n")


def batched_gradcam(args, model, GradCAM, ClassifierOutputTarget):
    """GradCAM on args.images inputs: in batches of args.batch, and one at a
    time; each image's target its top class, as egcam-bench-many's."""
    xs = torch.cat([uniform((1, 3, 224, 224), 1 + i) for i in range(args.images)])
    with torch.no_grad():
        classes = [int(c) for c in model(xs).argmax(1)]
    cam = GradCAM(model=model, target_layers=[model.layer4])

    def batched():
        for i in range(0, args.images, args.batch):
            targets = [ClassifierOutputTarget(c) for c in classes[i:i + args.batch]]
            cam(input_tensor=xs[i:i + args.batch], targets=targets)

    def one_at_a_time():
        for i in range(args.images):
            cam(input_tensor=xs[i:i + 1], targets=[ClassifierOutputTarget(classes[i])])

    # Alternated, as egcam-bench-many alternates its two.
    batched(), one_at_a_time()  # warm-up
    many, one = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        batched()
        t1 = time.perf_counter()
        one_at_a_time()
        t2 = time.perf_counter()
        many.append((t1 - t0) * 1e3)
        one.append((t2 - t1) * 1e3)
    m, s = statistics.median(many), statistics.median(one)
    return {"peer": "pytorch_grad_cam_gradcam", "images": args.images, "batch": args.batch,
            "threads": args.threads, "repeats": args.repeats, "many_ms": m, "one_ms": s,
            "ratio": m / s, "torch": torch.__version__}


if __name__ == "__main__":
    main()
