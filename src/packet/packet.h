/* The packet layer's internals shared by its files: the VBR payload coder (src/packet/vbr.c). */
#ifndef NAC_PACKET_PACKET_H
#define NAC_PACKET_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define NAC_VBR_MAX_SET 6 /* stage counts an adaptive stream chooses from, at most */

/* Range-codes frames of codes (F, S) of 10-bit stages with the built-in tables into out (cap
 * bytes); *size gets the bytes. fpp: the stream's frames per packet (F == fpp costs 1 bit, any
 * other count 17; 0: never full). fs (F) NULL: every frame codes S stages; else frame f codes its
 * first fs[f], one of nac_vbr_stage_set(S) (adaptive stage counts). NAC_OK or NAC_ERR_ARG (codes
 * or counts out of range, or too long for cap). */
int nac_vbr_encode(uint8_t *out, size_t cap, size_t *size, const int32_t *codes, size_t F, size_t fpp, int S,
                   const uint8_t *fs, nac_error *err);
/* Decodes a payload of size bytes into at most max_frames frames of codes (F, S); *F gets the
 * count. fs (max_frames) NULL: S stages a frame; else adaptive: fs[f] gets frame f's count, its
 * codes past it are 0. NAC_ERR_CORRUPT when it claims more than max_frames frames. */
int nac_vbr_decode(int32_t *codes, size_t max_frames, size_t *F, const uint8_t *in, size_t size, size_t fpp, int S,
                   uint8_t *fs, nac_error *err);
/* The hash of the built-in tables (the VBR-table field of a stream whose frames all code its
 * stages), and the stages they cover. */
uint32_t nac_vbr_table_hash(void);
/* The VBR-table field of a stream with adaptive stage counts: the tables' hash with the scheme
 * folded in (a reader that lacks the scheme refuses the stream instead of misreading it). */
uint32_t nac_vbr_adaptive_hash(void);
/* The counts a frame of an adaptive stream of S stages may code: 3, 6, 12, 24, 48 below S, then
 * S, increasing, into set; returns how many (at most NAC_VBR_MAX_SET). */
int nac_vbr_stage_set(int S, int *set);
/* The bits the tables give a frame of S codes c after a frame of S_prev codes prev (NULL: the
 * packet's first): what the range coder spends on it, to within its rounding. */
double nac_vbr_frame_bits(const int32_t *c, const int32_t *prev, int S, int S_prev);
int nac_vbr_table_stages(void);
/* The most stages (at least 1, at most max_stages) whose expected VBR rate, from the tables'
 * entropies at 50 frames/s, stays within kbps; and the expected bits of a frame of S stages. */
int nac_vbr_stages_for_kbps(double kbps, int max_stages);
double nac_vbr_expected_bits(int S);

#endif
