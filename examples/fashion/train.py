#!/usr/bin/python3
"""Train the bundled Fashion-MNIST models and export them as TorchScript.

    /usr/bin/python3 examples/fashion/train.py classify  OUTDIR
    /usr/bin/python3 examples/fashion/train.py localize  OUTDIR
    /usr/bin/python3 examples/fashion/train.py saturate  OUTDIR

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
70,000 real 28 x 28 product photos in 10 classes. CPU only, fixed seeds.

classify  a small CNN on the photos as they are (input 1 x 28 x 28).
localize  a small CNN on 84 x 84 canvases: each test or training item pasted at
          a random place among fragments of other items, its box recorded, so
          that "where" has an answer (input 1 x 84 x 84).
saturate  the classifier's layout (explained at the same features.12) with
          saturating units, clamp(2 x, 0, 1) after batch norm without a learned
          scale, so that many units are flat at x and the gradient there says
          little: the regime Integrated and Expected Grad-CAM are meant for.

Each writes OUTDIR/model.pt (TorchScript), labels.txt, accuracy.txt (the
measured test accuracy) and OUTDIR/images/*.png: the first test images, named
NNN_label.png, with boxes.csv (name,x0,y0,x1,y1,class) for localize. Inputs
are pixels / 255 (the egcam default preprocessing: no --preset).
Nothing at run time needs Python: this script only reproduces the files.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

DATA = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CANVAS = 84


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Classifier(nn.Module):
    """Two conv blocks, global average pooling, a linear head."""
    def __init__(self, width=32):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * w, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class Localizer(nn.Module):
    """Three conv blocks on the 84 x 84 canvas, global average pooling."""
    def __init__(self, width=16):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(inplace=True),
            nn.Conv2d(4 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * w, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class Saturate(nn.Module):
    """clamp(gain * x, 0, 1): a unit that is flat (zero gradient) once its
    input passes 1 / gain, like ReLU6 with a low ceiling."""
    def __init__(self, gain):
        super().__init__()
        self.gain = gain

    def forward(self, x):
        return torch.clamp(x * self.gain, 0.0, 1.0)


class Saturating(nn.Module):
    """The classifier's layout (the same module paths) with saturating units:
    batch norm without a learned scale (so training cannot shrink its way
    out of the ceiling), then Saturate(2): at the batch statistics, a unit is
    flat above half a standard deviation, about 3 units in 10."""
    def __init__(self, width=32, gain=2.0):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w, affine=False), Saturate(gain),
            nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w, affine=False), Saturate(gain),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w, affine=False), Saturate(gain),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w, affine=False),
            Saturate(gain),
            nn.MaxPool2d(2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * w, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def canvases(images, labels, rng, fragments=6):
    """Each item at a random place on an 84 x 84 canvas strewn with fragments
    (random 8-14 pixel crops) of other items; returns canvases and boxes."""
    n = len(images)
    out = np.zeros((n, CANVAS, CANVAS), dtype=np.uint8)
    boxes = np.zeros((n, 4), dtype=np.int64)
    for i in range(n):
        canvas = out[i]
        for _ in range(fragments):
            other = images[rng.integers(n)]
            s = int(rng.integers(8, 15))
            sy, sx = rng.integers(0, 28 - s, size=2)
            dy, dx = rng.integers(0, CANVAS - s, size=2)
            patch = other[sy:sy + s, sx:sx + s]
            region = canvas[dy:dy + s, dx:dx + s]
            np.maximum(region, patch, out=region)
        y, x = rng.integers(0, CANVAS - 28, size=2)
        region = canvas[y:y + 28, x:x + 28]
        item = images[i]
        region[item > 0] = item[item > 0]  # the item lies on top
        boxes[i] = (x, y, x + 28, y + 28)
    return out, boxes


def to_tensor(images):
    return torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(model, x, y, epochs, batch=128, lr=2e-3, augment=None):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        t0, total = time.time(), 0.0
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb, yb = x[idx], y[idx]
            if augment:
                xb = augment(xb)
            loss = F.cross_entropy(model(xb), yb, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} ({time.time() - t0:.0f} s)",
              flush=True)


def flip(xb):
    """Random horizontal flips: Fashion-MNIST items are left-right symmetric enough."""
    mask = torch.rand(len(xb)) < 0.5
    xb = xb.clone()
    xb[mask] = xb[mask].flip(-1)
    return xb


def save_images(out, images, labels, count, boxes=None):
    folder = os.path.join(out, "images")
    os.makedirs(folder, exist_ok=True)
    rows = []
    for i in range(count):
        name = f"{i:03d}_{LABELS[labels[i]].split('/')[0].replace(' ', '-').lower()}.png"
        Image.fromarray(images[i], mode="L").save(os.path.join(folder, name), optimize=True)
        if boxes is not None:
            rows.append(f"{name},{','.join(str(int(v)) for v in boxes[i])},{labels[i]}")
    if boxes is not None:
        with open(os.path.join(folder, "boxes.csv"), "w") as f:
            f.write("name,x0,y0,x1,y1,class\n" + "\n".join(rows) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=["classify", "localize", "saturate"])
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--images", type=int, default=40, help="test images to save as PNG")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    train_x = read_idx("train-images-idx3-ubyte.gz")
    train_y = read_idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    test_x = read_idx("t10k-images-idx3-ubyte.gz")
    test_y = read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    boxes = None
    if args.task == "localize":
        train_x, _ = canvases(train_x, train_y, rng)
        test_x, boxes = canvases(test_x, test_y, np.random.default_rng(1))
        model, epochs = Localizer(), args.epochs or 4
    elif args.task == "saturate":
        model, epochs = Saturating(), args.epochs or 4
    else:
        model, epochs = Classifier(), args.epochs or 12

    t0 = time.time()
    train(model, to_tensor(train_x), torch.from_numpy(train_y), epochs,
          augment=flip if args.task != "localize" else None)
    acc = evaluate(model, to_tensor(test_x), torch.from_numpy(test_y))
    minutes = (time.time() - t0) / 60
    print(f"test accuracy {acc:.4f} after {minutes:.1f} min", flush=True)

    os.makedirs(args.out, exist_ok=True)
    model.eval()
    torch.jit.script(model).save(os.path.join(args.out, "model.pt"))
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    with open(os.path.join(args.out, "accuracy.txt"), "w") as f:
        f.write(f"test accuracy {acc:.4f} on the {len(test_x)} Fashion-MNIST test items"
                f"{' (on 84x84 canvases)' if boxes is not None else ''}; "
                f"{epochs} epochs, {minutes:.1f} min on {torch.get_num_threads()} CPU threads; "
                f"torch {torch.__version__}\n")
    save_images(args.out, test_x, test_y, args.images, boxes)


if __name__ == "__main__":
    main()
