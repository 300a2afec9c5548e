#!/bin/sh
# The VQ-VAE experiments of docs/vqvae.md, end to end on ../shared/data (train/ to train, dev/ to
# measure), printing dB^2 overall and per gender at every step. `make bench-vqvae` runs it.
#   1. features: nac features --with-pitch of every file (bench/vqvae_features.py)
#   2. a VQ-VAE with its own residual VQ (2 x 512 entries per 40 ms: 450 bit/s of spectrum)
#   3. the external-VQ workflow of seed 002: an autoencoder with noise in the bottleneck, latents
#      dumped, three stages trained by `nac vq train --residual`, `nac vq quantize --mbest 5`,
#      latents injected, `nac synth`
# Environment: NAC (build/nac), OUT (build/bench_vqvae), STEPS (8000), NCAT (4), DIM (10),
# TIME (1500: seconds per training run at most). One thread, nice 19.
set -eu
NAC=${NAC:-build/nac}
OUT=${OUT:-build/bench_vqvae}
STEPS=${STEPS:-8000}
NCAT=${NCAT:-4}
DIM=${DIM:-10}
TIME=${TIME:-1500}
F=$OUT/feat
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
run() { echo "\$ $*" >&2; nice -n 19 "$@"; }
summary() { tail -3; } # the overall / female / male lines of nac vqvae run --list

[ -f "$F/dev.tsv" ] && [ -f "$F/train.tsv" ] || run /usr/bin/python3 bench/vqvae_features.py "$F" --nac "$NAC"

echo "== VQ-VAE, ncat $NCAT, dim $DIM, 2 x 512-entry residual VQ"
[ -f "$OUT/vqvae.nacw" ] || run "$NAC" vqvae train "$F/train.f32" --ncat "$NCAT" --dim "$DIM" --stages 2 \
    --entries 512 --steps "$STEPS" --time "$TIME" --val "$F/dev.f32" --save-every 2000 --out "$OUT/vqvae.nacw"
for pool in train dev; do
    echo "-- $pool, autoencoder alone (--no-vq)"
    run "$NAC" vqvae run "$OUT/vqvae.nacw" --list "$F/$pool.tsv" --with-pitch --no-vq | summary
    echo "-- $pool, with the VQ"
    run "$NAC" vqvae run "$OUT/vqvae.nacw" --list "$F/$pool.tsv" --with-pitch | summary
done

echo "== external VQ: autoencoder, ncat $NCAT, dim $DIM, noise variance 1e-3 in the bottleneck"
[ -f "$OUT/ae.nacw" ] || run "$NAC" vqvae train "$F/train.f32" --ncat "$NCAT" --dim "$DIM" --stages 0 \
    --noise-var 1e-3 --steps "$STEPS" --time "$TIME" --val "$F/dev.f32" --save-every 2000 --out "$OUT/ae.nacw"
for pool in train dev; do
    echo "-- $pool, autoencoder (latents dumped)"
    rm -rf "$OUT/lat_$pool" "$OUT/latq_$pool" "$OUT/out_$pool"
    run "$NAC" vqvae run "$OUT/ae.nacw" --list "$F/$pool.tsv" --with-pitch --write-latent "$OUT/lat_$pool" | summary
done
cat "$OUT"/lat_train/*.f32 > "$OUT/train_l.f32"
run "$NAC" vq train "$OUT/train_l.f32" "$DIM" 512 "$OUT/vq1.f32" --residual "$OUT/res1.f32" 2>&1 | tail -1
run "$NAC" vq train "$OUT/res1.f32" "$DIM" 512 "$OUT/vq2.f32" --residual "$OUT/res2.f32" 2>&1 | tail -1
run "$NAC" vq train "$OUT/res2.f32" "$DIM" 512 "$OUT/vq3.f32" 2>&1 | tail -1
for stages in vq1.f32,vq2.f32 vq1.f32,vq2.f32,vq3.f32; do
    cbs=$(echo "$stages" | sed "s|[^,]*|$OUT/&|g")
    for pool in train dev; do
        echo "-- $pool, latents through $stages (M-best 5), injected"
        rm -rf "$OUT/latq_$pool" && mkdir -p "$OUT/latq_$pool"
        for l in "$OUT/lat_$pool"/*.f32; do
            "$NAC" vq quantize -k "$DIM" -q "$cbs" --mbest 5 < "$l" > "$OUT/latq_$pool/${l##*/}" 2>/dev/null
        done
        run "$NAC" vqvae run "$OUT/ae.nacw" --list "$F/$pool.tsv" --with-pitch --read-latent "$OUT/latq_$pool" \
            --out-dir "$OUT/out_$pool" | summary
    done
done
echo "-- dev latent error per stage (all dev latents joined)"
cat "$OUT"/lat_dev/*.f32 | "$NAC" vq quantize -k "$DIM" -q "$cbs" --mbest 5 2>&1 >/dev/null | tail -4
first=$(ls "$OUT/out_dev" | head -1)
run "$NAC" synth "$OUT/out_dev/$first" "$OUT/example_vq.wav"
echo "synthesised $OUT/example_vq.wav from $OUT/out_dev/$first"
run "$NAC" plot latent "$OUT/vqvae.nacw" "$F/train.f32" "$OUT/latent.png"
