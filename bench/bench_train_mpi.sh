#!/bin/sh
# Training throughput of the built-in model's architecture (default config, batch 8 x 1 s) on this
# machine: one process with 1 or 2 OpenMP threads and 1 or 2 shards, and mpirun -np 2 with one
# thread per rank. Each configuration trains for SECONDS of wall time from a fresh model; prints
# its steps/s over its log rows (steps over time; the first row, warm-up, left out) and, under
# mpirun, the communication time per step. Usage: bench_train_mpi.sh NAC [SECONDS] [DATA] [KEEP]
# (KEEP: a folder that receives the logs).
set -e
NAC=${1:-build/mpi/nac}
SECS=${2:-45}
DATA=${3:-../shared/data/train}
KEEP=${4:-}
export OMP_WAIT_POLICY=passive OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
DIR=$(mktemp -d /tmp/nac_bench_train.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
COMMON="--data $DATA --batch 8 --seconds 1 --print-every 5 --save-every 100000 --steps 100000 --time-limit $SECS"
run() { # name, launcher..., extra options
  name=$1; shift
  rm -f "$DIR/$name".*
  nice -n 15 "$@" --out "$DIR/$name.nacw" >"$DIR/$name.err" 2>&1
  awk -F, -v n="$name" 'NR == 2 { s0 = $1 } NR > 2 { t += ($1 - p) / $12; s = $1 } { p = $1 }
    END { if (t > 0) printf "%-12s %6.3f steps/s (%d steps)\n", n, (s - s0) / t, s - s0 }' "$DIR/$name.csv"
  grep -o 'comm [0-9.]* ms/step' "$DIR/$name.err" | awk -v n="$name" '{ s += $2; k++ } END { if (k) printf "%-12s %6.1f ms/step in communication\n", n, s / k }'
}
for pass in 1 2; do
  echo "pass $pass"
  run np1_t1_s1 $NAC train $COMMON --threads 1 --shards 1
  run np1_t1_s2 $NAC train $COMMON --threads 1 --shards 2
  run np1_t2_s1 $NAC train $COMMON --threads 2 --shards 1
  run np2_t1_s2 mpirun -np 2 --oversubscribe $NAC train $COMMON --threads 1
  [ -n "$KEEP" ] && mkdir -p "$KEEP" && cp "$DIR"/*.csv "$DIR"/*.err "$KEEP"/ 2>/dev/null
done
exit 0
