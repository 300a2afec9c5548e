#!/usr/bin/env python3
"""Quality and speed table: nac at 1.5-24 kbps against Opus (opusenc/opusdec) and Codec 2
(c2enc/c2dec through 8 kHz) on every file of a folder, and nac's variable rate (`nac-vbr`) at
rates between the fixed ones. "real kbps" is the coded files' bytes x 8 over their duration (the
container included). Metrics come from `nac eval --json`
(trimmed; Opus and Codec 2 outputs aligned by nac eval's delay search, nac's compared at its
known delay of 0 with --no-align, since nac's decoder removes its own delay and its made-up phase
misleads a waveform correlation), averaged over the files. Speeds are measured on all the files joined into one
long file (so process start and model loading hardly count), as audio seconds per CPU second
(user + system) of each command on one thread (OMP_NUM_THREADS=1), the same way for every codec.

usage: bench/bench_codec.py [--nac build/nac] [--data ../shared/data/dev] [--max-files N] [--model M]
                           [--every K] [--codecs nac,nac-vbr,opus,codec2] [--rates 6,12]
"""
import argparse, glob, json, os, subprocess, sys, tempfile, time

def run(cmd):
    """Runs cmd on one thread; returns its CPU time (user + system) in seconds."""
    t0 = os.times()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    t1 = os.times()
    return (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)

def code(codec, rate, f, out, tmp, nac, model):
    """Encodes and decodes f to out (a 16 kHz, or 8 kHz for Codec 2, wav); returns the CPU seconds
    of each and the bytes of the coded file (container included: .nac, .opus, raw Codec 2)."""
    if codec in ("nac", "nac-vbr"):
        vbr = ["--vbr"] if codec == "nac-vbr" else []
        te = run([nac, "encode", "-q", f, tmp + "/x.nac", "--kbps", rate] + vbr + model)
        td = run([nac, "decode", "-q", tmp + "/x.nac", out] + model)
        coded = tmp + "/x.nac"
    elif codec == "opus":
        te = run(["opusenc", "--quiet", "--bitrate", rate, f, tmp + "/x.opus"])
        td = run(["opusdec", "--quiet", "--rate", "16000", tmp + "/x.opus", out])
        coded = tmp + "/x.opus"
    else:
        run(["sox", f, "-r", "8000", "-b", "16", "-e", "signed", "-t", "raw", tmp + "/x.raw"])
        te = run(["c2enc", rate, tmp + "/x.raw", tmp + "/x.c2"])
        td = run(["c2dec", rate, tmp + "/x.c2", tmp + "/y.raw"])
        run(["sox", "-r", "8000", "-b", "16", "-e", "signed", "-c", "1", "-t", "raw", tmp + "/y.raw", out])
        coded = tmp + "/x.c2"
    return te, td, os.path.getsize(coded)

def audio_files(data, every=1):
    """Every FLAC and WAV file under data, sorted; every `every`-th only (a quick sample)."""
    files = sorted(glob.glob(os.path.join(data, "**", "*.flac"), recursive=True) +
                   glob.glob(os.path.join(data, "**", "*.wav"), recursive=True))
    return files[::max(every, 1)]

def duration(path):
    out = subprocess.run(["soxi", "-D", path], check=True, capture_output=True, text=True).stdout
    return float(out)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--data", default="../shared/data/dev")
    ap.add_argument("--max-files", type=int, default=0)
    ap.add_argument("--model", default=None)
    ap.add_argument("--every", type=int, default=1, help="every K-th file only (a quick sample)")
    ap.add_argument("--codecs", default="nac,nac-vbr,opus,codec2", help="comma-separated subset")
    ap.add_argument("--rates", default=None, help="comma-separated subset of the rates, e.g. 6,12")
    a = ap.parse_args()
    files = audio_files(a.data, a.every)
    if a.max_files:
        files = files[:a.max_files]
    if not files:
        sys.exit("bench_codec: no audio files in " + a.data)
    model = ["--model", a.model] if a.model else []
    configs = [("nac", k) for k in ("1.5", "3", "6", "12", "16", "24")]
    configs += [("nac-vbr", k) for k in ("1.5", "2", "2.5", "3", "4", "5", "6", "8")]
    configs += [("opus", k) for k in ("6", "9", "12", "16", "24")]
    configs += [("codec2", m) for m in ("700C", "1600", "3200")]
    configs = [c for c in configs if c[0] in a.codecs.split(",") and (not a.rates or c[1] in a.rates.split(","))]
    tmp = tempfile.mkdtemp(prefix="nac_bench_")
    rows = []
    total_s = sum(duration(f) for f in files)
    print(f"{len(files)} files, {total_s:.1f} s of audio from {a.data}", file=sys.stderr)
    joined = os.path.join(tmp, "joined.wav")
    subprocess.run(["sox"] + files + ["-r", "16000", "-c", "1", joined], check=True)
    for codec, rate in configs:
        acc = {k: 0.0 for k in ("stoi", "estoi", "mel_distance", "si_sdr")}
        n = 0
        nbytes = 0
        for f in files:
            out = os.path.join(tmp, "out.wav")
            nbytes += code(codec, rate, f, out, tmp, a.nac, model)[2]
            align = ["--no-align"] if codec.startswith("nac") else []
            r = subprocess.run([a.nac, "eval", f, out, "--json"] + align, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"  {codec} {rate} {f}: {r.stderr.strip()}", file=sys.stderr)
                continue
            m = json.loads(r.stdout)
            for k in acc:
                acc[k] += m[k] if m[k] is not None else 0.0
            n += 1
        te, td, _ = code(codec, rate, joined, os.path.join(tmp, "out.wav"), tmp, a.nac, model)
        rows.append((codec, rate, {k: v / max(n, 1) for k, v in acc.items()}, total_s / te, total_s / td,
                     8 * nbytes / total_s / 1000))
        print(f"  done {codec} {rate}", file=sys.stderr)
    print(f"{len(files)} files, {total_s:.1f} s; speeds on one thread, audio seconds per CPU second")
    print(f"| codec | kbps | real kbps | STOI | ESTOI | mel distance | SI-SDR dB | encode xRT | decode xRT |")
    print(f"|---|---|---|---|---|---|---|---|---|")
    for codec, rate, m, xe, xd, real in rows:
        kb = {"700C": "0.7", "1600": "1.6", "3200": "3.2"}.get(rate, rate)
        print(f"| {codec} | {kb} | {real:.3f} | {m['stoi']:.3f} | {m['estoi']:.3f} | {m['mel_distance']:.3f} | "
              f"{m['si_sdr']:.2f} | {xe:.0f} | {xd:.0f} |")

if __name__ == "__main__":
    main()
