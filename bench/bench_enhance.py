#!/usr/bin/env python3
"""Enhancement table: each task's built-in model (or --model-<task>) on degraded copies of the dev
speech, input and output metrics from `nac eval --json --no-align` against the clean file (the
enhancer removes its own delay), averaged per condition; speed as audio seconds per CPU second
(user + system) of `nac enhance` on one thread over all the files of the condition joined into one.

Conditions: denoise at input SNR bands -5:0, 0:5, 5:10, 10:15, 15:20 dB (noise from the last
quarter of each ../shared/data/noise recording, never trained on, or babble of dev speakers;
`nac degrade --noise-part dev`); dequantize: mu-law, A-law, 8-bit linear, sample-and-hold 2 and 4;
bwe from 8 kHz, telephone band and Codec 2 3200 (when c2enc is installed), against plain
resampling of the same input: upper-band (4-8 kHz) log-spectral distance and mel distance.

usage: bench/bench_enhance.py [--nac build/nac] [--data ../shared/data/dev] [--every K]
                              [--tasks denoise,dequantize,bwe] [--model-denoise M] ...
"""
import argparse, glob, json, math, os, shutil, subprocess, sys, tempfile

def run(cmd, capture=False):
    t0 = os.times()
    r = subprocess.run(cmd, check=True, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    t1 = os.times()
    return r.stdout, (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)

def evaluate(nac, ref, deg, align=False):
    """nac eval's metrics; NaN for all when it fails (e.g. no delay found on an empty band)."""
    try:
        out, _ = run([nac, "eval", ref, deg, "--json"] + ([] if align else ["--no-align"]), capture=True)
        return {k: (float("nan") if v is None else v) for k, v in json.loads(out).items()}
    except subprocess.CalledProcessError:
        return {k: float("nan") for k in ("stoi", "estoi", "si_sdr", "seg_snr", "snr", "mel_distance", "lsd", "duration")}

def mean(xs):
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else float("nan")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--data", default="../shared/data/dev")
    ap.add_argument("--noise", default="../shared/data/noise")
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--tasks", default="denoise,dequantize,bwe")
    for t in ("denoise", "dequantize", "bwe"):
        ap.add_argument("--model-" + t, default=None)
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.data, "**", "*.flac"), recursive=True) +
                   glob.glob(os.path.join(a.data, "**", "*.wav"), recursive=True))[::max(a.every, 1)]
    tmp = tempfile.mkdtemp(prefix="nac_bench_enh_")
    rows = []
    have_c2 = shutil.which("c2enc") is not None
    try:
        for task in a.tasks.split(","):
            model = getattr(a, "model_" + task)
            margs = ["--model", model] if model else []
            if task == "denoise":
                conds = [("snr %d:%d" % (lo, lo + 5), ["--noise", a.noise, "--babble", a.data, "--noise-part", "dev",
                          "--snr", "%d:%d" % (lo, lo + 5)]) for lo in (-5, 0, 5, 10, 15)]
            elif task == "dequantize":
                conds = [("mu-law", ["--mulaw"]), ("A-law", ["--alaw"]), ("8-bit", ["--bits", "8"]),
                         ("hold 2", ["--hold", "2"]), ("hold 4", ["--hold", "4"])]
            else:
                conds = [("8 kHz", ["--rate", "8000"]), ("telephone", ["--telephone"])]
                if have_c2:
                    conds.append(("codec2 3200", ["--codec2", "3200"]))
            for name, dargs in conds:
                ins, outs, cpu, secs = [], [], 0.0, 0.0
                for i, f in enumerate(files):
                    deg, res = os.path.join(tmp, "deg.wav"), os.path.join(tmp, "res.wav")
                    run([a.nac, "degrade", f, deg, "--seed", str(i + 1)] + dargs)
                    _, c = run([a.nac, "enhance", f if False else deg, res, "--task", task, "--quiet"] + margs)
                    cpu += c
                    if task == "bwe":
                        base = os.path.join(tmp, "base.wav")
                        run([a.nac, "degrade", deg, base, "--rate", "16000"])
                        al = name.startswith("codec2")  # Codec 2 delays its output: align
                        m_in, m_out = evaluate(a.nac, f, base, al), evaluate(a.nac, f, res, al)
                        hp = [os.path.join(tmp, n) for n in ("hf_ref.wav", "hf_in.wav", "hf_out.wav")]
                        for src, dst in zip((f, base, res), hp):
                            run([a.nac, "degrade", src, dst, "--highpass", "4000"])
                        # upper band: LSD of the 4-8 kHz band (each signal high-passed at 4 kHz)
                        m_in["lsd_hi"] = evaluate(a.nac, hp[0], hp[1], al)["lsd"]
                        m_out["lsd_hi"] = evaluate(a.nac, hp[0], hp[2], al)["lsd"]
                    else:
                        m_in, m_out = evaluate(a.nac, f, deg), evaluate(a.nac, f, res)
                    secs += m_in["duration"] if math.isfinite(m_in["duration"]) else 0
                    ins.append(m_in)
                    outs.append(m_out)
                keys = ["stoi", "estoi", "si_sdr", "seg_snr", "snr", "mel_distance", "lsd"] + (["lsd_hi"] if task == "bwe" else [])
                rows.append((task, name, {k: mean([m.get(k) for m in ins]) for k in keys},
                             {k: mean([m.get(k) for m in outs]) for k in keys}, secs / cpu if cpu > 0 else float("nan")))
                r = rows[-1]
                print("%-10s %-12s %s" % (task, name, " ".join("%s %.3f->%.3f" % (k, r[2][k], r[3][k]) for k in keys)),
                      file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n%d dev files (every %d-th of %s)\n" % (len(files), a.every, a.data))
    print("| task | condition | STOI in -> out | ESTOI in -> out | SI-SDR dB in -> out | segSNR dB in -> out | mel dist in -> out | LSD dB in -> out | xRT |")
    print("|---|---|---|---|---|---|---|---|---|")
    for task, name, i, o, xrt in rows:
        lsd = ("%.2f -> %.2f (4-8 kHz: %.2f -> %.2f)" % (i["lsd"], o["lsd"], i["lsd_hi"], o["lsd_hi"])) if task == "bwe" \
            else "%.2f -> %.2f" % (i["lsd"], o["lsd"])
        print("| %s | %s | %.3f -> %.3f | %.3f -> %.3f | %.2f -> %.2f | %.2f -> %.2f | %.3f -> %.3f | %s | %.0f |" % (
            task, name, i["stoi"], o["stoi"], i["estoi"], o["estoi"], i["si_sdr"], o["si_sdr"], i["seg_snr"],
            o["seg_snr"], i["mel_distance"], o["mel_distance"], lsd, xrt))

if __name__ == "__main__":
    main()
