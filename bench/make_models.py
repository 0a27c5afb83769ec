#!/usr/bin/python3
"""Make the TorchScript models bench/ times: torchvision's ResNet-18 and
VGG-11 (and, with --resnet50, ResNet-50 for the GPU run) at 224x224 with
random weights. No weights are downloaded: the speed of a network does not
depend on its weights.

    /usr/bin/python3 bench/make_models.py OUTDIR [--resnet50]

Writes OUTDIR/{resnet18,vgg11}.pt (traced, eval mode, fixed seed), or
with --resnet50 only OUTDIR/resnet50.pt, from an equivalent definition here
where torchvision is missing."""
import argparse
import os

import torch
from torch import nn

try:
    import torchvision
except ImportError:  # the GPU machine's wheel may come without it
    torchvision = None


def export(name, net, outdir):
    torch.manual_seed(0)
    net.eval()
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        traced = torch.jit.trace(net, x)
    path = os.path.join(outdir, name + ".pt")
    traced.save(path)
    print(path)


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 block, for machines without torchvision: the
    same layers and shapes, so the same cost."""
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def resnet50_plain():
    net = nn.Module()
    net.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
    net.bn1 = nn.BatchNorm2d(64)
    net.relu = nn.ReLU(inplace=True)
    net.maxpool = nn.MaxPool2d(3, 2, 1)
    cin = 64
    for i, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2),
                                                 (512, 3, 2)]):
        layer = []
        for b in range(blocks):
            layer.append(Bottleneck(cin, width, stride if b == 0 else 1))
            cin = width * 4
        setattr(net, "layer%d" % (i + 1), nn.Sequential(*layer))
    net.avgpool = nn.AdaptiveAvgPool2d(1)
    net.fc = nn.Linear(2048, 1000)

    class ResNet50(nn.Module):
        def __init__(self):
            super().__init__()
            for name, child in net.named_children():
                setattr(self, name, child)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))
    return ResNet50()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--resnet50", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    if args.resnet50:  # the GPU run's model, alone
        torch.manual_seed(0)
        export("resnet50", torchvision.models.resnet50(weights=None) if torchvision
               else resnet50_plain(), args.outdir)
        return
    torch.manual_seed(0)
    export("resnet18", torchvision.models.resnet18(weights=None), args.outdir)
    torch.manual_seed(0)
    export("vgg11", torchvision.models.vgg11(weights=None), args.outdir)


if __name__ == "__main__":
    main()
