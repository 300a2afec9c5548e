#!/usr/bin/env python3
"""How many bits the neural codec's RVQ codes really carry: encodes every K-th dev file with all
48 stages (`nac encode --mode neural --kbps 24`), reads the codes back from the .nac packets, and
prints per stage the empirical entropy of its indices, the entropy given the same stage's index in
the previous frame, and the entropy given the previous stage's index in the same frame (plug-in
estimates over the whole set; the conditional ones are optimistic for small sets, so the first half
of the files also trains the tables that the second half is scored with: the 'held-out' columns).
The savings column is what an ideal entropy coder with held-out tables (unconditional, or with a
'repeat the previous frame's index' flag where that is better) would save at
1.5 / 3 / 6 / 12 / 24 kbps. Issue 14, item 2.

With --write-table PATH it instead learns the VBR probability tables (docs/format.md 2.3.3) from
--data (use the training set) and writes them to PATH (models/vbr_default.bin): per stage, the
index counts plus one half, mixed with the uniform table in the proportion that codes the second
half of the files best when learned on the first, scaled to 16-bit frequencies summing to 65536.

usage: bench/code_entropy.py [--nac build/nac] [--data ../shared/data/dev] [--every 2]
       bench/code_entropy.py --data ../shared/data/train --every 4 --write-table models/vbr_default.bin
"""
import argparse, glob, math, os, struct, subprocess, sys, tempfile
from collections import Counter

def varint(b, pos):
    v, shift = 0, 0
    while True:
        x = b[pos]
        pos += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return v, pos

def read_codes(path):
    """The codes (frames x stages) of a constant-rate neural .nac file, container version 1 or 2
    (docs/format.md 2.2, 2.3); damage is not expected here."""
    b = open(path, "rb").read()
    if b[:3] != b"NAC" or b[3] not in (1, 2):
        sys.exit(f"{path}: not a .nac file of version 1 or 2")
    version = b[3]
    meta_len = struct.unpack(">I", b[4:8])[0]
    meta = b[9:9 + meta_len]
    stages, bits, pos = None, 10, 0
    if version == 1:
        while pos < len(meta):
            tag, n = meta[pos], struct.unpack(">H", meta[pos + 1:pos + 3])[0]
            v = meta[pos + 3:pos + 3 + n]
            if tag == 0x06:
                stages = struct.unpack(">H", v)[0]
            if tag == 0x07:
                bits = v[0]
            pos += 3 + n
    else:
        end = len(meta) - 2
        while pos < end:
            key = meta[pos]
            pos += 1
            fid, typ = key >> 2, key & 3
            if typ == 0:
                v, pos = varint(meta, pos)
                if fid == 6:
                    stages = v
                if fid == 7:
                    bits = v
            elif typ == 1:
                pos += 4
            else:
                n, pos = varint(meta, pos)
                if fid == 7:
                    bits = meta[pos]
                pos += n
    p, frames = 9 + meta_len, []
    while p + 7 <= len(b):
        if version == 1:
            n = struct.unpack(">H", b[p + 6:p + 8])[0]
            hdr, check = 8, 4
        else:
            n, q = varint(b, p + 4)
            hdr, check = q - p, 2 if n <= 4000 else 4
        payload = b[p + hdr:p + hdr + n]
        p += hdr + n + check
        acc = int.from_bytes(payload, "big")
        total = len(payload) * 8
        count = total // (stages * bits)
        for f in range(count):
            row = []
            for s in range(stages):
                shift = total - (f * stages + s + 1) * bits
                row.append((acc >> shift) & ((1 << bits) - 1))
            frames.append(row)
    return frames, stages, bits

def stage_freqs(counter, n_sym, lam):
    """16-bit frequencies from counts (+0.5 each) mixed with the uniform table by lam, summing to
    65536, each >= 1."""
    total = sum(counter.values()) + 0.5 * n_sym
    f = [max(1, round(((1 - lam) * (counter.get(i, 0) + 0.5) / total + lam / n_sym) * 65536)) for i in range(n_sym)]
    f[f.index(max(f))] += 65536 - sum(f)
    return f

def table_bits(f, symbols):
    """Bits per symbol coding symbols with the frequencies f."""
    return -sum(math.log2(f[x] / 65536) for x in symbols) / max(len(symbols), 1)

MIXES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0)

def repeat_bits(f, r, pairs):
    """Bits per symbol of (previous, symbol) pairs with a repeat flag of frequency r (0: none)."""
    if not r:
        return table_bits(f, [x for _, x in pairs])
    p = r / 65536
    return -sum(math.log2(p) if x == prev else math.log2(1 - p) + math.log2(f[x] / 65536)
                for prev, x in pairs) / max(len(pairs), 1)

