/* UTF-8 validation for the strings stored in nac files (names, config, encoder version). */
#ifndef NAC_FORMAT_UTF8_H
#define NAC_FORMAT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s[0..n-1] is well-formed UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF) and holds no NUL byte, else 0. */
int nac_utf8_valid(const uint8_t *s, size_t n);

#endif
