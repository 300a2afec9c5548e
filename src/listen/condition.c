/* Conditions of a listening test: parsing "codec:rate" lists and producing each condition's
 * version of a reference: anchors by low-pass, nac through the library, Opus and Codec 2 through
 * their command-line tools (run with posix_spawnp, no shell), aligned back to the reference. */
#include "listen/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio/audio_file.h"
#include "dsp/lowpass.h"
#include "dsp/resample.h"
#include "metrics/metrics.h"

extern char **environ;

#define ANCHOR_TRANSITION_HZ 300.0

/* ---------------------------------------------------------------- parsing */

static const char *const codec2_modes[] = {"3200", "2400", "1600", "1400", "1300", "1200", "700C", "450"};

/* "%g" without trailing zeros: 1.5 -> "1.5", 6.0 -> "6" */
static void fmt_num(char *dst, size_t cap, double v) { snprintf(dst, cap, "%.10g", v); }

void nac_listen_fixed_conditions(nac_listen_condition out[3])
{
    memset(out, 0, 3 * sizeof *out);
    out[0].kind = NAC_LISTEN_REFERENCE;
    snprintf(out[0].name, sizeof out[0].name, "reference");
    out[1].kind = NAC_LISTEN_LOWPASS;
    out[1].value = 3500;
    snprintf(out[1].name, sizeof out[1].name, "anchor_3.5k");
    out[2].kind = NAC_LISTEN_LOWPASS;
    out[2].value = 7000;
    snprintf(out[2].name, sizeof out[2].name, "anchor_7k");
}

static int parse_one(nac_listen_condition *c, const char *tok, nac_error *err)
{
    char codec[16], rate[32], num[24], *end;
    const char *colon = strchr(tok, ':');
    memset(c, 0, sizeof *c);
    if (!colon || colon == tok || (size_t)(colon - tok) >= sizeof codec || strlen(colon + 1) >= sizeof rate ||
        !colon[1])
        return nac_error_set(err, NAC_ERR_ARG, "condition '%s': expected codec:rate, e.g. nac:6 or opus:12", tok);
    memcpy(codec, tok, (size_t)(colon - tok));
    codec[colon - tok] = '\0';
    snprintf(rate, sizeof rate, "%s", colon + 1);
    if (!strcmp(codec, "codec2")) {
        for (size_t i = 0; i < sizeof codec2_modes / sizeof codec2_modes[0]; i++)
            if (!strcasecmp(rate, codec2_modes[i])) {
                c->kind = NAC_LISTEN_CODEC2;
                snprintf(c->mode, sizeof c->mode, "%s", codec2_modes[i]);
                c->value = strtod(c->mode, NULL);
                snprintf(c->name, sizeof c->name, "codec2:%s", c->mode);
                return NAC_OK;
            }
        return nac_error_set(err, NAC_ERR_ARG, "condition '%s': Codec 2 modes are 3200, 2400, 1600, 1400, 1300, "
                                               "1200, 700C, 450", tok);
    }
    errno = 0;
    double v = strtod(rate, &end);
    if (errno || end == rate || *end || !isfinite(v))
        return nac_error_set(err, NAC_ERR_ARG, "condition '%s': '%s' is not a number", tok, rate);
    fmt_num(num, sizeof num, v);
    if (!strcmp(codec, "nac")) {
        if (!(v > 0 && v <= 24) || fabs(v * 2 - round(v * 2)) > 1e-9)
            return nac_error_set(err, NAC_ERR_ARG, "condition '%s': nac rates are multiples of 0.5 kbps up to 24",
                                 tok);
        c->kind = NAC_LISTEN_NAC;
    } else if (!strcmp(codec, "opus")) {
        if (!(v >= 6 && v <= 256))
            return nac_error_set(err, NAC_ERR_ARG, "condition '%s': Opus rates are 6..256 kbps", tok);
        c->kind = NAC_LISTEN_OPUS;
    } else if (!strcmp(codec, "lowpass")) {
        if (!(v >= 100 && v < NAC_LISTEN_RATE / 2 - ANCHOR_TRANSITION_HZ))
            return nac_error_set(err, NAC_ERR_ARG, "condition '%s': low-pass cutoffs are 100..%d Hz", tok,
                                 (int)(NAC_LISTEN_RATE / 2 - ANCHOR_TRANSITION_HZ));
        c->kind = NAC_LISTEN_LOWPASS;
    } else {
        return nac_error_set(err, NAC_ERR_ARG, "condition '%s': unknown codec '%s' (nac, opus, codec2, lowpass)", tok,
                             codec);
    }
    c->value = v;
    snprintf(c->name, sizeof c->name, "%s:%s", codec, num);
    return NAC_OK;
}

