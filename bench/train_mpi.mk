# Data-parallel training (docs/training.md). `make test-mpi`: builds build/mpi with MPI=1 and runs the
# trainer's tests there (in a plain build the MPI ones are skipped). `make bench-train-mpi`: steps/s
# of one process (1 and 2 threads, 1 and 2 shards) against mpirun -np 2, and communication per step
# (bench/bench_train_mpi.sh; BENCH_TRAIN_SECONDS per configuration); `make bench-comm` below.
BENCH_TRAIN_SECONDS ?= 45
test-mpi:
	$(MAKE) MPI=1 BUILD=build/mpi build/mpi/nac build/mpi/nac_tests
	NAC_BIN=build/mpi/nac build/mpi/nac_tests train_

bench-train-mpi:
	$(MAKE) MPI=1 BUILD=build/mpi build/mpi/nac
	sh bench/bench_train_mpi.sh build/mpi/nac $(BENCH_TRAIN_SECONDS)

.PHONY: test-mpi bench-train-mpi

# `make bench-train-shards`: the cost of --shards on one process (bench/bench_train_shards.c),
# two trainers stepped alternately; BENCH_SHARDS_ARGS = DATA [SHARDS] [STEPS] [BATCH].
BENCH_SHARDS_ARGS ?= ../shared/data/train 2 30 8
$(BUILD)/bench_train_shards: bench/bench_train_shards.c $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnac.a $(LIBS)
bench-train-shards: $(BUILD)/bench_train_shards
	OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1 nice -n 15 $(BUILD)/bench_train_shards $(BENCH_SHARDS_ARGS)
.PHONY: bench-train-shards

# `make bench-comm`: the exchange of one step alone, ranks entering together (bench/bench_comm.c).
bench-comm:
	$(MAKE) MPI=1 BUILD=build/mpi build/mpi/bench_comm
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe build/mpi/bench_comm
$(BUILD)/bench_comm: bench/bench_comm.c $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnac.a $(LIBS)
.PHONY: bench-comm
