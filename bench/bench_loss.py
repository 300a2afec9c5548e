#!/usr/bin/python3
"""PyTorch peer of bench_loss.c: the same two losses (framing as in src/nn/loss_spectral.c) with
autograd, forward + backward at B = 16, T = 16000, torch.set_num_threads(2).
Usage: /usr/bin/python3 bench/bench_loss.py [reps]. Prints the median ms and process CPU ms."""
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from gen_mel import melscale_fbanks  # noqa: E402

B, T, SR = 16, 16000, 16000


def stft_mag(sig, n, hop, win, power):
    tp = -(-(sig.shape[-1] + n - hop) // hop) * hop
    padded = torch.nn.functional.pad(sig, (n - hop, tp - sig.shape[-1]))
    s = torch.stft(padded, n, hop, window=win, center=False, return_complex=True)
    p = s.real ** 2 + s.imag ** 2
    return p if power == 2 else torch.sqrt(p)


def mrstft(y, x, wins, eps=1e-5):
    total = 0.0
    for n, win in wins.items():
        my, mx = stft_mag(y, n, n // 4, win, 1), stft_mag(x, n, n // 4, win, 1)
        total = total + torch.linalg.norm(my - mx) / torch.linalg.norm(mx) + \
            torch.log((my + eps) / (mx + eps)).abs().mean()
    return total / len(wins)


def mel(y, x, wins, fbs, eps=1e-5):
    total = 0.0
    for n, win in wins.items():
        fb = fbs[n]
        ly = torch.log10(torch.matmul(fb, stft_mag(y, n, n // 4, win, 1)) + eps)
        lx = torch.log10(torch.matmul(fb, stft_mag(x, n, n // 4, win, 1)) + eps)
        total = total + (ly - lx).abs().mean()
    return total / len(wins)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(1)
    x = 0.1 * torch.randn(B, T, generator=g)
    y0 = 0.8 * x + 0.02 * torch.randn(B, T, generator=g)
    w_mr = {n: torch.hann_window(n) for n in (512, 1024, 2048)}
    w_mel = {n: torch.hann_window(n) for n in (256, 512, 1024, 2048)}
    fbs = {n: melscale_fbanks(n // 2 + 1, 0.0, SR / 2, m, SR).t().contiguous()
           for n, m in zip((256, 512, 1024, 2048), (20, 40, 80, 80))}
    cases = [("mrstft fwd+bwd (512/1024/2048)", lambda y: mrstft(y, x, w_mr)),
             ("mel fwd+bwd (256..2048, 20/40/80/80)", lambda y: mel(y, x, w_mel, fbs))]
    print("torch %s, threads %d, B %d, T %d, median of %d" % (torch.__version__, torch.get_num_threads(), B, T, reps))
    for name, fn in cases:
        wall, cpu = [], []
        for k in range(reps + 1):
            y = y0.clone().requires_grad_(True)
            t0, c0 = time.perf_counter(), time.process_time()
            fn(y).backward()
            if k:
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        wall.sort()
        cpu.sort()
        print("%-40s %8.2f ms wall (min %.2f), %8.2f ms cpu" % (name, 1e3 * wall[len(wall) // 2], 1e3 * wall[0],
                                                              1e3 * cpu[len(cpu) // 2]))


if __name__ == "__main__":
    main()