int nac_listen_conditions_parse(nac_listen_condition *out, int cap, int *n, const char *spec, nac_error *err)
{
    nac_listen_condition fixed[3];
    char tok[64];
    int k = 0, st;
    *n = 0;
    if (!spec)
        return nac_error_set(err, NAC_ERR_ARG, "no conditions");
    nac_listen_fixed_conditions(fixed);
    for (const char *p = spec; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof tok)
            return nac_error_set(err, NAC_ERR_ARG, "conditions '%s': %s entry", spec, len ? "over-long" : "empty");
        memcpy(tok, p, len);
        tok[len] = '\0';
        if (k == cap)
            return nac_error_set(err, NAC_ERR_ARG, "conditions: more than %d", cap);
        if ((st = parse_one(&out[k], tok, err)))
            return st;
        for (int j = 0; j < k + 3; j++) {
            const char *other = j < k ? out[j].name : fixed[j - k].name;
            int same_lp = j >= k && out[k].kind == NAC_LISTEN_LOWPASS && fixed[j - k].kind == NAC_LISTEN_LOWPASS &&
                          fixed[j - k].value == out[k].value;
            if (!strcmp(other, out[k].name) || same_lp)
                return nac_error_set(err, NAC_ERR_ARG, "conditions: '%s' is %s", tok,
                                     j < k ? "given twice" : "always included (an anchor)");
        }
        k++;
        p = e ? e + 1 : p + len;
        if (e && !e[1])
            return nac_error_set(err, NAC_ERR_ARG, "conditions '%s': empty entry at the end", spec);
    }
    if (k == 0)
        return nac_error_set(err, NAC_ERR_ARG, "no conditions");
    *n = k;
    return NAC_OK;
}

const char *nac_listen_condition_tool(const nac_listen_condition *c)
{
    return c->kind == NAC_LISTEN_OPUS ? "opusenc" : c->kind == NAC_LISTEN_CODEC2 ? "c2enc" : NULL;
}

int nac_listen_tool_available(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];
    if (!path || !prog || strchr(prog, '/'))
        return 0;
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0 && len + strlen(prog) + 2 < sizeof buf) {
            struct stat sb;
            snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, prog);
            if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) && access(buf, X_OK) == 0)
                return 1;
        }
        if (!e)
            return 0;
        p = e + 1;
    }
}

/* ---------------------------------------------------------------- running tools */

/* Runs argv (argv[0] looked up in PATH) with stdin from /dev/null, stdout discarded and stderr to
 * errfile; a failure's detail is the first line of that. */
static int run_tool(char *const argv[], const char *errfile, nac_error *err)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0, rc;
    if (!nac_listen_tool_available(argv[0]))
        return nac_error_set(err, NAC_ERR_IO, "%s is not installed (Debian: apt-get install %s)", argv[0],
                             !strncmp(argv[0], "opus", 4) ? "opus-tools" : "codec2");
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return nac_error_set(err, NAC_ERR_IO, "cannot run %s: %s", argv[0], strerror(rc));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return nac_error_set(err, NAC_ERR_IO, "waiting for %s: %s", argv[0], strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return NAC_OK;
    char line[200] = "";
    FILE *f = fopen(errfile, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
    }
    if (WIFSIGNALED(status))
        return nac_error_set(err, NAC_ERR_IO, "%s died from signal %d", argv[0], WTERMSIG(status));
    return nac_error_set(err, NAC_ERR_IO, "%s failed (exit %d)%s%s", argv[0], WEXITSTATUS(status), line[0] ? ": " : "",
                         line);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int write_s16(const char *path, const float *x, size_t n, nac_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        double v = x[i] * 32768.0;
        long s = lrint(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        unsigned char b[2] = {(unsigned char)(s & 0xFF), (unsigned char)((s >> 8) & 0xFF)};
        if (fwrite(b, 1, 2, f) != 2) {
            fclose(f);
            return nac_error_set(err, NAC_ERR_IO, "%s: write failed", path);
        }
    }
    if (fclose(f) != 0)
        return nac_error_set(err, NAC_ERR_IO, "%s: write failed", path);
    return NAC_OK;
}

static int read_s16(float **x, size_t *n, const char *path, nac_error *err)
{
    FILE *f = fopen(path, "rb");
    long sz = file_size(path);
    *x = NULL;
    *n = 0;
    if (!f || sz < 0) {
        if (f)
            fclose(f);
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot open", path);
    }
    size_t m = (size_t)sz / 2;
    float *y = malloc((m ? m : 1) * sizeof *y);
    if (!y) {
        fclose(f);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < m; i++) {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2) {
            m = i;
            break;
        }
        y[i] = (float)(int16_t)(b[0] | b[1] << 8) / 32768.0f;
    }
    fclose(f);
    *x = y;
    *n = m;
    return NAC_OK;
}

