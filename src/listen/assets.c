/* The page's files (src/listen/assets/) embedded in the library's read-only data by the
 * assembler's .incbin, as the built-in model is (src/model/default_model.c), so `nac listen`
 * works from any folder. Paths are relative to the repository root, where make compiles. */
#include "listen/listen.h"

#define EMBED(sym, file)                                                                                     \
    __asm__(".section .rodata\n"                                                                             \
            ".globl " #sym "_begin\n"                                                                         \
            ".hidden " #sym "_begin\n" #sym "_begin:\n"                                                      \
            ".incbin \"" file "\"\n"                                                                          \
            ".globl " #sym "_end\n"                                                                           \
            ".hidden " #sym "_end\n" #sym "_end:\n"                                                          \
            ".previous\n");                                                                                  \
    extern const unsigned char sym##_begin[], sym##_end[]

EMBED(nac_listen_index_html, "src/listen/assets/index.html");
EMBED(nac_listen_mushra_css, "src/listen/assets/mushra.css");
EMBED(nac_listen_mushra_js, "src/listen/assets/mushra.js");
EMBED(nac_listen_demo_css_data, "src/listen/assets/demo.css");


const nac_listen_asset *nac_listen_test_assets(size_t *n)
{
    static nac_listen_asset a[3];
    a[0] = (nac_listen_asset){"index.html", nac_listen_index_html_begin,
                              (size_t)(nac_listen_index_html_end - nac_listen_index_html_begin)};
    a[1] = (nac_listen_asset){"mushra.css", nac_listen_mushra_css_begin,
                              (size_t)(nac_listen_mushra_css_end - nac_listen_mushra_css_begin)};
    a[2] = (nac_listen_asset){"mushra.js", nac_listen_mushra_js_begin,
                              (size_t)(nac_listen_mushra_js_end - nac_listen_mushra_js_begin)};
    *n = 3;
    return a;
}

const nac_listen_asset *nac_listen_demo_css(void)
{
    static nac_listen_asset a;
    a = (nac_listen_asset){"demo.css", nac_listen_demo_css_data_begin,
                           (size_t)(nac_listen_demo_css_data_end - nac_listen_demo_css_data_begin)};
    return &a;
}
