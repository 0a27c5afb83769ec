#!/bin/sh
# run-torchvision-suite.sh PYTHON TEST_TORCH SOURCE_DIR
# The slower suite: torchvision models with random weights, made now (they are
# too large to commit) together with their PyTorch references, then
# explained through libegcam-torch and compared as the committed fixtures are.
set -eu
python=$1 test_torch=$2 src=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$python" "$src/tests/fixtures/make_torch_fixtures.py" --torchvision "$dir"
"$test_torch" "$dir" --cases-only
