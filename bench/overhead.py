#!/usr/bin/env python3
"""Container overhead of .nac files (issue 14, item 1): file size against nominal rate x duration
for a 3 s and a 60 s clip of dev speech (16 kHz) at 1.5 / 3 / 6 / 12 / 24 kbps, with the default
packet size of `nac encode`. The clips are the sorted dev files concatenated and cut with sox.
`nac info` of each file gives the same numbers (its 'real bitrate' line).

usage: bench/overhead.py [--nac build/nac] [--data ../shared/data/dev]
"""
import argparse, glob, os, subprocess, tempfile

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--data", default="../shared/data/dev")
    ap.add_argument("--rates", default="1.5,3,6,12,24")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.data, "**", "*.flac"), recursive=True))[:40]
    tmp = tempfile.mkdtemp(prefix="nac_overhead_")
    cat = os.path.join(tmp, "all.wav")
    subprocess.run(["sox"] + files + ["-r", "16000", "-c", "1", cat], check=True)
    rates = [float(r) for r in a.rates.split(",")]
    rows = {}
    for secs in (3, 60):
        clip = os.path.join(tmp, f"clip{secs}.wav")
        subprocess.run(["sox", cat, clip, "trim", "0", str(secs)], check=True)
        for k in rates:
            out = os.path.join(tmp, f"c{secs}_{k}.nac")
            subprocess.run([a.nac, "encode", "-q", clip, out, "--kbps", f"{k:g}"], check=True)
            size = os.path.getsize(out)
            nominal = k * 1000 * secs / 8
            rows[(secs, k)] = (size, nominal)
    print("| kbps | coder | 3 s: bytes (nominal) | 3 s overhead | 60 s: bytes (nominal) | 60 s overhead |")
    print("|---|---|---|---|---|---|")
    for k in rates:
        s3, n3 = rows[(3, k)]
        s60, n60 = rows[(60, k)]
        coder = "transform" if k >= 12 else "neural"
        print(f"| {k:g} | {coder} | {s3} ({n3:.0f}) | {100 * (s3 / n3 - 1):+.2f}% | {s60} ({n60:.0f}) | "
              f"{100 * (s60 / n60 - 1):+.2f}% |")

if __name__ == "__main__":
    main()
