#!/usr/bin/python3
"""Rate-K feature files of ../shared/data for the VQ-VAE, from `nac features` (--source nac, the
default) or from Debian's codec2 (--source c2).

--source nac: `nac features IN --with-pitch` per file (rows of K + 3 per 10 ms: K=20 rate-K values in
dB with the mean removed, then energy, F0, voicing; docs/vocoder.md). Writes
    OUT/<pool>/<path>.f32   per file, rows of 23 (what `nac vqvae run --with-pitch` and `nac synth` read)
    OUT/<pool>.f32          the 20 rate-K columns of all files of the pool joined, in manifest order
    OUT/<pool>.tsv          path, gender, speaker, rows (the same order), for per-gender scores
    OUT/<pool>_bal.f32      as <pool>.f32 with the male files repeated (about as many male frames as
                            female: train/ has about twice as much female speech)

--source c2: for each file under a folder (train/, dev/) of ../shared/data (listed in MANIFEST.tsv): sox to 8 kHz 16-bit raw, then
`c2enc 700C in.raw out.bit --mlfeat feat.f32 model.bin`. In 700C mode c2enc writes one record per 40 ms
frame (it analyses four 10 ms frames and keeps the last) of 201 float32:
    [0] mean (frame energy, dB)   [1:21] rate-K vector, K=20, mean removed (dB)
    [21:41] the same after 700C's own 2 x 9 bit VQ   [41:201] the 160 harmonic amplitudes (rate L)
This script keeps columns 1..20 (the unquantised rate-K vector) and writes
    OUT/<pool>/<path>.f32   per file, rows of 20 float32
    OUT/<pool>.f32          all files of the pool joined, in manifest order
    OUT/<pool>.tsv          path, gender, speaker, rows (the same order), for per-gender scores
    OUT/<pool>_c2q.f32      columns 21..40 joined: what Codec 2 700C's VQ makes of the same vectors
usage: bench/vqvae_features.py OUT [--source nac|c2] [--nac build/nac] [--pool train|dev ...]
                               [--data ../shared/data]"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

REC, K = 201, 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--pool", action="append")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--source", choices=["nac", "c2"], default="nac")
    ap.add_argument("--nac", default="build/nac")
    a = ap.parse_args()
    pools = a.pool or ["train", "dev"]
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(a.data, "MANIFEST.tsv"))]
    head = rows[0]
    ip, ig, isp = head.index("path"), head.index("gender"), head.index("speaker_id")
    tmp = tempfile.mkdtemp(prefix="c2feat.")
    for pool in pools:
        files = [r for r in rows[1:] if r[ip].split("/")[0] == pool]
        allf, allq, tsv = [], [], []
        for n, r in enumerate(files):
            src = os.path.join(a.data, r[ip])
            if a.source == "nac":
                dst = os.path.join(a.out, pool, os.path.splitext(r[ip])[0] + ".f32")
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if not os.path.exists(dst):  # rerun after an interruption: files already made are kept
                    subprocess.run([a.nac, "features", src, dst + ".tmp", "--with-pitch"], check=True,
                                   stderr=subprocess.DEVNULL)
                    os.rename(dst + ".tmp", dst)
                f = np.fromfile(dst, "<f4").reshape(-1, K + 3)
                x = np.ascontiguousarray(f[:, :K])
            else:
                raw, bit, feat, model = (os.path.join(tmp, x) for x in ("a.raw", "a.bit", "a.f32", "a.model"))
                subprocess.run(["sox", src, "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", raw],
                               check=True)
                subprocess.run(["c2enc", "700C", raw, bit, "--mlfeat", feat, model], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                f = np.fromfile(feat, "<f4")
                if f.size % REC:
                    sys.exit("vqvae_features: %s: %d floats is not a whole number of %d-float records" %
                             (src, f.size, REC))
                f = f.reshape(-1, REC)
                x = np.ascontiguousarray(f[:, 1:1 + K])
                dst = os.path.join(a.out, pool, os.path.splitext(r[ip])[0] + ".f32")
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                x.astype("<f4").tofile(dst)
                allq.append(f[:, 1 + K:1 + 2 * K])
            allf.append(x)
            tsv.append("%s\t%s\t%s\t%d" % (dst, r[ig], r[isp], len(x)))
            if n % 100 == 0:
                print("vqvae_features: %s %d/%d" % (pool, n, len(files)), file=sys.stderr)
        np.concatenate(allf).astype("<f4").tofile(os.path.join(a.out, pool + ".f32"))
        # gender-balanced copy: male files repeated until male frames about equal female frames
        nf = sum(len(x) for x, t in zip(allf, tsv) if t.split("\t")[1].startswith("F"))
        nm = sum(len(x) for x, t in zip(allf, tsv) if t.split("\t")[1].startswith("M"))
        if nf and nm:
            rep = max(1, round(nf / nm))
            bal = [x for x, t in zip(allf, tsv) for _ in range(rep if t.split("\t")[1].startswith("M") else 1)]
            np.concatenate(bal).astype("<f4").tofile(os.path.join(a.out, pool + "_bal.f32"))
            print("vqvae_features: %s_bal.f32: male files x%d (%d female, %d male frames before)" % (pool, rep, nf, nm),
                  file=sys.stderr)
        if allq:
            np.concatenate(allq).astype("<f4").tofile(os.path.join(a.out, pool + "_c2q.f32"))
        with open(os.path.join(a.out, pool + ".tsv"), "w") as fo:
            fo.write("path\tgender\tspeaker\trows\n" + "\n".join(tsv) + "\n")
        print("vqvae_features: %s: %d files, %d rows" % (pool, len(files), sum(len(x) for x in allf)), file=sys.stderr)


if __name__ == "__main__":
    main()
