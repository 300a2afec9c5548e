#!/bin/sh
# Trains the codebooks of the low-rate vocoder mode (models/vocoder_vq.f32, built into the library):
# rate-K rows (K = 20, nac's grid) of every file under DATA, silent rows (energy below 15 dB) left
# out, then three 512-entry stages, each trained by k-means on the residual of the ones before.
# usage: sh scripts/vocoder_codebooks.sh   (NAC=build/nac DATA=../shared/data/train OUT=models/vocoder_vq.f32)
set -e
NAC=${NAC:-build/nac}
DATA=${DATA:-../shared/data/train}
OUT=${OUT:-models/vocoder_vq.f32}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
find "$DATA" \( -name '*.flac' -o -name '*.wav' \) | sort > "$tmp/files"
echo "vocoder_codebooks: features of $(wc -l < "$tmp/files") files from $DATA"
: > "$tmp/all.f32"
while read -r f; do
  if "$NAC" features "$f" "$tmp/one.f32" --min-energy 15 2>"$tmp/err"; then
    cat "$tmp/one.f32" >> "$tmp/all.f32"
  else
    echo "vocoder_codebooks: skipped $f: $(cat "$tmp/err")"
  fi
done < "$tmp/files"
echo "vocoder_codebooks: $(($(stat -c %s "$tmp/all.f32") / 80)) rows of 20"
"$NAC" vq train "$tmp/all.f32" 20 512 "$tmp/s1.f32" --residual "$tmp/r1.f32" --iters 25 --seed 1
"$NAC" vq train "$tmp/r1.f32" 20 512 "$tmp/s2.f32" --residual "$tmp/r2.f32" --iters 25 --seed 2
"$NAC" vq train "$tmp/r2.f32" 20 512 "$tmp/s3.f32" --iters 25 --seed 3
cat "$tmp/s1.f32" "$tmp/s2.f32" "$tmp/s3.f32" > "$OUT"
echo "vocoder_codebooks: wrote $OUT"
