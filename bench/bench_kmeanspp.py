#!/usr/bin/python3
"""k-means++ seeding against scikit-learn on issue 11's Gaussian mixture: 60000 vectors in 20
dimensions from 32 components (centres drawn from N(0, 16), unit noise, equal weights), 32 entries,
30 Lloyd iterations, seeds 1-3. Prints each run's final error as a ratio to the optimal error (Lloyd
started from the true centres). nac: classic k-means++ (--candidates 1), greedy (default), greedy
with --restarts 3; scikit-learn KMeans(init="k-means++", n_init=1, algorithm="lloyd", tol=0).
Every error is scored by one evaluator (nac vq quantize, one stage) on the same data.
usage: bench/bench_kmeanspp.py [--nac build/nac] [--data-seed 0] [--n 60000]"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np


def score(nac, x_path, cb_path, k):
    with open(x_path, "rb") as fi:
        p = subprocess.run([nac, "vq", "quantize", "-k", str(k), "-q", cb_path, "--mbest", "1"], stdin=fi,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode:
        sys.exit(p.stderr)
    return float(re.search(r"stage 1\s+mse (\S+)", p.stderr).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--n", type=int, default=60000)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--seeds", default="1,2,3,4,5,6")
    a = ap.parse_args()
    from sklearn.cluster import KMeans
    import sklearn
    G, K, M, iters = 32, 20, 32, 30
    r = np.random.default_rng(a.data_seed)
    c = r.normal(0, 4, (G, K))
    x = (c[r.integers(0, G, a.n)] + r.normal(0, 1, (a.n, K))).astype("<f4")
    tmp = tempfile.mkdtemp(prefix="bench_kmpp.")
    xp, cp, cb = (os.path.join(tmp, f) for f in ("x.f32", "c.f32", "cb.f32"))
    x.tofile(xp)
    c.astype("<f4").tofile(cp)

    def nac_train(*extra):
        subprocess.run([a.nac, "vq", "train", xp, str(K), str(M), cb, "--iters", str(iters), *extra], check=True,
                       stderr=subprocess.DEVNULL)
        return score(a.nac, xp, cb, K)

    opt = nac_train("--init", cp)
    print("data: %d x %d, %d components, data seed %d; optimal error %.5f per element" % (a.n, K, G, a.data_seed, opt))
    print("%-6s %10s %10s %14s %12s" % ("seed", "classic", "greedy", "greedy x3", "sklearn %s" % sklearn.__version__))
    for s in [int(v) for v in a.seeds.split(",")]:
        row = [nac_train("--kmeans++", "--candidates", "1", "--seed", str(s)),
               nac_train("--kmeans++", "--seed", str(s)),
               nac_train("--kmeans++", "--restarts", "3", "--seed", str(s))]
        km = KMeans(M, init="k-means++", n_init=1, max_iter=iters, tol=0, algorithm="lloyd", random_state=s).fit(x)
        km.cluster_centers_.astype("<f4").tofile(cb)
        row.append(score(a.nac, xp, cb, K))
        print("%-6d %10.3f %10.3f %14.3f %12.3f" % (s, *[v / opt for v in row]))


if __name__ == "__main__":
    main()
