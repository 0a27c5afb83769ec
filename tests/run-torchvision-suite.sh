#!/bin/sh
# run-torchvision-suite.sh PYTHON TEST_TORCH SOURCE_DIR EGCAM
# The slower suite: torchvision models with random weights, made now (they are
# too large to commit) together with their PyTorch references, then
# explained through libegcam-torch and compared as the committed fixtures are;
# and torchvision's fcn_resnet50, explained by egcam for a class over a mask
# (--output out --class 2 --mask), frozen and exact, against Grad-CAM from
# eager hooks.
set -eu
python=$1 test_torch=$2 src=$3 egcam=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$python" "$src/tests/fixtures/make_torch_fixtures.py" --torchvision "$dir"
"$test_torch" "$dir" --cases-only
seg=$dir/segmentation
"$python" "$src/tests/fixtures/make_signature_fixtures.py" --torchvision "$seg" 2> /dev/null
for path in frozen exact; do
  flag=$([ $path = exact ] && echo --exact || true)
  "$egcam" explain --model "$seg/fcn.pt" --layer backbone.layer4 --output out --method gradcam \
    --class 2 --mask "$seg/mask.png" $flag --out "$seg/$path" "$seg/input.npy" > /dev/null
  "$python" -c '
import sys
import numpy as np
got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
scale = float(np.abs(want).max())
err = float(np.abs(got - want).max()) / scale
print(f"fcn_resnet50, {sys.argv[3]}: segmentation Grad-CAM within {err:.2e} of eager hooks (scale {scale:.3g})")
sys.exit(0 if got.shape == want.shape and scale > 1e-3 and err <= 1e-4 else 1)
' "$seg/$path/input.layer.npy" "$seg/gradcam.npy" $path
done
# timm's names on torchvision's ViT: the model's own spelling is suggested.
if "$egcam" explain --model "$dir/vit.pt" --layer blocks.1.norm1 --layout tokens \
     --out "$dir/vit-out" "$dir/vit.encoder.layers.encoder_layer_1.ln_1/input.npy" > /dev/null 2> "$dir/vit.err"; then
  echo "vit: blocks.1.norm1 was accepted"; exit 1
fi
grep -q "in this model's spelling (torchvision's ViT) that is 'encoder.layers.encoder_layer_1.ln_1'" \
  "$dir/vit.err" || { cat "$dir/vit.err"; exit 1; }
echo "vit: timm's blocks.1.norm1 is answered with encoder.layers.encoder_layer_1.ln_1"
