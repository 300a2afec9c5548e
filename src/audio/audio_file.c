/* Audio files through libsndfile. Reading: any format libsndfile knows, blocks of BLOCK frames
 * averaged to mono, so memory is bounded whatever the file length. A stdin that is a pipe is
 * spooled to an unlinked temporary file first (libsndfile cannot decode FLAC or Ogg from a pipe;
 * the spool costs disk, not memory). Writing: 16-bit PCM, float -> int16 as round(x * 32768)
 * clipped to [-32768, 32767], the exact inverse of libsndfile's int16 -> float (/ 32768), so
 * int16-representable samples round-trip bit for bit. WAV to a pipe (libsndfile refuses it):
 * we write a 44-byte header whose RIFF and data sizes are 0xFFFFFFFF ("length unknown", the
 * streaming convention ffmpeg, sox and libsndfile read), then raw little-endian PCM. */
#include "audio/audio_file.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 4096 /* frames per libsndfile call */

/* ---------------------------------------------------------------- reader */

struct nac_audio_reader {
    SNDFILE *sf;
    FILE *spool;     /* temporary copy of a piped stdin, or NULL */
    float *buf;      /* (BLOCK, channels) interleaved, for multichannel files */
    nac_audio_info info;
    char name[256];  /* for messages */
};

static void display_name(char *dst, size_t cap, const char *path)
{
    snprintf(dst, cap, "%s", strcmp(path, "-") ? path : "<stdin>");
}

/* Copies fd 0 into an unlinked temporary file; returns it rewound, or NULL with err set. */
static FILE *spool_stdin(const char *name, nac_error *err)
{
    enum { CHUNK = 1 << 16 };
    char *buf = malloc(CHUNK);
    FILE *tmp = tmpfile();
    if (!buf) {
        nac_error_set(err, NAC_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    if (!tmp) {
        nac_error_set(err, NAC_ERR_IO, "%s: cannot create a temporary file to hold the input (%s)", name,
                      strerror(errno));
        goto fail;
    }
    for (;;) {
        ssize_t got = read(0, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            nac_error_set(err, NAC_ERR_IO, "%s: read error (%s)", name, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        if (fwrite(buf, 1, (size_t)got, tmp) != (size_t)got) {
            nac_error_set(err, NAC_ERR_IO, "%s: cannot write the temporary copy of the input (%s)", name,
                          strerror(errno));
            goto fail;
        }
    }
    if (fflush(tmp) != 0 || fseek(tmp, 0, SEEK_SET) != 0) {
        nac_error_set(err, NAC_ERR_IO, "%s: cannot rewind the temporary copy of the input", name);
        goto fail;
    }
    free(buf);
    return tmp;
fail:
    free(buf);
    if (tmp)
        fclose(tmp);
    return NULL;
}

static void describe_format(char *dst, size_t cap, int format)
{
    SF_FORMAT_INFO major = {.format = format & SF_FORMAT_TYPEMASK};
    SF_FORMAT_INFO sub = {.format = format & SF_FORMAT_SUBMASK};
    const char *mname = "unknown format", *sname = "unknown encoding";
    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &major, sizeof major) == 0 && major.name)
        mname = major.name;
    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &sub, sizeof sub) == 0 && sub.name)
        sname = sub.name;
    snprintf(dst, cap, "%s, %s", mname, sname);
}

