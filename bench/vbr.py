#!/usr/bin/env python3
"""VBR against constant rate on dev (issue 14, items 3-4): for every K-th dev file, encodes with
the neural codec at 1.5 / 3 / 6 / 12 kbps at a constant rate and with --vbr-lossless (range-coded
codes, built-in tables), decodes both, checks the audio is identical, and prints the real bitrates
(file bytes x 8 / duration, container included) and the saving. Then --vbr (adaptive stage
counts) at targets 2 to 6 kbps: the real rate each gave, against the target.

usage: bench/vbr.py [--nac build/nac] [--data ../shared/data/dev] [--every 2]
"""
import argparse, glob, os, subprocess, tempfile

def run(*args):
    subprocess.run(list(args), check=True)

def info_stages(nac, path):
    out = subprocess.run([nac, "info", path], capture_output=True, text=True, check=True).stdout
    return int(out.split(" stages x ")[0].split(",")[-1])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--data", default="../shared/data/dev")
    ap.add_argument("--every", type=int, default=2)
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.data, "**", "*.flac"), recursive=True))[::a.every]
    tmp = tempfile.mkdtemp(prefix="nac_vbr_")
    secs = 0.0
    for f in files:
        secs += float(subprocess.run(["soxi", "-D", f], capture_output=True, text=True, check=True).stdout)
    print(f"{len(files)} dev files, {secs:.1f} s")
    print("| kbps | stages | constant rate: real kbps | VBR: real kbps | saving | same audio |")
    print("|---|---|---|---|---|---|")
    for k in (1.5, 3, 6, 12):
        cbr = vbr = same = 0
        stages = set()
        for i, f in enumerate(files):
            c, v = os.path.join(tmp, "c.nac"), os.path.join(tmp, "v.nac")
            run(a.nac, "encode", "-q", f, c, "--mode", "neural", "--kbps", f"{k:g}")
            run(a.nac, "encode", "-q", f, v, "--vbr-lossless", "--kbps", f"{k:g}")
            cbr += os.path.getsize(c)
            vbr += os.path.getsize(v)
            if i < 8:  # decoding is slower than coding: check the identity on the first files
                stages.add((info_stages(a.nac, c), info_stages(a.nac, v)))
                run(a.nac, "decode", "-q", c, os.path.join(tmp, "c.wav"))
                run(a.nac, "decode", "-q", v, os.path.join(tmp, "v.wav"))
                same += open(os.path.join(tmp, "c.wav"), "rb").read() == open(os.path.join(tmp, "v.wav"), "rb").read()
        st = "/".join(f"{x}" for x in sorted(s for s, _ in stages))
        ok = all(x == y for x, y in stages)
        print(f"| {k:g} | {st}{'' if ok else ' (VBR chose other stages)'} | {cbr * 8 / secs / 1000:.3f} | "
              f"{vbr * 8 / secs / 1000:.3f} | {100 * (1 - vbr / cbr):.1f}% | {same}/{min(8, len(files))} |")
    print("\n| --vbr --kbps (target) | stage counts | real kbps |")
    print("|---|---|---|")
    for k in (2, 2.5, 3, 4, 5, 6):
        total = 0
        for f in files:
            v = os.path.join(tmp, "v.nac")
            run(a.nac, "encode", "-q", f, v, "--vbr", "--kbps", f"{k:g}")
            total += os.path.getsize(v)
        counts = subprocess.run([a.nac, "info", v], capture_output=True, text=True, check=True).stdout
        counts = counts.split("each frame codes ")[1].split(" stages")[0] if "each frame codes" in counts else "-"
        print(f"| {k:g} | {counts} | {total * 8 / secs / 1000:.3f} |")

if __name__ == "__main__":
    main()