/* ---------------------------------------------------------------- the codecs */

/* nac as `nac encode` codes it and a receiver decodes it, through the packet API: the neural
 * codec below NAC_TRANSFORM_AUTO_KBPS (high-passed at 50 Hz), the transform coder from it; every
 * packet is parsed and decoded. *kbps: the packets' bytes, framing included, over the clip. */
static int run_nac(float *out, double *kbps, const nac_model *m, double rate, const float *x, size_t n,
                   nac_error *err)
{
    int transform = rate >= NAC_TRANSFORM_AUTO_KBPS;
    if (!transform && !m)
        return nac_error_set(err, NAC_ERR_ARG, "nac condition without a model");
    nac_packet_config cfg = {.mode = transform ? NAC_MODE_TRANSFORM : NAC_MODE_NEURAL, .kbps = rate, .length = n};
    nac_packet_encoder *enc = NULL;
    nac_packet_decoder *dec = NULL;
    float *y = NULL;
    size_t ny = 0, cap = 0, bytes = 0;
    int st = nac_packet_encoder_create(&enc, transform ? NULL : m, &cfg, err);
    if (st) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        st = nac_error_set(err, st, "nac:%g: %s", rate, why);
        goto done;
    }
    const nac_stream_info *info = nac_packet_encoder_info(enc);
    if ((st = nac_packet_encoder_push(enc, x, n, err)) || (st = nac_packet_encoder_flush(enc, err)) ||
        (st = nac_packet_decoder_create(&dec, transform ? NULL : m, info, 0, err)))
        goto done;
    const uint8_t *data;
    size_t size;
    while (nac_packet_encoder_next(enc, &data, &size) == NAC_OK) {
        nac_packet pkt;
        bytes += size;
        if ((st = nac_packet_parse(&pkt, info, data, size, err)) || (st = nac_packet_decoder_decode(dec, &pkt, NULL, err)))
            goto done;
        for (size_t got = 1; got;) {
            if (cap - ny < 4 * (size_t)info->frame_size) {
                float *g = realloc(y, (cap = 2 * cap + 8 * (size_t)info->frame_size) * sizeof *y);
                if (!g) {
                    st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
                    goto done;
                }
                y = g;
            }
            if ((st = nac_packet_decoder_read(dec, y + ny, cap - ny, &got, err)))
                goto done;
            ny += got;
        }
    }
    /* decoded sample i + delay is input sample i */
    for (size_t i = 0; i < n; i++)
        out[i] = i + info->delay < ny ? y[i + info->delay] : 0.0f;
    if (kbps)
        *kbps = 8.0 * (double)bytes / ((double)n / NAC_LISTEN_RATE) / 1000;
done:
    nac_packet_encoder_destroy(enc);
    nac_packet_decoder_destroy(dec);
    free(y);
    return st;
}

/* Shifts y (ny samples) by its delay against ref so that it lines up, into out (n). */
static int align_into(float *out, const float *ref, size_t n, const float *y, size_t ny, nac_error *err)
{
    long d = 0;
    int st = nac_align_delay(&d, ref, n, y, ny, NAC_LISTEN_RATE, 0.2, err);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++) {
        long j = (long)i + d;
        out[i] = j >= 0 && (size_t)j < ny ? y[j] : 0.0f;
    }
    return NAC_OK;
}