def write_table(path, per_file, S, bits, model_hash):
    """Per stage: the counts of the first half of the files make tables mixed with the uniform one
    in each proportion of MIXES; the mix that codes the second half in the fewest bits is kept
    (1.0, the uniform table, when the stage's distribution does not carry over), and the table is
    then made from all files with it. The same for the repeat flag (the previous frame's index
    again): kept when it saves bits on the second half. So a stage costs at most about its 10
    plain bits on data like the training set."""
    n_sym = 1 << bits
    half = len(per_file) // 2
    out = bytearray(b"NACV" + struct.pack("<IIII", 2, model_hash, S, n_sym))
    for s in range(S):
        first = Counter(r[s] for codes in per_file[:half] for r in codes)
        second = [r[s] for codes in per_file[half:] for r in codes]
        lam = min(MIXES, key=lambda m: table_bits(stage_freqs(first, n_sym, m), second))
        f_first = stage_freqs(first, n_sym, lam)
        def rep_freq(files):
            pairs = [(c[i - 1][s], c[i][s]) for c in files for i in range(1, len(c))]
            p = sum(a == b for a, b in pairs) / max(len(pairs), 1)
            return min(65535, max(1, round(p * 65536)))
        pairs2 = [(c[i - 1][s], c[i][s]) for c in per_file[half:] for i in range(1, len(c))]
        r_first = rep_freq(per_file[:half])
        use = repeat_bits(f_first, r_first, pairs2) < repeat_bits(f_first, 0, pairs2)
        f = stage_freqs(Counter(r[s] for codes in per_file for r in codes), n_sym, lam)
        r = rep_freq(per_file) if use else 0
        print(f"stage {s + 1}: mix {lam:g}, repeat {r / 65536:.3f}, held-out "
              f"{repeat_bits(f_first, r_first if use else 0, pairs2):.3f} bits")
        out += struct.pack("<H", r) + struct.pack("<" + "H" * n_sym, *f)
    open(path, "wb").write(out)

def entropy(counter):
    n = sum(counter.values())
    return -sum(c / n * math.log2(c / n) for c in counter.values()) if n else 0.0

def cond_entropy(pairs):
    joint, ctx = Counter(pairs), Counter(a for a, _ in pairs)
    return entropy(joint) - entropy(ctx)

def cross_bits(train, test, alphabet):
    """Bits per symbol coding test with add-one-smoothed counts of train."""
    n = sum(train.values()) + alphabet
    return -sum(math.log2((train.get(x, 0) + 1) / n) for x in test) / max(len(test), 1)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nac", default="build/nac")
    ap.add_argument("--data", default="../shared/data/dev")
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--write-table", default=None)
    ap.add_argument("--cache", default=None, help="a pickle of the codes: read if it exists, else written")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.data, "**", "*.flac"), recursive=True))[::a.every]
    tmp = tempfile.mkdtemp(prefix="nac_entropy_")
    per_file = []
    if a.cache and os.path.exists(a.cache):
        import pickle
        per_file, S, bits = pickle.load(open(a.cache, "rb"))
        files = []
    for f in files:
        out = os.path.join(tmp, "x.nac")
        subprocess.run([a.nac, "encode", "-q", f, out, "--mode", "neural", "--kbps", "24"], check=True)
        codes, S, bits = read_codes(out)
        per_file.append(codes)
    if a.cache and files:
        import pickle
        pickle.dump((per_file, S, bits), open(a.cache, "wb"))
    if a.write_table:
        info = subprocess.run([a.nac, "info", "default"], capture_output=True, text=True).stdout
        model_hash = int(info.split("hash ")[1].split()[0], 16)
        write_table(a.write_table, per_file, S, bits, model_hash)
        print(f"{a.write_table}: tables of {S} stages from {len(per_file)} files, "
              f"{sum(len(c) for c in per_file)} frames (model {model_hash:08x})")
        return
    half = len(per_file) // 2
    train = [r for c in per_file[:half] for r in c]
    test = [r for c in per_file[half:] for r in c]
    allf = train + test
    print(f"{len(per_file)} files, {len(allf)} frames of 20 ms, {S} stages of {bits} bits")
    print("| stage | entries used | H | H given previous frame | H given previous stage | held-out H | repeats | held-out H with a repeat flag |")
    print("|---|---|---|---|---|---|---|---|")
    held = []
    for s in range(S):
        col = [r[s] for r in allf]
        prev_t = [(c[i - 1][s], c[i][s]) for c in per_file for i in range(1, len(c))]
        prev_s = [(r[s - 1], r[s]) for r in allf] if s else []
        h = entropy(Counter(col))
        ho = cross_bits(Counter(r[s] for r in train), [r[s] for r in test], 1 << bits)
        # a repeat flag: 'same index as the previous frame' with its trained probability, else the table
        rep_train = [c[i][s] == c[i - 1][s] for c in per_file[:half] for i in range(1, len(c))]
        p = min(max(sum(rep_train) / max(len(rep_train), 1), 1e-3), 1 - 1e-3)
        tab = Counter(r[s] for r in train)
        n_tab = sum(tab.values()) + (1 << bits)
        rb, cnt = 0.0, 0
        for c in per_file[half:]:
            for i in range(1, len(c)):
                x = c[i][s]
                rb += -math.log2(p) if x == c[i - 1][s] else -math.log2((1 - p) * (tab.get(x, 0) + 1) / n_tab)
                cnt += 1
        rb /= max(cnt, 1)
        held.append(min(ho, rb))
        rep = sum(c[i][s] == c[i - 1][s] for c in per_file for i in range(1, len(c))) / max(len(prev_t), 1)
        print(f"| {s + 1} | {len(set(col))} | {h:.2f} | {cond_entropy(prev_t):.2f} | "
              f"{cond_entropy(prev_s) if s else float('nan'):.2f} | {ho:.2f} | {100 * rep:.1f}% | {rb:.2f} |")
    print("\n| kbps | stages | bits per frame | held-out entropy | saving |")
    print("|---|---|---|---|---|")
    for kbps in (1.5, 3, 6, 12, 24):
        n = int(kbps * 2)
        ent = sum(held[:n])
        print(f"| {kbps} | {n} | {n * bits} | {ent:.1f} | {100 * (1 - ent / (n * bits)):.1f}% |")

if __name__ == "__main__":
    main()
