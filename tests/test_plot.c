/* Tests of src/plot: PNG writer, colour maps, font, spectrogram and comparison figures (read
 * back with libpng). */
#include "test.h"

#include "core/rng.h"
#include "plot/canvas.h"
#include "plot/colormap.h"
#include "plot/font.h"
#include "plot/png.h"
#include "plot/spectrogram.h"

#include <omp.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

static void tmp_path(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s/%s", nac_test_tmp_dir(), name);
}

/* Reads an RGB PNG with libpng's simplified API; *rgb is malloc'd. 0 on success. */
static int read_png(const char *path, uint8_t **rgb, int *w, int *h)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    *rgb = NULL;
    if (!png_image_begin_read_from_file(&im, path))
        return -1;
    im.format = PNG_FORMAT_RGB;
    *rgb = malloc(PNG_IMAGE_SIZE(im));
    if (!*rgb || !png_image_finish_read(&im, NULL, *rgb, 0, NULL)) {
        png_image_free(&im);
        free(*rgb);
        *rgb = NULL;
        return -1;
    }
    *w = (int)im.width;
    *h = (int)im.height;
    return 0;
}

static size_t count_color(const uint8_t *rgb, size_t pixels, uint32_t c)
{
    size_t n = 0;
    for (size_t i = 0; i < pixels; i++)
        n += ((uint32_t)rgb[3 * i] << 16 | (uint32_t)rgb[3 * i + 1] << 8 | rgb[3 * i + 2]) == c;
    return n;
}

/* Distinct colours, counted up to 4096 of them. */
static int distinct_colors(const uint8_t *rgb, size_t pixels)
{
    static uint8_t seen[1 << 21];
    int n = 0;
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < pixels && n < 4096; i++) {
        uint32_t c = (uint32_t)rgb[3 * i] << 16 | (uint32_t)rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
        if (!(seen[c >> 3] & (1u << (c & 7)))) {
            seen[c >> 3] |= (uint8_t)(1u << (c & 7));
            n++;
        }
    }
    return n;
}

TEST(plot_png_roundtrip)
{
    char path[512];
    nac_canvas c;
    uint8_t *back = NULL;
    int w, h;
    tmp_path(path, sizeof path, "canvas.png");
    CHECK(nac_canvas_init(&c, 37, 23, 0x102030, NULL) == NAC_OK);
    nac_canvas_rect(&c, 5, 5, 10, 4, 0xFF0000);
    nac_canvas_line(&c, 0, 22, 36, 0, 0x00FF00);
    nac_canvas_text(&c, 1, 12, "Hz", 1, 0xFFFFFF, NAC_ALIGN_LEFT);
    nac_canvas_pixel(&c, -1, 100, 0); /* clipped, not a crash */
    CHECK(nac_canvas_save_png(&c, path, NULL) == NAC_OK);
    CHECK(read_png(path, &back, &w, &h) == 0);
    CHECK(w == 37 && h == 23);
    CHECK(memcmp(back, c.rgb, (size_t)w * h * 3) == 0);
    CHECK(count_color(back, (size_t)w * h, 0xFF0000) > 20);
    free(back);
    nac_canvas_free(&c);
    nac_error e;
    CHECK(nac_png_write("/nonexistent-dir/x.png", (const uint8_t *)"abc", 1, 1, &e) == NAC_ERR_IO);
    CHECK(strstr(e.msg, "/nonexistent-dir/x.png") != NULL);
}

static double luminance(const uint8_t *rgb)
{
    double y = 0, wts[3] = {0.2126, 0.7152, 0.0722};
    for (int k = 0; k < 3; k++) {
        double v = rgb[k] / 255.0;
        v = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
        y += wts[k] * v;
    }
    return y;
}

TEST(plot_colormaps_are_ordered)
{
    nac_colormap seq, div;
    nac_colormap_init(&seq, NAC_COLORMAP_SEQUENTIAL);
    nac_colormap_init(&div, NAC_COLORMAP_DIVERGING);
    /* Sequential: lightness rises all the way (reads in greyscale), dark to light. */
    for (int i = 1; i < 256; i++)
        CHECKF(luminance(seq.rgb[i]) >= luminance(seq.rgb[i - 1]), "sequential luminance falls at %d", i);
    CHECK(luminance(seq.rgb[0]) < 0.02 && luminance(seq.rgb[255]) > 0.8);
    /* Diverging: lightest in the middle, blue below, red above. */
    for (int i = 1; i < 128; i++)
        CHECKF(luminance(div.rgb[i]) >= luminance(div.rgb[i - 1]) - 1e-9, "diverging luminance falls at %d", i);
    for (int i = 129; i < 256; i++)
        CHECKF(luminance(div.rgb[i]) <= luminance(div.rgb[i - 1]) + 1e-9, "diverging luminance rises at %d", i);
    CHECK(div.rgb[0][2] > div.rgb[0][0] && div.rgb[255][0] > div.rgb[255][2]);
    CHECK(luminance(div.rgb[128]) > 0.85);
    CHECK(nac_colormap_at(&seq, -5) == nac_colormap_at(&seq, 0) && nac_colormap_at(&seq, 9) == nac_colormap_at(&seq, 1));
    CHECK(nac_colormap_at(&div, NAN) == nac_colormap_at(&div, 0.5f));
}

