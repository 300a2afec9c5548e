# Data-parallel training (docs/training.md). `make test-mpi`: builds build/mpi with MPI=1 and runs the
# trainer's tests there (in a plain build the MPI ones are skipped). `make bench-train-mpi`: steps/s
# of one process (1 and 2 threads, 1 and 2 shards) against mpirun -np 2, and communication per step
# (bench/bench_train_mpi.sh; BENCH_TRAIN_SECONDS per configuration).
BENCH_TRAIN_SECONDS ?= 45
test-mpi:
	$(MAKE) MPI=1 BUILD=build/mpi build/mpi/nac build/mpi/nac_tests
	NAC_BIN=build/mpi/nac build/mpi/nac_tests train_

bench-train-mpi:
	$(MAKE) MPI=1 BUILD=build/mpi build/mpi/nac
	sh bench/bench_train_mpi.sh build/mpi/nac $(BENCH_TRAIN_SECONDS)

.PHONY: test-mpi bench-train-mpi