static int run_external(float *out, double *kbps, const nac_listen_condition *c, const float *x, size_t n,
                        const char *tmp, nac_error *err)
{
    char in[4096], bits[4096], dec[4096], errf[4096], rate[32];
    float *y = NULL, *y8 = NULL, *x8 = NULL;
    size_t ny = 0, n8 = 0, ny8 = 0;
    int st;
    snprintf(errf, sizeof errf, "%s/stderr.txt", tmp);
    if (c->kind == NAC_LISTEN_OPUS) {
        snprintf(in, sizeof in, "%s/in.wav", tmp);
        snprintf(bits, sizeof bits, "%s/x.opus", tmp);
        snprintf(dec, sizeof dec, "%s/out.wav", tmp);
        snprintf(rate, sizeof rate, "%g", c->value);
        char *enc_argv[] = {"opusenc", "--quiet", "--bitrate", rate, in, bits, NULL};
        char *dec_argv[] = {"opusdec", "--quiet", "--rate", "16000", bits, dec, NULL};
        if ((st = nac_audio_write_all(in, x, n, NAC_LISTEN_RATE, err)) || (st = run_tool(enc_argv, errf, err)) ||
            (st = run_tool(dec_argv, errf, err)) || (st = nac_audio_read_all(&y, &ny, NULL, dec, err)))
            goto done;
    } else {
        /* Codec 2 codes 8 kHz raw 16-bit samples */
        snprintf(in, sizeof in, "%s/in.raw", tmp);
        snprintf(bits, sizeof bits, "%s/x.c2", tmp);
        snprintf(dec, sizeof dec, "%s/out.raw", tmp);
        snprintf(rate, sizeof rate, "%s", c->mode);
        char *enc_argv[] = {"c2enc", rate, in, bits, NULL};
        char *dec_argv[] = {"c2dec", rate, bits, dec, NULL};
        if ((st = nac_resample_all(&x8, &n8, x, n, NAC_LISTEN_RATE, 8000, err)) ||
            (st = write_s16(in, x8, n8, err)) || (st = run_tool(enc_argv, errf, err)) ||
            (st = run_tool(dec_argv, errf, err)) || (st = read_s16(&y8, &ny8, dec, err)))
            goto done;
        if (ny8 == 0) {
            st = nac_error_set(err, NAC_ERR_IO, "c2dec gave no samples");
            goto done;
        }
        if ((st = nac_resample_all(&y, &ny, y8, ny8, 8000, NAC_LISTEN_RATE, err)))
            goto done;
    }
    if (ny == 0) {
        st = nac_error_set(err, NAC_ERR_IO, "%s gave no samples", c->kind == NAC_LISTEN_OPUS ? "opusdec" : "c2dec");
        goto done;
    }
    if (kbps)
        *kbps = 8.0 * (double)file_size(bits) / ((double)n / NAC_LISTEN_RATE) / 1000;
    st = align_into(out, x, n, y, ny, err);
done:
    remove(in);
    remove(bits);
    remove(dec);
    remove(errf);
    free(y);
    free(y8);
    free(x8);
    return st;
}

int nac_listen_condition_run(float *out, double *kbps, const nac_listen_condition *c, const float *ref, size_t n,
                             const nac_model *model, const char *tmp_dir, nac_error *err)
{
    if (!out || !c || !ref || n == 0)
        return nac_error_set(err, NAC_ERR_ARG, "condition: no signal");
    if (kbps)
        *kbps = 0;
    switch (c->kind) {
    case NAC_LISTEN_REFERENCE:
        memcpy(out, ref, n * sizeof *out);
        return NAC_OK;
    case NAC_LISTEN_LOWPASS:
        return nac_lowpass(out, ref, n, NAC_LISTEN_RATE, c->value, ANCHOR_TRANSITION_HZ, err);
    case NAC_LISTEN_NAC:
        return run_nac(out, kbps, model, c->value, ref, n, err);
    case NAC_LISTEN_OPUS:
    case NAC_LISTEN_CODEC2:
        if (!tmp_dir)
            return nac_error_set(err, NAC_ERR_ARG, "%s needs a temporary folder", c->name);
        return run_external(out, kbps, c, ref, n, tmp_dir, err);
    }
    return nac_error_set(err, NAC_ERR_ARG, "unknown condition kind %d", (int)c->kind);
}
