/* The trainer's communication between data-parallel ranks: MPI when nac is built with MPI=1 and the
 * process was started by mpirun, otherwise one rank (the stubs below need no MPI). Every call is
 * collective: all ranks make the same calls in the same order. Errors: NAC_ERR_IO with the MPI
 * message; a rank that dies ends the job (Open MPI's mpirun stops the others). */
#ifndef NAC_TRAIN_COMM_H
#define NAC_TRAIN_COMM_H

#include <stddef.h>

#include "core/status.h"

typedef struct nac_comm {
    int rank, size;
    int mpi;          /* 1 when MPI was initialised here (finalise at the end) */
    double seconds;   /* wall time spent in communication so far */
    float *scratch;   /* the reduction's buffers, kept between steps (owned) */
    size_t scratch_n;
} nac_comm;

/* 1 when this build has MPI. */
int nac_comm_built(void);
/* rank 0 of 1 unless built with MPI and launched by mpirun (OMPI_COMM_WORLD_SIZE or PMI_SIZE set),
 * then MPI_Init. Without MPI but started by mpirun with several ranks: NAC_ERR_UNSUPPORTED (each
 * copy would otherwise train alone and write the same files). */
int nac_comm_init(nac_comm *c, nac_error *err);
/* Frees the scratch and leaves MPI (when this process joined it). */
void nac_comm_finalize(nac_comm *c);
/* Ends every rank of the job (MPI_Abort); returns without MPI. */
void nac_comm_abort(nac_comm *c, int code);

/* recv (size * bytes) = every rank's send (bytes), in rank order. */
int nac_comm_allgather(nac_comm *c, void *recv, const void *send, size_t bytes, nac_error *err);
/* out (P) = (sum in shard order of the S shard gradients) / S, where this rank holds its k = S / size
 * shards in local (k, P) (shards rank*k ... rank*k + k - 1). A reduce-scatter in which each rank
 * sums one slice of the vector over all S shards in order, then an allgather; scratch is owned. */
int nac_comm_reduce_shards(nac_comm *c, float *out, const float *local, int k, size_t P, int S, nac_error *err);
/* Same value on every rank: rank 0's. */
int nac_comm_bcast(nac_comm *c, void *buf, size_t bytes, nac_error *err);

#endif
