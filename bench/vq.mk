# nac vq benchmark (bench/bench_vq.py): k-means against scikit-learn's KMeans on 10^6 x 20 data
# (time and final-error ratios), and 2-stage M-best quantisation time. `make bench-vq`.
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are cleared for this command only: they slow numpy/sklearn.
BENCH_VQ_ARGS ?=
bench-vq: $(BUILD)/nac
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/bench_vq.py --nac $(BUILD)/nac $(BENCH_VQ_ARGS)

bench: bench-vq

.PHONY: bench-vq bench
