#!/usr/bin/python3
"""nac vq benchmark: nac's k-means against scikit-learn's KMeans on the same data, start and
iteration count; then the time to quantise through two 512-entry stages with M-best search.

Both k-means runs start from the same centres (rows drawn from the data), run the same number of
Lloyd iterations (sklearn: algorithm="lloyd", n_init=1, tol=0) with the same thread count, and
their final codebooks are scored by the same evaluator (nac vq quantize, one stage, M-best 1).
Run through `make bench-vq` (which clears OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for this command so
numpy/sklearn get their fast kernels)."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def run_nac(cmd, stdin=None, stdout=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdin=stdin, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench_vq: %s failed:\n%s" % (" ".join(cmd), p.stderr))
    return dt, p.stderr


def stage_mse(nac, k, cbs, data, threads, mbest=1, out=os.devnull):
    with open(data, "rb") as fi, open(out, "wb") as fo:
        dt, err = run_nac([nac, "vq", "quantize", "-k", str(k), "-q", ",".join(cbs), "--mbest", str(mbest),
                           "--threads", str(threads)], stdin=fi, stdout=fo)
    return dt, [float(m) for m in re.findall(r"stage \d+\s+mse (\S+)", err)], err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--m", type=int, default=1024)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_info, threadpool_limits

    tmp = tempfile.mkdtemp(prefix="bench_vq.")
    try:
        rng = np.random.default_rng(a.seed)
        # feature-like data: a 256-component Gaussian mixture with uneven weights and spreads
        G = 256
        centres = rng.normal(0.0, 3.0, size=(G, a.k))
        spread = rng.uniform(0.3, 1.5, size=(G, 1))
        w = rng.dirichlet(np.ones(G))
        comp = rng.choice(G, size=a.n, p=w)
        x = (centres[comp] + spread[comp] * rng.normal(size=(a.n, a.k))).astype("<f4")
        init = x[rng.choice(a.n, size=a.m, replace=False)].copy()
        data, init_f = os.path.join(tmp, "x.f32"), os.path.join(tmp, "init.f32")
        x.tofile(data)
        init.tofile(init_f)
        print("data: %d x %d float32 (Gaussian mixture), M=%d, %d Lloyd iterations, %d threads"
              % (a.n, a.k, a.m, a.iters, a.threads))

        cb_nac = os.path.join(tmp, "cb_nac.f32")
        t_nac, log = run_nac([a.nac, "vq", "train", data, str(a.k), str(a.m), cb_nac, "--init", init_f,
                              "--iters", str(a.iters), "--threads", str(a.threads)])
        t_nac_train = float(re.search(r"training (\S+) s", log).group(1))

        with threadpool_limits(limits=a.threads):
            info = [(d.get("internal_api"), d.get("num_threads"), d.get("architecture", "")) for d in threadpool_info()]
            km = KMeans(n_clusters=a.m, init=init, n_init=1, max_iter=a.iters, tol=0.0, algorithm="lloyd",
                        random_state=0)
            t0 = time.perf_counter()
            km.fit(x)
            t_sk = time.perf_counter() - t0
        cb_sk = os.path.join(tmp, "cb_sk.f32")
        km.cluster_centers_.astype("<f4").tofile(cb_sk)

        _, e_nac, _ = stage_mse(a.nac, a.k, [cb_nac], data, a.threads)
        _, e_sk, _ = stage_mse(a.nac, a.k, [cb_sk], data, a.threads)
        e_nac, e_sk = e_nac[0], e_sk[0]
        print("sklearn %s, threadpools %s; sklearn ran %d iterations" % (sklearn.__version__, info, km.n_iter_))
        print("k-means time:  nac %.2f s (process; %.2f s in training), sklearn fit %.2f s" % (t_nac, t_nac_train, t_sk))
        print("k-means error: nac %.6g, sklearn %.6g (mean squared error per element; sklearn inertia/(N K) %.6g)"
              % (e_nac, e_sk, km.inertia_ / (a.n * a.k)))
        print("RATIO k-means time sklearn/nac = %.2f (target >= 1), error nac/sklearn = %.4f (target <= 1.01)"
              % (t_sk / t_nac, e_nac / e_sk))

        # two 512-entry stages, then M-best 5 quantisation of all vectors
        cb1, cb2, res = (os.path.join(tmp, f) for f in ("cb1.f32", "cb2.f32", "res.f32"))
        run_nac([a.nac, "vq", "train", data, str(a.k), "512", cb1, "--iters", "10", "--residual", res,
                 "--threads", str(a.threads)])
        run_nac([a.nac, "vq", "train", res, str(a.k), "512", cb2, "--iters", "10", "--threads", str(a.threads)])
        t_q, e_q, log = stage_mse(a.nac, a.k, [cb1, cb2], data, a.threads, mbest=5, out=os.path.join(tmp, "q.f32"))
        t_q1, e_q1, _ = stage_mse(a.nac, a.k, [cb1, cb2], data, a.threads, mbest=1)
        print("quantise %d vectors, 2 x 512 stages: M-best 5 %.2f s (%.0f vectors/s; mse %.6g -> %.6g), "
              "greedy %.2f s (mse %.6g -> %.6g)" % (a.n, t_q, a.n / t_q, e_q[0], e_q[1], t_q1, e_q1[0], e_q1[1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