TEST(plot_font_has_every_printable_glyph)
{
    for (int ch = 33; ch < 127; ch++) {
        int ink = 0;
        for (int y = 0; y < NAC_FONT_H; y++)
            for (int x = 0; x < NAC_FONT_W; x++)
                ink += nac_font_ink((unsigned char)ch, x, y);
        CHECKF(ink > 0, "glyph '%c' is blank", ch);
    }
    for (int y = 0; y < NAC_FONT_H; y++)
        for (int x = 0; x < NAC_FONT_W; x++)
            CHECK(nac_font_ink(' ', x, y) == 0);
    /* Digits and capitals sit on the baseline: nothing below row 6. */
    for (const char *s = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZkHzdB"; *s; s++)
        for (int x = 0; x < NAC_FONT_W; x++)
            CHECK(nac_font_ink((unsigned char)*s, x, 7) == 0);
    CHECK(nac_font_ink(0xC3, 0, 1) == nac_font_ink('?', 0, 1)); /* UTF-8 byte draws as '?' */
    CHECK(nac_font_text_width("kHz", 2) == (3 * NAC_FONT_ADVANCE - 1) * 2);
    CHECK(nac_font_text_width("", 3) == 0);
}

/* 1.5 s at sr: a rising chirp over a 440 Hz tone, then quiet noise. */
static float *test_signal(int sr, size_t *n)
{
    nac_rng g;
    size_t len = (size_t)(1.5 * sr);
    float *x = malloc(len * sizeof *x);
    double phase = 0;
    nac_rng_seed(&g, 17);
    for (size_t i = 0; i < len; i++) {
        double t = (double)i / sr, f = 200 + 3000 * t;
        phase += 2 * M_PI * f / sr;
        x[i] = t < 1.0 ? (float)(0.3 * sin(phase) + 0.2 * sin(2 * M_PI * 440 * t)) : 0.001f * (float)nac_rng_normal(&g);
    }
    *n = len;
    return x;
}

TEST(plot_spectrogram_png)
{
    const struct {
        int sr, w, h;
        nac_plot_freq_scale scale;
        const char *title;
    } cases[] = {
        {16000, 0, 0, NAC_PLOT_FREQ_MEL, "test signal"},
        {16000, 700, 360, NAC_PLOT_FREQ_LOG, NULL},
        {22050, 400, 220, NAC_PLOT_FREQ_LINEAR, "a title far too long to fit in a picture only four hundred pixels wide"},
        {48000, 900, 400, NAC_PLOT_FREQ_MEL, ""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[512];
        size_t n;
        float *x = test_signal(cases[k].sr, &n);
        uint8_t *rgb = NULL;
        int w, h;
        nac_plot_opts o;
        nac_error e;
        nac_plot_opts_init(&o);
        o.width = cases[k].w;
        o.height = cases[k].h;
        o.freq_scale = cases[k].scale;
        o.title = cases[k].title;
        snprintf(path, sizeof path, "%s/spec%zu.png", nac_test_tmp_dir(), k);
        CHECKF(nac_plot_spectrogram(path, x, n, cases[k].sr, &o, &e) == NAC_OK, "case %zu: %s", k, e.msg);
        CHECKF(read_png(path, &rgb, &w, &h) == 0, "case %zu: cannot read back", k);
        CHECK(w == (cases[k].w ? cases[k].w : 1200) && h == (cases[k].h ? cases[k].h : 520));
        int colors = distinct_colors(rgb, (size_t)w * h);
        CHECKF(colors > 100, "case %zu: only %d colours", k, colors);
        CHECK(count_color(rgb, (size_t)w * h, 0xFFFFFF) > (size_t)w * h / 20); /* margins */
        free(rgb);
        free(x);
    }
}

static size_t count_blue(const uint8_t *rgb, size_t pixels)
{
    size_t n = 0;
    for (size_t i = 0; i < pixels; i++)
        n += rgb[3 * i + 2] > rgb[3 * i] + 25 && rgb[3 * i + 1] > rgb[3 * i]; /* not the violet map */
    return n;
}

/* The same signal twice: the difference panel is all the middle colour of the diverging map.
 * A changed copy (2-tap average, so less treble; shorter): blue in the panel, grey past its end. */
TEST(plot_compare_png)
{
    char path[512];
    size_t n;
    float *x = test_signal(16000, &n), *y = malloc(n * sizeof *y);
    uint8_t *rgb = NULL;
    int w, h;
    nac_colormap div;
    nac_plot_opts o;
    nac_error e;
    uint32_t mid;
    size_t same, blue_same, blue_changed;
    nac_colormap_init(&div, NAC_COLORMAP_DIVERGING);
    mid = nac_colormap_at(&div, 0.5f);
    nac_plot_opts_init(&o);
    o.title = "compare";
    tmp_path(path, sizeof path, "same.png");
    CHECKF(nac_plot_compare(path, x, n, x, n, 16000, &o, &e) == NAC_OK, "%s", e.msg);
    CHECK(read_png(path, &rgb, &w, &h) == 0);
    CHECK(w == 1200 && h == 1080);
    CHECK(distinct_colors(rgb, (size_t)w * h) > 100);
    same = count_color(rgb, (size_t)w * h, mid);
    blue_same = count_blue(rgb, (size_t)w * h);
    CHECK(count_color(rgb, (size_t)w * h, 0xD9D9D9) == 0); /* nothing greyed out */
    free(rgb);
    /* Lowpass-ish change: a 2-tap average, plus a shorter length (greyed out past its end). */
    for (size_t i = 0; i < n; i++)
        y[i] = 0.5f * (x[i] + (i ? x[i - 1] : 0));
    tmp_path(path, sizeof path, "changed.png");
    o.diff_range_db = 12;
    CHECKF(nac_plot_compare(path, x, n, y, n - n / 4, 16000, &o, &e) == NAC_OK, "%s", e.msg);
    CHECK(read_png(path, &rgb, &w, &h) == 0);
    blue_changed = count_blue(rgb, (size_t)w * h);
    CHECKF(same > (size_t)w * h / 6, "identical signals: %zu mid-colour pixels", same);
    /* Only the colour bar is blue for identical signals; the averaged copy lost treble. */
    CHECKF(blue_changed > blue_same + 5000, "blue pixels: changed %zu, identical %zu", blue_changed, blue_same);
    CHECK(count_color(rgb, (size_t)w * h, 0xD9D9D9) > 10000); /* DEG's missing end */
    free(rgb);
    free(x);
    free(y);
}

TEST(plot_bad_arguments)
{
    char path[512];
    float x[1000] = {0};
    nac_plot_opts o;
    nac_error e;
    tmp_path(path, sizeof path, "bad.png");
    nac_plot_opts_init(&o);
    CHECK(nac_plot_spectrogram(path, x, 0, 16000, NULL, &e) == NAC_ERR_EMPTY);
    CHECK(nac_plot_spectrogram(path, x, 1000, 0, NULL, &e) == NAC_ERR_ARG);
    o.width = 100;
    CHECK(nac_plot_spectrogram(path, x, 1000, 16000, &o, &e) == NAC_ERR_ARG);
    CHECK(strstr(e.msg, "100x") != NULL);
    o.width = 0;
    o.n_fft = 7;
    CHECK(nac_plot_spectrogram(path, x, 1000, 16000, &o, &e) == NAC_ERR_ARG);
    o.n_fft = 0;
    o.freq_scale = (nac_plot_freq_scale)9;
    CHECK(nac_plot_spectrogram(path, x, 1000, 16000, &o, &e) == NAC_ERR_ARG);
    CHECK(nac_plot_compare(path, x, 1000, x, 0, 16000, NULL, &e) == NAC_ERR_EMPTY);
    CHECK(nac_plot_spectrogram("/nonexistent-dir/s.png", x, 1000, 16000, NULL, &e) == NAC_ERR_IO);
    /* Silence and a single sample are pictures too, not errors. */
    CHECKF(nac_plot_spectrogram(path, x, 1, 16000, NULL, &e) == NAC_OK, "%s", e.msg);
    x[3] = NAN;
    CHECKF(nac_plot_spectrogram(path, x, 1000, 16000, NULL, &e) == NAC_OK, "%s", e.msg);
}

/* Same bytes whatever the thread count (the STFT may run in parallel). */
TEST(plot_same_for_any_thread_count)
{
    char p1[512], p2[512];
    size_t n;
    float *x = test_signal(16000, &n);
    uint8_t *a = NULL, *b = NULL;
    int w1, h1, w2, h2, saved = omp_get_max_threads();
    tmp_path(p1, sizeof p1, "t1.png");
    tmp_path(p2, sizeof p2, "t2.png");
    omp_set_num_threads(1);
    CHECK(nac_plot_compare(p1, x, n, x, n - 100, 16000, NULL, NULL) == NAC_OK);
    omp_set_num_threads(2);
    CHECK(nac_plot_compare(p2, x, n, x, n - 100, 16000, NULL, NULL) == NAC_OK);
    omp_set_num_threads(saved);
    CHECK(read_png(p1, &a, &w1, &h1) == 0 && read_png(p2, &b, &w2, &h2) == 0);
    CHECK(w1 == w2 && h1 == h2 && memcmp(a, b, (size_t)w1 * h1 * 3) == 0);
    free(a);
    free(b);
    free(x);
}
