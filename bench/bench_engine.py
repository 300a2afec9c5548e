#!/usr/bin/python3
"""Engine benchmark, PyTorch side and driver (`make bench-engine`).

The same SEANet-style causal autoencoder as bench/bench_engine.c (base 16 channels, strides 2 4 5 8, three
dilated residual units per block, 64-d latent at 50 Hz, mirrored decoder), the same loss (MR-STFT 512/1024/2048
framed as src/nn/loss_spectral.c, plus waveform L1) and AdamW. First a parity check: nac writes its initial
weights, an input, its output, loss and gradients; this script loads the weights into the PyTorch model and
compares. Then training steps/s at batch 8 x 1 s with T threads and the single-thread inference real-time
factor on 10 s, nac and PyTorch interleaved (A B A B ...), medians and ratios.

PyTorch gets its fast path: pointwise layers are 1x1 Conv1d (not nn.Linear), causal padding is one F.pad, the
optimizer is AdamW(foreach=True), gradients are set to None, inference runs under torch.inference_mode().
Upsampling is a ConvTranspose1d (k = 2s) trimmed to T*s, or with --up shuffle, in both implementations, a
causal conv k2 to C*s channels and a pixel shuffle (the same map; s-1 more bias values per channel). In
Debian's torch 1.13 the transposed convolution was no slower than the shuffle form here, so it is the default.
Tried and not faster for PyTorch inference: TorchScript freeze + optimize_for_inference, 1 s chunks (~5%).

On a busy machine set OMP_WAIT_POLICY=passive: with spinning OpenMP threads both engines lose their time
slices to other processes and run several times slower at 2 threads (the script warns).

Usage: /usr/bin/python3 bench/bench_engine.py --bin build/bench_engine [--threads T] [--reps R] [--steps N]
       [--up convtr|shuffle] [--skip-check] [--layers]
       --layers: per-layer times of both engines (inference 1 thread; training forward and backward)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

SR, BASE, LATENT = 16000, 16, 64
STRIDES = (2, 4, 5, 8)
DILS = (1, 3, 9)


class CConv(torch.nn.Module):
    """Causal Conv1d: F.pad on the left by (k-1)*dil + 1 - stride, as nn_conv1d."""

    def __init__(self, ic, oc, k, stride=1, dil=1):
        super().__init__()
        self.conv = torch.nn.Conv1d(ic, oc, k, stride, dilation=dil)
        self.pad = max(0, (k - 1) * dil + 1 - stride)

    def forward(self, x):
        return self.conv(F.pad(x, (self.pad, 0)) if self.pad else x)


class Res(torch.nn.Module):
    def __init__(self, c, dil):
        super().__init__()
        self.a = CConv(c, c, 3, dil=dil)
        self.b = CConv(c, c, 1)

    def forward(self, x):
        return x + self.b(F.elu(self.a(F.elu(x))))


class Up(torch.nn.Module):
    """Causal upsampling by s, kernel 2s: ConvTranspose1d keeping the first T*s samples, or conv k2 + shuffle."""

    def __init__(self, ic, oc, s, shuffle):
        super().__init__()
        self.s, self.oc, self.shuffle = s, oc, shuffle
        if shuffle:
            self.conv = CConv(ic, oc * s, 2)
        else:
            self.tr = torch.nn.ConvTranspose1d(ic, oc, 2 * s, s)

    def forward(self, x):
        B, _, T = x.shape
        if self.shuffle:
            z = self.conv(x)
            return z.reshape(B, self.oc, self.s, T).transpose(2, 3).reshape(B, self.oc, T * self.s)
        return self.tr(x)[..., :T * self.s]


class Elu(torch.nn.Module):
    def forward(self, x):
        return F.elu(x)


def build(shuffle):
    """The layers in nac's parameter-table order (each conv: weight then bias)."""
    L, c = [CConv(1, BASE, 7)], BASE
    for s in STRIDES:
        L += [Res(c, d) for d in DILS] + [Elu(), CConv(c, 2 * c, 2 * s, s)]
        c *= 2
    L += [Elu(), CConv(c, LATENT, 3), CConv(LATENT, c, 7)]
    for s in reversed(STRIDES):
        L += [Elu(), Up(c, c // 2, s, shuffle)]
        c //= 2
        L += [Res(c, d) for d in DILS]
    L += [Elu(), CConv(c, 1, 7)]
    return torch.nn.Sequential(*L)


def stft_mag(sig, n, hop, win):
    tp = -(-(sig.shape[-1] + n - hop) // hop) * hop
    s = torch.stft(F.pad(sig, (n - hop, tp - sig.shape[-1])), n, hop, window=win, center=False, return_complex=True)
    return s.abs()


def loss_fn(y, x, wins, eps=1e-5):
    """MR-STFT (spectral convergence + mean |log ratio|, averaged over resolutions) + L1; y, x (B, T)."""
    mr = 0.0
    for n, win in wins.items():
        my, mx = stft_mag(y, n, n // 4, win), stft_mag(x, n, n // 4, win)
        mr = mr + torch.linalg.norm(my - mx) / torch.linalg.norm(mx) + torch.log((my + eps) / (mx + eps)).abs().mean()
    return mr / len(wins), (y - x).abs().mean()


def signal(B, T, seed):
    """Any test signal will do for timing; the parity check uses nac's own (x.f32)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T, dtype=torch.float64) / SR
    f0 = 100 + 100 * torch.rand(B, 1, generator=g, dtype=torch.float64)
    ph = 2 * np.pi * f0 * (t + 0.05 / (2 * np.pi * 3) * (1 - torch.cos(2 * np.pi * 3 * t)))
    v = sum(torch.sin(k * ph) / k for k in range(1, 5))
    return (0.15 * v + 0.02 * torch.randn(B, T, generator=g, dtype=torch.float64)).float()


def parity(args, model, wins):
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([args.bin, "--check", d, "--up", args.up], capture_output=True, text=True)
        if out.returncode:
            sys.exit("bench_engine --check failed: " + out.stderr)
        names = [ln.split() for ln in open(os.path.join(d, "params.txt"))]
        flat = np.fromfile(os.path.join(d, "params.f32"), "<f4")
        gflat = np.fromfile(os.path.join(d, "grads.f32"), "<f4")
        x = torch.from_numpy(np.fromfile(os.path.join(d, "x.f32"), "<f4").copy())
        y_nac = torch.from_numpy(np.fromfile(os.path.join(d, "y.f32"), "<f4").copy())
        dy_nac = torch.from_numpy(np.fromfile(os.path.join(d, "dy.f32"), "<f4").copy())
        mr_nac, l1_nac, B, T = (float(v) for v in open(os.path.join(d, "loss.txt")).read().split())
    B, T = int(B), int(T)
    params = list(model.parameters())
    if len(params) != len(names):
        sys.exit("parity: %d tensors in PyTorch, %d in nac" % (len(params), len(names)))
    off = 0
    with torch.no_grad():
        for p, nm in zip(params, names):
            shape = tuple(int(v) for v in nm[1:])
            if tuple(p.shape) != shape:
                sys.exit("parity: %s is %s in nac, %s in PyTorch" % (nm[0], shape, tuple(p.shape)))
            p.copy_(torch.from_numpy(flat[off:off + p.numel()].reshape(shape)))
            off += p.numel()
    x = x.reshape(B, T)
    y = model(x.reshape(B, 1, T)).reshape(B, T)
    mr, l1 = loss_fn(y, x, wins)
    # The network's backward from nac's own d loss / d y: the parameter gradients then compare the two backward
    # passes, free of the loss gradient's conditioning (below).
    y.backward(dy_nac.reshape(B, T))
    grads = torch.cat([p.grad.reshape(-1) for p in params]).double()
    gnac = torch.from_numpy(gflat).double()
    model.zero_grad(set_to_none=True)
    # d loss / d y against float64: in float32 the log-magnitude term, 1/(|Y| + eps) on near-empty bins, and
    # the sign of |Y| - |X| make it good to about 1e-2 only (in PyTorch as in nac).
    dl = {}
    for dt in (torch.float32, torch.float64):
        yy = y_nac.reshape(B, T).to(dt).requires_grad_(True)
        sum(loss_fn(yy, x.to(dt), {n: w.to(dt) for n, w in wins.items()})).backward()
        dl[dt] = yy.grad.double()
    ref = dl[torch.float64]
    e_nac = ((dy_nac.reshape(B, T).double() - ref).norm() / ref.norm()).item()
    e_t32 = ((dl[torch.float32] - ref).norm() / ref.norm()).item()
    dy = (y.detach() - y_nac.reshape(B, T)).abs().max().item() / y_nac.abs().max().item()
    dg = ((grads - gnac).norm() / grads.norm()).item()
    worst = max(((grads[o:o + p.numel()] - gnac[o:o + p.numel()]).norm() / grads[o:o + p.numel()].norm()).item()
                for p, o in zip(params, np.cumsum([0] + [q.numel() for q in params])[:-1]))
    print("parity (B %d, T %d, %d tensors, %d parameters): output max rel diff %.1e; loss mrstft %.6f / %.6f, "
          "L1 %.6f / %.6f (nac / PyTorch); d loss/dy rel err against float64: nac %.1e, PyTorch float32 %.1e; "
          "parameter gradients from the same d loss/dy: rel diff %.1e (worst tensor %.1e)"
          % (B, T, len(params), off, dy, mr_nac, mr.item(), l1_nac, l1.item(), e_nac, e_t32, dg, worst))
    ok = dy < 1e-4 and abs(mr.item() - mr_nac) < 1e-4 * abs(mr_nac) and abs(l1.item() - l1_nac) < 1e-4 * abs(
        l1_nac) and e_nac < max(0.05, 2 * e_t32) and worst < 1e-4
    if not ok:
        sys.exit("parity: FAILED, the two models do not compute the same thing")
    print("parity: OK")


def torch_run(model, wins, args):
    """Returns train steps/s (args.threads threads) and the single-thread inference RTF (wall, cpu)."""
    torch.set_num_threads(args.threads)
    B, T = 8, SR
    x = signal(B, T, 1)
    opt = torch.optim.AdamW([{"params": [p for p in model.parameters() if p.dim() > 1], "weight_decay": 0.01},
                             {"params": [p for p in model.parameters() if p.dim() == 1], "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.8, 0.99), eps=1e-8, foreach=True)

    def step():
        y = model(x.reshape(B, 1, T)).reshape(B, T)
        mr, l1 = loss_fn(y, x, wins)
        opt.zero_grad(set_to_none=True)
        (mr + l1).backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    sps = args.steps / (time.perf_counter() - t0)
    torch.set_num_threads(1)
    xi = signal(1, args.infer_s * SR, 2).reshape(1, 1, -1)
    wall, cpu = [], []
    with torch.inference_mode():
        model(xi)
        for _ in range(args.infer_reps):
            t0, c0 = time.perf_counter(), time.process_time()
            model(xi)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    torch.set_num_threads(args.threads)
    return sps, np.median(wall) / args.infer_s, np.median(cpu) / args.infer_s


def layers(args, model):
    """Per-layer times, nac against PyTorch (a diagnostic): single-thread inference on args.infer_s seconds, and
    training forward and backward at batch 8 x 1 s with args.threads threads (PyTorch: each layer alone on
    the activations of a forward pass, backward from a random gradient; nac: inside its timed steps)."""
    out = subprocess.run([args.bin, "--threads", str(args.threads), "--steps", str(args.steps), "--warmup",
                          str(args.warmup), "--infer-reps", str(args.infer_reps), "--infer-s", str(args.infer_s),
                          "--up", args.up, "--layers"], capture_output=True, text=True)
    rows = [dict(re.findall(r"(\w+)=(\S+)", ln), name=ln.split()[2]) for ln in out.stdout.splitlines()
            if ln.startswith("LAYER")]
    res = [dict(re.findall(r"(\w+)=(\S+)", ln)) for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
    if len(rows) != len(model) or not res:
        sys.exit("layers: bench_engine gave %d layers for %d modules: %s" % (len(rows), len(model), out.stderr))
    torch.set_num_threads(1)
    x = signal(1, args.infer_s * SR, 2).reshape(1, 1, -1)
    ti = [0.0] * len(model)
    with torch.inference_mode():
        for r in range(args.infer_reps + 1):
            h = x
            for i, layer in enumerate(model):
                t0 = time.perf_counter()
                h = layer(h)
                if r:
                    ti[i] += time.perf_counter() - t0
    torch.set_num_threads(args.threads)
    tf, tb = [0.0] * len(model), [0.0] * len(model)
    with torch.no_grad():
        acts = [signal(8, SR, 1).reshape(8, 1, SR)]
        for layer in model:
            acts.append(layer(acts[-1]))
    for r in range(args.steps + 1):
        for i, layer in enumerate(model):
            inp = acts[i].clone().requires_grad_(i > 0)
            g = torch.randn_like(acts[i + 1])
            t0 = time.perf_counter()
            o = layer(inp)
            t1 = time.perf_counter()
            o.backward(g)
            t2 = time.perf_counter()
            if r:
                tf[i] += t1 - t0
                tb[i] += t2 - t1
    model.zero_grad(set_to_none=True)
    print("inference: 1 thread, batch 1, %d s; training: batch 8 x 1 s, %d threads; ms; ratio = PyTorch / nac"
          % (args.infer_s, args.threads))
    print("%-11s %4s %4s %7s %7s | %7s %7s %5s %5s %5s | %7s %7s %5s | %7s %7s %5s" % (
        "layer", "cin", "cout", "T in", "MMAC/s", "inf nac", "torch", "ratio", "GF/s", "tGF/s", "fwd nac", "torch",
        "ratio", "bwd nac", "torch", "ratio"))
    tot = np.zeros(6)
    for row, a, f, b in zip(rows, ti, tf, tb):
        v = np.array([float(row["ms"]), 1e3 * a / args.infer_reps, float(row.get("train_fwd_ms", "nan")),
                      1e3 * f / args.steps, float(row.get("train_bwd_ms", "nan")), 1e3 * b / args.steps])
        tot += v
        macs = float(row["macs"]) / args.infer_s
        print("%-11s %4s %4s %7s %7.1f | %7.2f %7.2f %5.2f %5.1f %5.1f | %7.2f %7.2f %5.2f | %7.2f %7.2f %5.2f" % (
            row["name"], row["cin"], row["cout"], int(row["tin"]) // args.infer_s, macs / 1e6, v[0], v[1],
            v[1] / v[0], 2e-6 * macs * args.infer_s / v[0], 2e-6 * macs * args.infer_s / v[1], v[2], v[3],
            v[3] / v[2], v[4], v[5], v[5] / v[4]))
    print("%-37s | %7.2f %7.2f %5.2f %11s | %7.2f %7.2f %5.2f | %7.2f %7.2f %5.2f" % (
        "total", tot[0], tot[1], tot[1] / tot[0], "", tot[2], tot[3], tot[3] / tot[2], tot[4], tot[5],
        tot[5] / tot[4]))
    r = res[0]
    print("nac training step phases (ms): forward %s, loss %s, backward %s, AdamW %s; %.3f steps/s"
          % (r["fwd_ms"], r["loss_ms"], r["bwd_ms"], r["opt_ms"], float(r["train_steps_per_s"])))


def nac_run(args):
    cmd = [args.bin, "--threads", str(args.threads), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--infer-reps", str(args.infer_reps), "--up", args.up]
    out = subprocess.run(cmd, capture_output=True, text=True)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
    if out.returncode or not line:
        sys.exit("bench_engine failed: " + out.stderr)
    kv = dict(re.findall(r"(\w+)=(\S+)", line[0]))
    return float(kv["train_steps_per_s"]), float(kv["infer_rtf"]), float(kv["infer_cpu_rtf"]), int(kv["params"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/bench_engine")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds (nac, PyTorch)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--infer-reps", type=int, default=3)
    ap.add_argument("--infer-s", type=int, default=10)
    ap.add_argument("--up", choices=("convtr", "shuffle"), default="convtr")
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--layers", action="store_true", help="per-layer inference times instead of the benchmark")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = build(args.up == "shuffle")
    wins = {n: torch.hann_window(n) for n in (512, 1024, 2048)}
    nparams = sum(p.numel() for p in model.parameters())
    policy = os.environ.get("OMP_WAIT_POLICY", "")
    print("engine bench: SEANet-style autoencoder, %d parameters, up=%s, train batch 8 x 1 s at %d threads, "
          "inference 1 thread on %d s; torch %s; OMP_WAIT_POLICY=%s; load average %.1f"
          % (nparams, args.up, args.threads, args.infer_s, torch.__version__, policy or "(default)",
             os.getloadavg()[0]))
    if args.threads > 1 and os.getloadavg()[0] > 0.5 and policy.lower() != "passive":
        print("warning: the machine is busy; spinning OpenMP threads lose their time slices to other processes and "
              "both engines slow down several-fold at %d threads (run with OMP_WAIT_POLICY=passive)" % args.threads)
    if not args.skip_check:
        parity(args, model, wins)
    if args.layers:
        layers(args, model)
        return
    rows = []
    for r in range(args.reps):
        n_sps, n_rtf, n_crtf, n_params = nac_run(args)
        t_sps, t_rtf, t_crtf = torch_run(model, wins, args)
        if n_params != nparams:
            sys.exit("parameter counts differ: nac %d, PyTorch %d" % (n_params, nparams))
        rows.append((n_sps, t_sps, n_sps / t_sps, n_rtf, t_rtf, t_rtf / n_rtf, t_crtf / n_crtf))
        print("round %d: train steps/s nac %.3f torch %.3f (x%.2f); inference RTF nac %.4f torch %.4f (x%.2f, cpu x%.2f)"
              % ((r + 1,) + rows[-1]))
    if not rows:
        return
    med = np.median(np.array(rows), axis=0)
    print("median of %d rounds (load average now %.1f):" % (args.reps, os.getloadavg()[0]))
    print("  train (batch 8 x 1 s, %d threads): nac %.3f steps/s, PyTorch %.3f steps/s, ratio %.2f (target >= 1.5)"
          % (args.threads, med[0], med[1], med[2]))
    print("  inference (1 thread, 10 s, batch 1): RTF nac %.4f, PyTorch %.4f, ratio %.2f (cpu-time ratio %.2f; "
          "target >= 3)" % (med[3], med[4], med[5], med[6]))
    print("RESULT bench=engine threads=%d up=%s params=%d nac_steps_per_s=%.4f torch_steps_per_s=%.4f train_ratio=%.3f "
          "nac_rtf=%.5f torch_rtf=%.5f infer_ratio=%.3f" % ((args.threads, args.up, nparams) + tuple(med[:6])))


if __name__ == "__main__":
    main()