/* Raw PCM encodings: name, libsndfile subformat and byte order. */
static const struct raw_encoding {
    const char *name;
    int sub, endian;
} raw_encodings[] = {
    {"s16le", SF_FORMAT_PCM_16, SF_ENDIAN_LITTLE}, {"s16be", SF_FORMAT_PCM_16, SF_ENDIAN_BIG},
    {"s24le", SF_FORMAT_PCM_24, SF_ENDIAN_LITTLE}, {"s24be", SF_FORMAT_PCM_24, SF_ENDIAN_BIG},
    {"s32le", SF_FORMAT_PCM_32, SF_ENDIAN_LITTLE}, {"s32be", SF_FORMAT_PCM_32, SF_ENDIAN_BIG},
    {"f32le", SF_FORMAT_FLOAT, SF_ENDIAN_LITTLE},  {"f32be", SF_FORMAT_FLOAT, SF_ENDIAN_BIG},
    {"f64le", SF_FORMAT_DOUBLE, SF_ENDIAN_LITTLE}, {"f64be", SF_FORMAT_DOUBLE, SF_ENDIAN_BIG},
    {"s8", SF_FORMAT_PCM_S8, SF_ENDIAN_FILE},      {"u8", SF_FORMAT_PCM_U8, SF_ENDIAN_FILE},
    {"ulaw", SF_FORMAT_ULAW, SF_ENDIAN_FILE},      {"alaw", SF_FORMAT_ALAW, SF_ENDIAN_FILE},
};

int nac_audio_raw_set(nac_audio_raw *raw, const char *encoding, int sample_rate, int channels, nac_error *err)
{
    if (!raw || !encoding)
        return nac_error_set(err, NAC_ERR_ARG, "nac_audio_raw_set: NULL argument");
    int found = -1;
    for (size_t i = 0; i < sizeof raw_encodings / sizeof raw_encodings[0]; i++)
        if (!strcmp(encoding, raw_encodings[i].name))
            found = (int)i;
    if (found < 0)
        return nac_error_set(err, NAC_ERR_ARG, "raw sample format '%s' unknown (s16le, s16be, s24le, s24be, "
                             "s32le, s32be, f32le, f32be, f64le, f64be, s8, u8, ulaw, alaw)", encoding);
    if (sample_rate < 1 || sample_rate > NAC_AUDIO_MAX_RATE)
        return nac_error_set(err, NAC_ERR_ARG, "raw sample rate %d Hz not in 1..%d", sample_rate, NAC_AUDIO_MAX_RATE);
    if (channels < 1 || channels > NAC_AUDIO_MAX_CHANNELS)
        return nac_error_set(err, NAC_ERR_ARG, "raw channel count %d not in 1..%d", channels, NAC_AUDIO_MAX_CHANNELS);
    raw->encoding = found;
    raw->sample_rate = sample_rate;
    raw->channels = channels;
    return NAC_OK;
}

int nac_audio_reader_open(nac_audio_reader **out, const char *path, nac_error *err)
{
    return nac_audio_reader_open_raw(out, path, NULL, err);
}

