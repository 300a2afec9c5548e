#!/usr/bin/env python3
"""Where nac's quality gap comes from: magnitude or phase. For a sample of files, codes each with
nac at one bitrate, then rebuilds the signal from the STFT (320/160, sqrt-Hann, nac's own framing)
three ways and scores each with `nac eval`:
  codec        nac's output itself
  true mag     the input's magnitudes with nac's phases
  true phase   nac's magnitudes with the input's phases
and prints the mean STOI / mel distance of each, plus how related nac's phase is to the input's
(the level-weighted 1 - cos of the phase error, nac's training phase loss: 1 = unrelated, 0 = same).

usage: bench/codec_gap.py [--nac build/nac] [--data ../shared/data/dev] [--every 10] [--kbps 12]
                          [--model M]
Needs numpy (Debian python3-numpy) and sox; `make bench-codec` installs both.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
from bench_codec import audio_files

N_FFT, HOP = 320, 160
WIN = np.sqrt(np.hanning(N_FFT + 1)[:N_FFT])

def read_wav(path):
    raw = subprocess.run(["sox", path, "-t", "raw", "-e", "float", "-b", "32", "-r", "16000", "-c", "1", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)

def write_wav(path, x):
    subprocess.run(["sox", "-D", "-t", "raw", "-e", "float", "-b", "32", "-r", "16000", "-c", "1", "-", "-b", "16",
                    path], input=np.clip(x, -1, 1).astype("<f4").tobytes(), check=True)

def stft(x):
    x = np.concatenate([np.zeros(N_FFT), x, np.zeros(N_FFT)])
    frames = np.array([x[i:i + N_FFT] * WIN for i in range(0, len(x) - N_FFT + 1, HOP)])
    return np.fft.rfft(frames, axis=1)

def istft(S, n):
    frames = np.fft.irfft(S, n=N_FFT, axis=1) * WIN
    y = np.zeros((len(frames) - 1) * HOP + N_FFT)
    for i, f in enumerate(frames):
        y[i * HOP:i * HOP + N_FFT] += f
    return y[N_FFT:N_FFT + n]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--data", default="../shared/data/dev")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--kbps", default="12")
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    files = audio_files(a.data, a.every)
    if not files:
        sys.exit("codec_gap: no audio files in " + a.data)
    model = ["--model", a.model] if a.model else []
    tmp = tempfile.mkdtemp(prefix="nac_gap_")
    kinds = ("codec", "true mag", "true phase")
    acc = {k: [] for k in kinds}
    rel = []
    for f in files:
        ref_path, out = os.path.join(tmp, "ref.wav"), os.path.join(tmp, "out.wav")
        subprocess.run(["sox", f, "-r", "16000", "-c", "1", "-b", "16", ref_path], check=True)
        subprocess.run([a.nac, "encode", "-q", ref_path, tmp + "/x.nac", "--kbps", a.kbps] + model, check=True)
        subprocess.run([a.nac, "decode", "-q", tmp + "/x.nac", out] + model, check=True)
        x, y = read_wav(ref_path), read_wav(out)
        n = min(len(x), len(y))
        X, Y = stft(x[:n]), stft(y[:n])
        lev = np.abs(X) ** 0.6
        rel.append(np.sum(lev * (1 - np.cos(np.angle(Y) - np.angle(X)))) / max(np.sum(lev), 1e-30))
        variants = {"codec": y[:n], "true mag": istft(np.abs(X) * np.exp(1j * np.angle(Y)), n),
                    "true phase": istft(np.abs(Y) * np.exp(1j * np.angle(X)), n)}
        for k, sig in variants.items():
            p = os.path.join(tmp, "v.wav")
            write_wav(p, sig)
            r = subprocess.run([a.nac, "eval", ref_path, p, "--json", "--no-align"], capture_output=True, text=True)
            if r.returncode == 0:
                m = json.loads(r.stdout)
                acc[k].append((m["stoi"], m["mel_distance"]))
    print(f"{len(files)} files of {a.data} at {a.kbps} kbps")
    print("| signal | STOI | mel distance |")
    print("|---|---|---|")
    for k in kinds:
        v = np.array(acc[k])
        print(f"| {k} | {v[:, 0].mean():.3f} | {v[:, 1].mean():.3f} |")
    print(f"phase relation to the input (1 = unrelated, 0 = same): {np.mean(rel):.3f}")

if __name__ == "__main__":
    main()
