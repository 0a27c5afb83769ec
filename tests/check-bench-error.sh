#!/bin/sh
# check-bench-error.sh PROGRAM MODEL
# egcam-bench-error (bench/error.c), which builds docs/performance.md's
# error tables over several sessions, on a small case: a run resumed from
# its --resume file, or one cut short, gives the same table as a run made
# in one go; --table-only computes nothing; a file made with other settings,
# inputs or references is refused; the mean, its standard error and the
# median are those of the file's errors.
set -eu
program=$1 model=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() {
  "$program" --threads 1 --model "$model" --layer features.12 --random-inputs 3,1,28,28 \
    --reference-n 64 --ns 4,8 --match 8 "$@"
}
run > "$dir/whole.txt" 2> "$dir/whole.err"
grep -q '^independent *4 ' "$dir/whole.txt" || fail "no table: $(cat "$dir/whole.txt")"
grep -q 'std. err. *median' "$dir/whole.txt" || fail "no standard error or median column"
grep -q '^antithetic needs .* by the mean (.* by the median)' "$dir/whole.txt" ||
  fail "no N needed by the mean and by the median"

# Two inputs, then the third resumed: the table of one run in one go.
run --count 2 --resume "$dir/log" > /dev/null 2>&1
test "$(wc -l < "$dir/log")" -eq 3 || fail "the resume file holds $(wc -l < "$dir/log") lines, not 3"
run --resume "$dir/log" --markdown "$dir/table.md" > "$dir/resumed.txt" 2>/dev/null
cmp -s "$dir/whole.txt" "$dir/resumed.txt" || fail "a resumed run gives another table"
grep -q '^| 8 | [0-9.e-]* ± [0-9.e-]* |' "$dir/table.md" || fail "no mean ± error in the Markdown"
grep -q "median of the inputs' rel. MSE" "$dir/table.md" || fail "no median table in the Markdown"

# The statistics of independent sampling at N = 4, from the file's three
# errors (the second field of each input's line), against the table's.
awk 'NR > 1 { v[NR - 1] = $2; s += $2; n++ }
     END {
       m = s / n; for (i = 1; i <= n; i++) ss += (v[i] - m) ^ 2
       # three values: the median is the one between the other two
       a = v[1]; b = v[2]; c = v[3]
       med = (a > b) ? ((b > c) ? b : ((a > c) ? c : a)) : ((a > c) ? a : ((b > c) ? c : b))
       printf "%.6g %.6g %.6g\n", m, sqrt(ss / (n - 1) / n), med
     }' "$dir/log" > "$dir/want"
awk '$1 == "independent" && $2 == 4 { print $3, $4, $5 }' "$dir/whole.txt" > "$dir/got"
# (printed to 4, 2 and 4 digits)
awk 'NR == FNR { for (i = 1; i <= 3; i++) w[i] = $i; next }
     { t[1] = 1e-3; t[2] = 5e-2; t[3] = 1e-3
       for (i = 1; i <= 3; i++) if ((w[i] - $i) ^ 2 > (t[i] * w[i]) ^ 2) bad = 1 }
     END { exit bad }' "$dir/want" "$dir/got" ||
  fail "mean, standard error, median $(cat "$dir/got"), not $(cat "$dir/want")"

# A line cut short by a stop is redone; the table is the same. The cut
# here leaves every field, the last one a whole "1" but with no newline
# (the shell's $(...) drops it).
printf '%s' "$(sed '$ s/ [^ ]*$/ 1/' "$dir/log")" > "$dir/cut"
test "$(tail -c 2 "$dir/cut")" = " 1" || fail "the cut line was not made"
mv "$dir/cut" "$dir/log"
run --resume "$dir/log" > "$dir/redone.txt" 2>/dev/null
cmp -s "$dir/whole.txt" "$dir/redone.txt" || fail "a run after a cut line gives another table"

# --table-only over the file as it is: no map made, so no time taken.
# (The last line is the redone input; the one before it, the cut one.)
sed '$d' "$dir/log" > "$dir/two"
cp "$dir/two" "$dir/log"
run --resume "$dir/log" --table-only > "$dir/only.txt" 2>/dev/null
grep -q ': 2 inputs' "$dir/only.txt" || fail "--table-only does not tabulate the 2 inputs held"
cmp -s "$dir/two" "$dir/log" || fail "--table-only wrote to the resume file"

# Other settings are refused, not mixed in.
if run --resume "$dir/log" --noise 0.2 > /dev/null 2> "$dir/other.err"; then
  fail "a resume file made at another noise level was accepted"
fi
grep -q 'made with other settings' "$dir/other.err" || fail "refused without saying why"
if "$program" --threads 1 --model "$model" --layer features.12 --random-inputs 4,1,28,28 \
    --reference-n 64 --ns 4,8 --match 8 --resume "$dir/log" > /dev/null 2> "$dir/other.err"; then
  fail "a resume file made with other inputs was accepted"
fi
grep -q 'other inputs, references or batch' "$dir/other.err" || fail "other inputs: $(cat "$dir/other.err")"
if run --table-only > /dev/null 2>&1; then fail "--table-only without --resume was accepted"; fi
echo "ok: egcam-bench-error resumes, redoes a cut line and refuses other settings"