int nac_audio_reader_open_raw(nac_audio_reader **out, const char *path, const nac_audio_raw *raw, nac_error *err)
{
    nac_audio_reader *r = NULL;
    SF_INFO si;
    struct stat st;
    int fd = -1, is_stdin, rc;
    if (!out || !path)
        return nac_error_set(err, NAC_ERR_ARG, "nac_audio_reader_open: NULL argument");
    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory opening %s", path);
    display_name(r->name, sizeof r->name, path);
    is_stdin = !strcmp(path, "-");

    /* Check what the path is first: libsndfile says "Format not recognised" for a directory
     * or an empty file, which would mislead. */
    if (is_stdin) {
        if (fstat(0, &st) != 0) {
            rc = nac_error_set(err, NAC_ERR_IO, "%s: cannot read standard input (%s)", r->name, strerror(errno));
            goto fail;
        }
        if (S_ISREG(st.st_mode)) {
            fd = 0;
        } else {
            r->spool = spool_stdin(r->name, err);
            if (!r->spool) {
                rc = err ? err->code : NAC_ERR_IO;
                goto fail;
            }
            fd = fileno(r->spool);
            if (fstat(fd, &st) != 0)
                st.st_size = 1;
        }
    } else {
        if (stat(path, &st) != 0) {
            rc = nac_error_set(err, NAC_ERR_IO, "%s: %s", r->name,
                               errno == ENOENT ? "no such file" : strerror(errno));
            goto fail;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = nac_error_set(err, NAC_ERR_IO, "%s: is a directory, not an audio file", r->name);
            goto fail;
        }
        if (access(path, R_OK) != 0) {
            rc = nac_error_set(err, NAC_ERR_IO, "%s: cannot open (%s)", r->name, strerror(errno));
            goto fail;
        }
    }
    if ((S_ISREG(st.st_mode) || r->spool) && st.st_size == 0) {
        rc = nac_error_set(err, NAC_ERR_EMPTY, "%s: empty file (0 bytes)", r->name);
        goto fail;
    }

    memset(&si, 0, sizeof si);
    if (raw) { /* headerless: libsndfile is told what the bytes are */
        if (raw->encoding < 0 || raw->encoding >= (int)(sizeof raw_encodings / sizeof raw_encodings[0])) {
            rc = nac_error_set(err, NAC_ERR_ARG, "%s: raw format not set (nac_audio_raw_set)", r->name);
            goto fail;
        }
        si.format = SF_FORMAT_RAW | raw_encodings[raw->encoding].sub | raw_encodings[raw->encoding].endian;
        si.samplerate = raw->sample_rate;
        si.channels = raw->channels;
    }
    r->sf = fd >= 0 ? sf_open_fd(fd, SFM_READ, &si, SF_FALSE) : sf_open(path, SFM_READ, &si);
    if (!r->sf) {
        int e = sf_error(NULL);
        if (e == SF_ERR_SYSTEM)
            rc = nac_error_set(err, NAC_ERR_IO, "%s: cannot open (%s)", r->name, sf_strerror(NULL));
        else
            rc = nac_error_set(err, NAC_ERR_FORMAT, "%s: not a readable audio file (%s)", r->name,
                               sf_strerror(NULL));
        goto fail;
    }
    if (si.channels < 1 || si.samplerate < 1) {
        rc = nac_error_set(err, NAC_ERR_FORMAT, "%s: invalid header (%d channels, %d Hz)", r->name, si.channels,
                           si.samplerate);
        goto fail;
    }
    if (si.frames == 0) {
        rc = nac_error_set(err, NAC_ERR_EMPTY, "%s: no audio samples", r->name);
        goto fail;
    }
    r->info.sample_rate = si.samplerate;
    r->info.channels = si.channels;
    /* libsndfile says SF_COUNT_MAX-ish for a length it cannot know (a non-seekable stream). */
    r->info.frames = (si.seekable && si.frames < ((sf_count_t)1 << 62)) ? (int64_t)si.frames : -1;
    describe_format(r->info.format, sizeof r->info.format, si.format);
    if (raw)
        snprintf(r->info.format, sizeof r->info.format, "raw %s, %d Hz, %d channel(s)",
                 raw_encodings[raw->encoding].name, raw->sample_rate, raw->channels);
    if (si.channels > 1) {
        r->buf = malloc((size_t)BLOCK * (size_t)si.channels * sizeof *r->buf);
        if (!r->buf) {
            rc = nac_error_set(err, NAC_ERR_NOMEM, "%s: out of memory (%d channels)", r->name, si.channels);
            goto fail;
        }
    }
    *out = r;
    return NAC_OK;
fail:
    nac_audio_reader_close(r);
    return rc;
}

const nac_audio_info *nac_audio_reader_info(const nac_audio_reader *r) { return &r->info; }

int nac_audio_reader_read(nac_audio_reader *r, float *x, size_t max, size_t *got, nac_error *err)
{
    size_t done = 0;
    int ch;
    if (!r || !got || (!x && max))
        return nac_error_set(err, NAC_ERR_ARG, "nac_audio_reader_read: NULL argument");
    ch = r->info.channels;
    while (done < max) {
        size_t want = max - done;
        sf_count_t n;
        if (want > BLOCK)
            want = BLOCK;
        if (ch == 1) {
            n = sf_readf_float(r->sf, x + done, (sf_count_t)want);
        } else {
            n = sf_readf_float(r->sf, r->buf, (sf_count_t)want);
            for (sf_count_t i = 0; i < n; i++) {
                const float *f = r->buf + (size_t)i * (size_t)ch;
                double s = 0;
                for (int c = 0; c < ch; c++)
                    s += f[c];
                x[done + (size_t)i] = (float)(s / ch);
            }
        }
        if (n < 0)
            n = 0;
        done += (size_t)n;
        if ((size_t)n < want) {
            /* End of data, or a decoder error (a damaged FLAC, say): tell them apart. */
            if (sf_error(r->sf) != SF_ERR_NO_ERROR) {
                *got = done;
                return nac_error_set(err, NAC_ERR_CORRUPT, "%s: decoding failed after %zu samples (%s)", r->name,
                                     done, sf_strerror(r->sf));
            }
            break;
        }
    }
    *got = done;
    return NAC_OK;
}

