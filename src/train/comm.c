/* Communication between data-parallel ranks: Open MPI behind NAC_HAVE_MPI (make MPI=1), and a
 * one-rank stub otherwise. The reduction of shard gradients keeps a fixed order (train/shard.h), so
 * no MPI reduction operation (whose order MPI leaves open) is used. */
#include "train/comm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/shard.h"

#ifdef NAC_HAVE_MPI
#include <mpi.h>
#endif

/* Sum of the k local shards when this process is the only rank. */
static void reduce_local(float *out, const float *local, int k, size_t P, int S)
{
    for (int j = 0; j < k; j++)
        nac_shard_add(out, local + (size_t)j * P, P, j == 0);
    nac_shard_finish(out, P, S);
}

#ifdef NAC_HAVE_MPI

int nac_comm_built(void) { return 1; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int mpi_fail(nac_error *err, int code, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, msg, &len);
    return nac_error_set(err, NAC_ERR_IO, "MPI %s failed: %.*s", what, len, msg);
}

int nac_comm_init(nac_comm *c, nac_error *err)
{
    memset(c, 0, sizeof *c);
    c->size = 1;
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK"))
        return NAC_OK;
    int rc = MPI_Init(NULL, NULL);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "init");
    c->mpi = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    return NAC_OK;
}

void nac_comm_finalize(nac_comm *c)
{
    if (!c)
        return;
    free(c->scratch);
    c->scratch = NULL;
    if (c->mpi) {
        MPI_Finalize();
        c->mpi = 0;
    }
}

void nac_comm_abort(nac_comm *c, int code)
{
    if (c && c->mpi && c->size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
}

int nac_comm_allgather(nac_comm *c, void *recv, const void *send, size_t bytes, nac_error *err)
{
    if (c->size == 1) {
        memmove(recv, send, bytes);
        return NAC_OK;
    }
    if (bytes > (size_t)0x7fffffff)
        return nac_error_set(err, NAC_ERR_ARG, "MPI allgather of %zu bytes is too large", bytes);
    double t0 = now();
    int rc = MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
    c->seconds += now() - t0;
    return rc == MPI_SUCCESS ? NAC_OK : mpi_fail(err, rc, "allgather");
}

int nac_comm_bcast(nac_comm *c, void *buf, size_t bytes, nac_error *err)
{
    if (c->size == 1)
        return NAC_OK;
    double t0 = now();
    int rc = MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    c->seconds += now() - t0;
    return rc == MPI_SUCCESS ? NAC_OK : mpi_fail(err, rc, "broadcast");
}

int nac_comm_reduce_shards(nac_comm *c, float *out, const float *local, int k, size_t P, int S, nac_error *err)
{
    if (c->size == 1) {
        reduce_local(out, local, k, P, S);
        return NAC_OK;
    }
    int N = c->size;
    size_t chunk = (P + (size_t)N - 1) / (size_t)N;
    if ((size_t)k * chunk > (size_t)0x7fffffff)
        return nac_error_set(err, NAC_ERR_ARG, "MPI: %zu floats per slice is too large", (size_t)k * chunk);
    size_t need = 2 * (size_t)N * k * chunk + chunk + (size_t)N * chunk;
    if (need > c->scratch_n) {
        float *p = realloc(c->scratch, need * sizeof *p);
        if (!p)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        c->scratch = p;
        c->scratch_n = need;
    }
    float *send = c->scratch, *recv = send + (size_t)N * k * chunk, *mine = recv + (size_t)N * k * chunk;
    float *all = mine + chunk;
    /* slice r of each of my shards goes to rank r, which sums slice r over all S shards in order */
    for (int r = 0; r < N; r++)
        for (int j = 0; j < k; j++) {
            float *d = send + ((size_t)r * k + j) * chunk;
            size_t lo = (size_t)r * chunk, n = lo >= P ? 0 : P - lo < chunk ? P - lo : chunk;
            memcpy(d, local + (size_t)j * P + lo, n * sizeof *d);
            memset(d + n, 0, (chunk - n) * sizeof *d);
        }
    double t0 = now();
    int rc = MPI_Alltoall(send, (int)(k * chunk), MPI_FLOAT, recv, (int)(k * chunk), MPI_FLOAT, MPI_COMM_WORLD);
    c->seconds += now() - t0;
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "alltoall");
    for (int s = 0; s < S; s++) /* source rank r's shard j is shard r*k + j: recv is in shard order */
        nac_shard_add(mine, recv + (size_t)s * chunk, chunk, s == 0);
    nac_shard_finish(mine, chunk, S);
    t0 = now();
    rc = MPI_Allgather(mine, (int)chunk, MPI_FLOAT, all, (int)chunk, MPI_FLOAT, MPI_COMM_WORLD);
    c->seconds += now() - t0;
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "allgather");
    memcpy(out, all, P * sizeof *out);
    return NAC_OK;
}

#else /* one rank, no MPI */

int nac_comm_built(void) { return 0; }

int nac_comm_init(nac_comm *c, nac_error *err)
{
    memset(c, 0, sizeof *c);
    c->size = 1;
    /* started by mpirun with several ranks: without MPI each would train alone on the same files */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    if (n && atoi(n) > 1)
        return nac_error_set(err, NAC_ERR_UNSUPPORTED,
                             "this nac is built without MPI, and mpirun started %d copies of it: build with make MPI=1",
                             atoi(n));
    return NAC_OK;
}

void nac_comm_finalize(nac_comm *c)
{
    if (c) {
        free(c->scratch);
        c->scratch = NULL;
    }
}

void nac_comm_abort(nac_comm *c, int code)
{
    (void)c;
    (void)code;
}

int nac_comm_allgather(nac_comm *c, void *recv, const void *send, size_t bytes, nac_error *err)
{
    (void)c;
    (void)err;
    memmove(recv, send, bytes);
    return NAC_OK;
}

int nac_comm_bcast(nac_comm *c, void *buf, size_t bytes, nac_error *err)
{
    (void)c;
    (void)buf;
    (void)bytes;
    (void)err;
    return NAC_OK;
}

int nac_comm_reduce_shards(nac_comm *c, float *out, const float *local, int k, size_t P, int S, nac_error *err)
{
    (void)c;
    (void)err;
    reduce_local(out, local, k, P, S);
    return NAC_OK;
}

#endif
