/* Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (run by `make fuzz-seeds`;
 * the files are committed). Small valid inputs of each kind, with the first byte each target reads
 * as a mode: a .nac stream of the built-in model, a tiny model file, feature rows, audio files,
 * vocoder payloads, tiny enhancement and VQ-VAE models, a listening-test CSV. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "enhance/enhance_net.h"
#include "format/nacfile.h"
#include "model/codec_io.h"
#include "model/codec_net.h"
#include "nac/nac.h"
#include "nac/vocoder.h"
#include "nac/vqvae.h"
#include "vq/rvq.h"
#include "vqvae/vqvae.h"

static int put(const char *dir, const char *name, int mode, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "fuzz/corpus/%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (mode >= 0)
        fputc(mode, f);
    fwrite(p, 1, n, f);
    return fclose(f);
}

static long slurp(const char *path, unsigned char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    *out = malloc((size_t)n);
    if (fread(*out, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    return n;
}

/* 0.3 s of a chirp coded by the built-in model at 1.5 kbps, 5 frames per packet. */
static int nac_seeds(void)
{
    nac_model *m = NULL;
    nac_encoder *e = NULL;
    nac_model_info mi;
    if (nac_model_load_default(&m, NULL))
        return -1;
    nac_model_get_info(m, &mi);
    int S = 3, fpp = 5;
    size_t n = 4800, frames = 0, more = 0;
    float x[4800];
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * sinf(0.0002f * (float)(i * i) / 10);
    int32_t codes[64 * 3];
    if (nac_encoder_create(&e, m, S, NULL) || nac_encoder_push(e, codes, 64, &frames, x, n, NULL) ||
        nac_encoder_flush(e, codes + frames * S, 64 - frames, &more, NULL))
        return -1;
    frames += more;
    nac_nacfile_info info;
    memset(&info, 0, sizeof info);
    info.source_rate = info.codec_rate = 16000;
    info.channels = 1;
    info.length = n;
    info.frame_size = (uint32_t)mi.frame_size;
    info.n_stages = (uint16_t)S;
    for (int s = 0; s < S; s++)
        info.stage_bits[s] = (uint8_t)mi.bits_per_stage;
    info.model_hash = mi.hash;
    info.delay = (uint32_t)mi.delay;
    info.frames_per_packet = (uint16_t)fpp;
    info.bitrate = 15;
    strcpy(info.encoder, "nac seeds");
    for (int variant = 0; variant < 4; variant++) { /* version 2 and version 1, length known and not */
        int unknown = variant & 1;
        nac_nacfile_writer *w = NULL;
        info.version = variant < 2 ? 2 : 1;
        info.length = unknown ? NAC_NACFILE_LENGTH_UNKNOWN : n;
        if (nac_nacfile_writer_create_mem(&w, &info, NULL))
            return -1;
        uint8_t payload[64];
        for (size_t f = 0, seq = 0; f < frames; f += (size_t)fpp, seq++) {
            size_t k = frames - f < (size_t)fpp ? frames - f : (size_t)fpp;
            size_t nb = nac_rvq_packed_bytes(k * S, mi.bits_per_stage);
            if (nac_rvq_pack(payload, codes + f * S, k * S, mi.bits_per_stage, NULL) ||
                nac_nacfile_writer_write(w, (uint32_t)seq, payload, nb, NULL))
                return -1;
        }
        const uint8_t *b;
        size_t size;
        nac_nacfile_writer_buffer(w, &b, &size);
        const char *names[4][3] = {{"chirp", "chirp_decoded", "chirp_raw"},
                                   {"chirp_unknown_length", "chirp_unknown_length_decoded", "chirp_unknown_length_raw"},
                                   {"chirp_v1", "chirp_v1_decoded", "chirp_v1_raw"},
                                   {"chirp_v1_unknown_length", "chirp_v1_unknown_length_decoded",
                                    "chirp_v1_unknown_length_raw"}};
        put("nac", names[variant][0], 1, b, size);
        put("nac", names[variant][1], 3, b, size);
        put("nac", names[variant][2], 0, b, size);
        nac_nacfile_writer_destroy(w);
    }
    /* the same chirp range-coded (VBR), with adaptive stage counts and with the transform coder,
     * through the packet API */
    static const char *const kinds[3][2] = {{"chirp_vbr", "chirp_vbr_decoded"},
                                            {"chirp_transform", "chirp_transform_decoded"},
                                            {"chirp_vbr_adaptive", "chirp_vbr_adaptive_decoded"}};
    for (int k = 0; k < 3; k++) {
        nac_packet_config cfg = {.mode = k == 1 ? NAC_MODE_TRANSFORM : NAC_MODE_NEURAL,
                                 .kbps = k == 1 ? 12 : k ? 4 : 1.5, .frames_per_packet = 5,
                                 .vbr = k == 1 ? 0 : k ? NAC_VBR_ADAPTIVE : NAC_VBR_LOSSLESS, .length = n};
        nac_packet_encoder *pe = NULL;
        nac_nacfile_writer *w = NULL;
        const uint8_t *pk;
        size_t pn;
        if (nac_packet_encoder_create(&pe, m, &cfg, NULL) ||
            nac_nacfile_writer_create_mem(&w, nac_packet_encoder_info(pe), NULL) ||
            nac_packet_encoder_push(pe, x, n, NULL) || nac_packet_encoder_flush(pe, NULL))
            return -1;
        while (nac_packet_encoder_next(pe, &pk, &pn) == NAC_OK)
            if (nac_nacfile_writer_write_framed(w, pk, pn, NULL))
                return -1;
        const uint8_t *b;
        size_t size;
        nac_nacfile_writer_buffer(w, &b, &size);
        put("nac", kinds[k][0], 1, b, size);
        put("nac", kinds[k][1], 3, b, size);
        nac_nacfile_writer_destroy(w);
        nac_packet_encoder_destroy(pe);
    }
    nac_encoder_destroy(e);
    nac_model_destroy(m);
    return 0;
}