void nac_audio_reader_close(nac_audio_reader *r)
{
    if (!r)
        return;
    if (r->sf)
        sf_close(r->sf);
    if (r->spool)
        fclose(r->spool);
    free(r->buf);
    free(r);
}

int nac_audio_read_all(float **x, size_t *n, nac_audio_info *info, const char *path, nac_error *err)
{
    nac_audio_reader *r = NULL;
    float *buf = NULL;
    size_t cap, len = 0;
    int rc;
    if (!x || !n)
        return nac_error_set(err, NAC_ERR_ARG, "nac_audio_read_all: NULL argument");
    *x = NULL;
    *n = 0;
    rc = nac_audio_reader_open(&r, path, err);
    if (rc < 0)
        return rc;
    /* The header's length is a hint only: a truncated file holds fewer samples, a stream an
     * unknown number, so grow as needed. */
    cap = r->info.frames > 0 ? (size_t)r->info.frames + 1 : (size_t)1 << 16;
    buf = malloc(cap * sizeof *buf);
    if (!buf) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "%s: out of memory for %zu samples", r->name, cap);
        goto fail;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            float *nb = realloc(buf, 2 * cap * sizeof *buf);
            if (!nb) {
                rc = nac_error_set(err, NAC_ERR_NOMEM, "%s: out of memory for %zu samples", r->name, 2 * cap);
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        rc = nac_audio_reader_read(r, buf + len, cap - len, &got, err);
        if (rc < 0)
            goto fail;
        if (got == 0)
            break;
        len += got;
    }
    if (len == 0) {
        rc = nac_error_set(err, NAC_ERR_EMPTY, "%s: no audio samples", r->name);
        goto fail;
    }
    if (info) {
        *info = r->info;
        info->frames = (int64_t)len;
    }
    nac_audio_reader_close(r);
    *x = buf;
    *n = len;
    return NAC_OK;
fail:
    free(buf);
    nac_audio_reader_close(r);
    return rc;
}

/* ---------------------------------------------------------------- writer */

