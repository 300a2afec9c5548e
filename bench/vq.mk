# nac vq benchmarks, `make bench-vq`: k-means against scikit-learn's KMeans on 10^6 x 20 data (time
# and final-error ratios) and 2-stage M-best quantisation time (bench/bench_vq.py), then the
# residual VQ layer at codec sizes (bench/bench_vq_rvq.c).
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are cleared for the Python command only: they slow numpy/sklearn.
BENCH_VQ_ARGS ?=
$(BUILD)/bench_vq_rvq: bench/bench_vq_rvq.c $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnac.a $(LIBS)

bench-vq: $(BUILD)/nac $(BUILD)/bench_vq_rvq
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/bench_vq.py --nac $(BUILD)/nac $(BENCH_VQ_ARGS)
	$(BUILD)/bench_vq_rvq

bench: bench-vq

.PHONY: bench-vq bench

# k-means++ seeding against scikit-learn on issue 11's 32-component Gaussian mixture (ratios to the
# optimal error; a few seconds). BENCH_KMPP_ARGS="--data-seed 1" for another draw of the data.
BENCH_KMPP_ARGS ?=
bench-kmeanspp: $(BUILD)/nac
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 /usr/bin/python3 bench/bench_kmeanspp.py --nac $(BUILD)/nac $(BENCH_KMPP_ARGS)

.PHONY: bench-kmeanspp

# The VQ-VAE experiments of docs/vqvae.md (features, VQ-VAE, external 3-stage VQ, per-gender dB^2;
# about an hour on one core): bench/bench_vqvae.sh, outputs in build/bench_vqvae.
bench-vqvae: $(BUILD)/nac
	NAC=$(BUILD)/nac sh bench/bench_vqvae.sh

.PHONY: bench-vqvae