/* The smallest codec the config allows, initialised and saved. */
static int weight_seeds(void)
{
    nac_codec_config c;
    nac_codec_config_default(&c);
    c.n_fft = 16, c.hop = 8, c.down = 2, c.channels = 4, c.hidden = 4, c.kernel = 3;
    c.enc_hi = 1, c.enc_lo = 0, c.dec_lo = 1, c.dec_hi = 0, c.latent_dim = c.rvq.dim = 2;
    c.rvq.n_stages = 2, c.rvq.codebook_size = 4, c.rvq.code_dim = 0;
    for (int v = 0; v < 2; v++) {
        nac_codec_net *n = NULL;
        if (v)
            c.rvq.code_dim = 1, c.phase_head = 1;
        if (nac_codec_net_create(&n, &c, 0, NULL))
            return -1;
        nac_codec_net_init(n, 1);
        const char *tmp = "fuzz/corpus/weights/.tmp";
        unsigned char *b = NULL;
        long size;
        if (nac_codec_net_save(n, tmp, NULL, NULL) || (size = slurp(tmp, &b)) < 0)
            return -1;
        remove(tmp);
        put("weights", v ? "tiny_factorised" : "tiny", 1, b, (size_t)size);
        free(b);
        nac_codec_net_destroy(n);
    }
    return 0;
}

static int f32_seeds(void)
{
    float x[3 * 5];
    for (int i = 0; i < 15; i++)
        x[i] = (float)i / 7 - 1;
    put("f32", "rows_k5", 4, x, sizeof x); /* K = 1 + 4 */
    put("f32", "rows_k3", 2, x, 12 * sizeof(float));
    x[7] = NAN;
    put("f32", "nan_k5", 4, x, sizeof x);
    return 0;
}

static int audio_seeds(void)
{
    float x[400];
    for (int i = 0; i < 400; i++)
        x[i] = 0.5f * sinf(0.1f * (float)i);
    const char *names[] = {"tone.wav", "tone.flac"};
    for (int k = 0; k < 2; k++) {
        char path[128];
        unsigned char *b = NULL;
        snprintf(path, sizeof path, "fuzz/corpus/audio/.tmp_%s", names[k]);
        long size;
        if (nac_audio_write_all(path, x, 400, 8000, NULL) || (size = slurp(path, &b)) < 0)
            return -1;
        remove(path);
        put("audio", names[k], -1, b, (size_t)size);
        free(b);
    }
    return 0;
}

