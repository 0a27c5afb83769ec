#!/usr/bin/python3
"""Write examples/fashion/classifier/references/: 16 Fashion-MNIST training
images (a fixed random draw, as PNG) for Expected Grad-CAM's reference set,
`egcam ... --references examples/fashion/classifier/references`. Training
items, never test items: the references stand for "the data", as in
Expected Gradients. Run with /usr/bin/python3 from the repository root."""
import gzip
import os

import numpy as np
from PIL import Image

SRC = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classifier", "references")

with gzip.open(SRC, "rb") as f:
    images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
os.makedirs(OUT, exist_ok=True)
for i, k in enumerate(np.random.default_rng(0).choice(len(images), 16, replace=False)):
    Image.fromarray(images[k], mode="L").save(os.path.join(OUT, f"train{k:05d}.png"), optimize=True)
