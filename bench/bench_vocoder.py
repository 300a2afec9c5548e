#!/usr/bin/env python3
"""The vocoder rows of the codec table: nac's harmonic vocoder without quantisation (nac features
--with-pitch, then nac synth) and its low-rate mode (nac encode --kbps 0.7/1.2/1.6, nac decode)
beside Codec 2 (700C, 1600, 3200), on every file of a folder. Same method as bench_codec.py (whose
helpers it uses): metrics from `nac eval --json` averaged over files (Codec 2 aligned by nac eval's
delay search; nac at its known delay of 0, --no-align), speeds on all files joined into one, audio
seconds per CPU second of each command on one thread.

usage: bench/bench_vocoder.py [--nac build/nac] [--data ../shared/data/dev] [--every K] [--max-files N]
                             [--configs synth,0.7,1.2,1.6,c2-700C,c2-1600,c2-3200]
"""
import argparse, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_codec  # noqa: E402

CONFIGS = ["synth", "0.7", "1.2", "1.6", "c2-700C", "c2-1600", "c2-3200"]

def code(cfg, f, out, tmp, nac):
    """Codes f into out; returns (encode CPU s, decode CPU s)."""
    if cfg == "synth":
        te = bench_codec.run([nac, "features", f, tmp + "/x.f32", "--with-pitch"])
        td = bench_codec.run([nac, "synth", tmp + "/x.f32", out])
        return te, td
    if cfg.startswith("c2-"):
        return bench_codec.code("codec2", cfg[3:], f, out, tmp, nac, [])
    te = bench_codec.run([nac, "encode", "-q", f, tmp + "/x.nac", "--kbps", cfg])
    td = bench_codec.run([nac, "decode", "-q", tmp + "/x.nac", out])
    return te, td

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--data", default="../shared/data/dev")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--max-files", type=int, default=0)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    a = ap.parse_args()
    files = bench_codec.audio_files(a.data, a.every)
    if a.max_files:
        files = files[:a.max_files]
    if not files:
        sys.exit("bench_vocoder: no audio files in " + a.data)
    tmp = tempfile.mkdtemp(prefix="nac_bench_vocoder_")
    total_s = sum(bench_codec.duration(f) for f in files)
    print(f"{len(files)} files, {total_s:.1f} s of audio from {a.data}", file=sys.stderr)
    joined = os.path.join(tmp, "joined.wav")
    subprocess.run(["sox"] + files + ["-r", "16000", "-c", "1", joined], check=True)
    rows = []
    for cfg in a.configs.split(","):
        if cfg not in CONFIGS:
            sys.exit(f"bench_vocoder: unknown config '{cfg}' (choose from {','.join(CONFIGS)})")
        acc = {k: 0.0 for k in ("stoi", "estoi", "mel_distance", "si_sdr")}
        n = 0
        for f in files:
            out = os.path.join(tmp, "out.wav")
            code(cfg, f, out, tmp, a.nac)
            align = [] if cfg.startswith("c2-") else ["--no-align"]
            r = subprocess.run([a.nac, "eval", f, out, "--json"] + align, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"  {cfg} {f}: {r.stderr.strip()}", file=sys.stderr)
                continue
            m = json.loads(r.stdout)
            for k in acc:
                acc[k] += m[k] if m[k] is not None else 0.0
            n += 1
        te, td = code(cfg, joined, os.path.join(tmp, "out.wav"), tmp, a.nac)
        rows.append((cfg, {k: v / max(n, 1) for k, v in acc.items()}, total_s / te, total_s / td))
        print(f"  done {cfg}", file=sys.stderr)
    print(f"{len(files)} files, {total_s:.1f} s; speeds on one thread, audio seconds per CPU second")
    print("| codec | kbps | STOI | ESTOI | mel distance | SI-SDR dB | encode xRT | decode xRT |")
    print("|---|---|---|---|---|---|---|---|")
    for cfg, m, xe, xd in rows:
        if cfg == "synth":
            name, kb = "nac vocoder, unquantised", "-"
        elif cfg.startswith("c2-"):
            name, kb = "codec2", {"700C": "0.7", "1600": "1.6", "3200": "3.2"}[cfg[3:]]
        else:
            name, kb = "nac vocoder", cfg
        print(f"| {name} | {kb} | {m['stoi']:.3f} | {m['estoi']:.3f} | {m['mel_distance']:.3f} | "
              f"{m['si_sdr']:.2f} | {xe:.0f} | {xd:.0f} |")

if __name__ == "__main__":
    main()