/* 0.4 s of a gliding vowel-like tone coded at each vocoder rate: the mode byte, then the payload. */
static int vocoder_seeds(void)
{
    static const double rates[3] = {0.7, 1.2, 1.6};
    enum { N = 6400 };
    static float x[N];
    for (int i = 0; i < N; i++) {
        double f0 = 120 + 40 * (double)i / N, ph = 2 * M_PI * f0 * i / 16000;
        x[i] = (float)(0.2 * sin(ph) + 0.1 * sin(2 * ph) + 0.05 * sin(3 * ph));
    }
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    float *feat = NULL;
    size_t T = 0;
    if (nac_vocoder_analyze(&feat, &T, x, N, &g, NULL))
        return -1;
    for (int r = 0; r < 3; r++) {
        nac_vocoder_codec *c = NULL;
        int32_t *codes = NULL;
        size_t F = 0;
        char name[32];
        if (nac_vocoder_codec_create(&c, rates[r], NULL) || nac_vocoder_codec_encode(&codes, &F, c, feat, T, NULL))
            return -1;
        size_t nb = nac_vocoder_packed_bytes(c, F);
        uint8_t *b = malloc(nb);
        nac_vocoder_pack(b, c, codes, F);
        snprintf(name, sizeof name, "glide_%gkbps", rates[r]);
        put("vocoder", name, r, b, nb);
        free(b);
        free(codes);
        nac_vocoder_codec_destroy(c);
    }
    free(feat);
    return 0;
}

/* The smallest enhancement models of two tasks (one with the excitation branch), saved. */
static int enhance_seeds(void)
{
    static const nac_enhance_task tasks[2] = {NAC_ENHANCE_DENOISE, NAC_ENHANCE_BWE};
    for (int k = 0; k < 2; k++) {
        nac_enh_config c;
        nac_enh_config_default(&c, (int)tasks[k]);
        c.channels = 4, c.hidden = 4, c.blocks = 1, c.kernel = 3, c.in_kernel = 3;
        nac_enh_net *n = NULL;
        const char *tmp = "fuzz/corpus/enhance/.tmp";
        unsigned char *b = NULL;
        long size;
        if (nac_enh_net_create(&n, &c, 0, NULL))
            return -1;
        nac_enh_net_init(n, 1);
        if (nac_enh_net_save(n, tmp, 0, NAC_DTYPE_F16, NULL, NULL) || (size = slurp(tmp, &b)) < 0)
            return -1;
        remove(tmp);
        put("enhance", k ? "tiny_bwe" : "tiny_denoise", 1, b, (size_t)size);
        free(b);
        nac_enh_net_destroy(n);
    }
    return 0;
}

/* The smallest VQ-VAE models: an autoencoder, and one with a 2-stage VQ saved with its moments. */
static int vqvae_seeds(void)
{
    for (int k = 0; k < 2; k++) {
        nac_vqvae_config c;
        nac_vqvae_config_default(&c);
        c.k = 3, c.ncat = 2, c.dim = 2, c.hidden = 4, c.kernel = 2, c.stages = 2 * k, c.entries = 4;
        nac_vqvae *m = NULL;
        const char *tmp = "fuzz/corpus/vqvae/.tmp";
        unsigned char *b = NULL;
        long size;
        if (nac_vqvae_create(&m, &c, k, 1, NULL) || nac_vqvae_save(m, tmp, k, NULL) || (size = slurp(tmp, &b)) < 0)
            return -1;
        remove(tmp);
        put("vqvae", k ? "tiny_vq_moments" : "tiny_autoencoder", k ? 3 : 1, b, (size_t)size);
        free(b);
        nac_vqvae_destroy(m);
    }
    return 0;
}

static int listen_seeds(void)
{
    static const char csv[] = "listener,item,condition,score\r\n"
                              "ann,speech1,reference,100\r\nann,speech1,anchor,20\r\nann,speech1,nac6,71.5\r\n"
                              "\"bo, b\",speech1,reference,95\r\n\"bo, b\",speech1,nac6,64\r\n";
    static const char bom[] = "\xEF\xBB\xBFscore,condition,item,listener,extra\n90,reference,a,x,\"q\"\"q\"\n\n";
    return put("listen", "ratings.csv", -1, csv, sizeof csv - 1) || put("listen", "bom.csv", -1, bom, sizeof bom - 1);
}

int main(void)
{
    if (nac_seeds() || weight_seeds() || f32_seeds() || audio_seeds() || vocoder_seeds() || enhance_seeds() || vqvae_seeds() ||
        listen_seeds()) {
        fprintf(stderr, "seeds: failed (run from the repository root, fuzz/corpus/<target>/ must exist)\n");
        return 1;
    }
    return 0;
}
