/* A small bitmap font of our own: printable ASCII (32..126) on a 5x9 grid, capitals and digits
 * 7 rows tall (rows 0..6), lowercase descenders in rows 7..8. Drawn at integer scales; any other
 * byte (a UTF-8 letter, say) draws as '?'. */
#ifndef NAC_PLOT_FONT_H
#define NAC_PLOT_FONT_H

#define NAC_FONT_W 5       /* glyph width in font pixels */
#define NAC_FONT_H 9       /* glyph height, descenders included */
#define NAC_FONT_ASCENT 7  /* height of capitals and digits */
#define NAC_FONT_ADVANCE 6 /* glyph width plus one column of space */

/* 1 where glyph c has ink at column x (0..4), row y (0..8), else 0. */
int nac_font_ink(unsigned char c, int x, int y);
/* Width in pixels of s drawn at scale (no trailing space). */
int nac_font_text_width(const char *s, int scale);

#endif
