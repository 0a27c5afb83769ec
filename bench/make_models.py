#!/usr/bin/python3
"""Make the TorchScript models bench/ times: torchvision's ResNet-18 and
VGG-11 (and, with --resnet50, ResNet-50 for the GPU run) at 224x224 with
random weights. No weights are downloaded: the speed of a network does not
depend on its weights.

    /usr/bin/python3 bench/make_models.py OUTDIR [--resnet50]

Writes OUTDIR/{resnet18,vgg11}.pt (traced, eval mode, fixed seed)."""
import argparse
import os

import torch
import torchvision


def export(name, net, outdir):
    torch.manual_seed(0)
    net.eval()
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        traced = torch.jit.trace(net, x)
    path = os.path.join(outdir, name + ".pt")
    traced.save(path)
    print(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--resnet50", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    torch.manual_seed(0)
    export("resnet18", torchvision.models.resnet18(weights=None), args.outdir)
    torch.manual_seed(0)
    export("vgg11", torchvision.models.vgg11(weights=None), args.outdir)
    if args.resnet50:
        torch.manual_seed(0)
        export("resnet50", torchvision.models.resnet50(weights=None), args.outdir)


if __name__ == "__main__":
    main()