struct nac_audio_writer {
    SNDFILE *sf;
    nac_error first;  /* first error of the writer's life (code 0 if none) */
    char name[256];
    short pcm[BLOCK];
};

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static int write_fd_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Canonical 44-byte PCM WAV header, mono 16-bit, sizes 0xFFFFFFFF = unknown length. */
static int write_stream_wav_header(int fd, int sample_rate)
{
    unsigned char h[44];
    memcpy(h, "RIFF", 4);
    put_le(h + 4, 0xFFFFFFFFu, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le(h + 16, 16, 4);
    put_le(h + 20, 1, 2);                       /* PCM */
    put_le(h + 22, 1, 2);                       /* channels */
    put_le(h + 24, (uint32_t)sample_rate, 4);
    put_le(h + 28, (uint32_t)sample_rate * 2u, 4); /* bytes per second */
    put_le(h + 32, 2, 2);                       /* block align */
    put_le(h + 34, 16, 2);                      /* bits per sample */
    memcpy(h + 36, "data", 4);
    put_le(h + 40, 0xFFFFFFFFu, 4);
    return write_fd_all(fd, h, sizeof h);
}

int nac_audio_writer_check_name(const char *path, nac_error *err)
{
    if (!path)
        return nac_error_set(err, NAC_ERR_ARG, "nac_audio_writer_check_name: NULL argument");
    if (!strcmp(path, "-") || ends_with(path, ".wav") || ends_with(path, ".flac"))
        return NAC_OK;
    return nac_error_set(err, NAC_ERR_ARG, "%s: unknown output format (name it .wav or .flac)", path);
}

int nac_audio_writer_open(nac_audio_writer **out, const char *path, int sample_rate, nac_error *err)
{
    nac_audio_writer *w = NULL;
    SF_INFO si;
    int rc;
    if (!out || !path)
        return nac_error_set(err, NAC_ERR_ARG, "nac_audio_writer_open: NULL argument");
    *out = NULL;
    if (sample_rate < 1 || sample_rate > 655350)
        return nac_error_set(err, NAC_ERR_ARG, "%s: invalid sample rate %d Hz", path, sample_rate);
    w = calloc(1, sizeof *w);
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory opening %s", path);
    snprintf(w->name, sizeof w->name, "%s", strcmp(path, "-") ? path : "<stdout>");
    memset(&si, 0, sizeof si);
    si.samplerate = sample_rate;
    si.channels = 1;
    if (!strcmp(path, "-")) {
        if (lseek(1, 0, SEEK_CUR) >= 0) {
            /* A regular file behind stdout: libsndfile writes a WAV header with the true length. */
            si.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        } else {
            if (write_stream_wav_header(1, sample_rate) != 0) {
                rc = nac_error_set(err, NAC_ERR_IO, "%s: write failed (%s)", w->name, strerror(errno));
                goto fail;
            }
            si.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
        }
        w->sf = sf_open_fd(1, SFM_WRITE, &si, SF_FALSE);
    } else {
        if ((rc = nac_audio_writer_check_name(path, err)))
            goto fail;
        si.format = (ends_with(path, ".wav") ? SF_FORMAT_WAV : SF_FORMAT_FLAC) | SF_FORMAT_PCM_16;
        w->sf = sf_open(path, SFM_WRITE, &si);
    }
    if (!w->sf) {
        rc = nac_error_set(err, NAC_ERR_IO, "%s: cannot open for writing (%s)", w->name, sf_strerror(NULL));
        goto fail;
    }
    *out = w;
    return NAC_OK;
fail:
    free(w);
    return rc;
}

int nac_audio_writer_write(nac_audio_writer *w, const float *x, size_t n, nac_error *err)
{
    if (!w || (!x && n))
        return nac_error_set(err, NAC_ERR_ARG, "nac_audio_writer_write: NULL argument");
    if (w->first.code < 0)
        return nac_error_set(err, w->first.code, "%s", w->first.msg);
    while (n) {
        size_t m = n < BLOCK ? n : BLOCK;
        for (size_t i = 0; i < m; i++) {
            float v = x[i];
            if (!(v == v))
                v = 0; /* NaN */
            v = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
            long s = lrintf(v * 32768.0f);
            w->pcm[i] = (short)(s > 32767 ? 32767 : s);
        }
        if (sf_write_short(w->sf, w->pcm, (sf_count_t)m) != (sf_count_t)m) {
            nac_error_set(&w->first, NAC_ERR_IO, "%s: write failed (%s)", w->name, sf_strerror(w->sf));
            return nac_error_set(err, w->first.code, "%s", w->first.msg);
        }
        x += m;
        n -= m;
    }
    return NAC_OK;
}

int nac_audio_writer_close(nac_audio_writer *w, nac_error *err)
{
    int rc;
    if (!w)
        return NAC_OK;
    rc = w->first.code;
    if (sf_close(w->sf) != 0 && rc == NAC_OK)
        nac_error_set(&w->first, rc = NAC_ERR_IO, "%s: could not finish the file (%s)", w->name,
                      sf_strerror(NULL));
    if (rc < 0)
        nac_error_set(err, rc, "%s", w->first.msg);
    free(w);
    return rc;
}

int nac_audio_write_all(const char *path, const float *x, size_t n, int sample_rate, nac_error *err)
{
    nac_audio_writer *w;
    int rc = nac_audio_writer_open(&w, path, sample_rate, err);
    if (rc < 0)
        return rc;
    rc = nac_audio_writer_write(w, x, n, err);
    if (rc < 0) {
        nac_audio_writer_close(w, NULL);
        return rc;
    }
    return nac_audio_writer_close(w, err);
}
