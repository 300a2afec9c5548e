/* Ratings CSV reader (RFC 4180 subset: quoted fields, doubled quotes, CRLF or LF). */
#include "listen/listen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64
#define MAX_FIELD 256
#define MAX_FILE (64u << 20)

enum { COL_LISTENER, COL_ITEM, COL_CONDITION, COL_SCORE, N_COLS };
static const char *const col_names[N_COLS] = {"listener", "item", "condition", "score"};

typedef struct row {
    int n;
    char f[MAX_FIELDS][MAX_FIELD];
} row;

/* Reads one record starting at *pos into r. Returns 1 with a record, 0 at the end of the text,
 * or a negative status (detail in err). Blank lines give a record with one empty field. */
static int next_row(row *r, const char *s, size_t len, size_t *pos, const char *name, long line, nac_error *err)
{
    size_t i = *pos;
    if (i >= len)
        return 0;
    r->n = 0;
    for (;;) {
        char *dst = r->f[r->n];
        size_t k = 0;
        if (i < len && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    return nac_error_set(err, NAC_ERR_TRUNCATED, "%s:%ld: quoted field not closed (file cut short?)",
                                         name, line);
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"')
                        i++;
                    else {
                        i++;
                        break;
                    }
                }
                if (k + 1 >= MAX_FIELD)
                    return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: field longer than %d bytes", name, line,
                                         MAX_FIELD - 1);
                dst[k++] = s[i++];
            }
            if (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
                return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: text after a closing quote", name, line);
        } else {
            while (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                if (s[i] == '"')
                    return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: quote inside an unquoted field", name, line);
                if (k + 1 >= MAX_FIELD)
                    return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: field longer than %d bytes", name, line,
                                         MAX_FIELD - 1);
                dst[k++] = s[i++];
            }
        }
        dst[k] = '\0';
        r->n++;
        if (i < len && s[i] == ',') {
            if (r->n == MAX_FIELDS)
                return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: more than %d fields", name, line, MAX_FIELDS);
            i++;
            continue;
        }
        if (i < len && s[i] == '\r')
            i++;
        if (i < len && s[i] == '\n')
            i++;
        *pos = i;
        return 1;
    }
}

static int blank(const row *r) { return r->n == 1 && r->f[0][0] == '\0'; }

static int copy_name(char *dst, const char *src, const char *what, const char *name, long line, nac_error *err)
{
    size_t len = strlen(src);
    if (len == 0)
        return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: empty %s", name, line, what);
    if (len >= NAC_LISTEN_NAME)
        return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: %s longer than %d bytes", name, line, what,
                             NAC_LISTEN_NAME - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)src[i] < 32 || src[i] == 127)
            return nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: control character in %s", name, line, what);
    memcpy(dst, src, len + 1);
    return NAC_OK;
}

static int same(const nac_listen_rating *a, const nac_listen_rating *b)
{
    return !strcmp(a->listener, b->listener) && !strcmp(a->item, b->item) && !strcmp(a->condition, b->condition);
}

int nac_listen_ratings_parse(nac_listen_ratings *rs, const char *text, size_t len, const char *name, nac_error *err)
{
    row *r = malloc(sizeof *r);
    size_t pos = 0, n0 = rs->n;
    long line = 1;
    int col[N_COLS], st, ncols;
    if (!r)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        pos = 3;
    do {
        st = next_row(r, text, len, &pos, name, line, err);
        if (st == 0) {
            st = nac_error_set(err, len == 0 ? NAC_ERR_EMPTY : NAC_ERR_FORMAT, "%s: no header line", name);
            goto fail;
        }
        if (st < 0)
            goto fail;
        line++;
    } while (blank(r));
    ncols = r->n;
    for (int c = 0; c < N_COLS; c++) {
        col[c] = -1;
        for (int j = 0; j < r->n; j++)
            if (!strcmp(r->f[j], col_names[c]))
                col[c] = j;
        if (col[c] < 0) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "%s:1: header has no '%s' column (expected listener,item,"
                                                    "condition,score)", name, col_names[c]);
            goto fail;
        }
    }
    for (;;) {
        long this_line = line;
        st = next_row(r, text, len, &pos, name, this_line, err);
        if (st == 0)
            break;
        if (st < 0)
            goto fail;
        line++;
        if (blank(r))
            continue;
        if (r->n != ncols) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: %d fields, the header has %d%s", name, this_line, r->n,
                               ncols, pos >= len && r->n < ncols ? " (file cut short?)" : "");
            goto fail;
        }
        if (rs->n == rs->cap) {
            size_t cap = rs->cap ? 2 * rs->cap : 256;
            nac_listen_rating *p = realloc(rs->r, cap * sizeof *p);
            if (!p) {
                st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
                goto fail;
            }
            rs->r = p;
            rs->cap = cap;
        }
        nac_listen_rating *x = &rs->r[rs->n];
        const char *sc = r->f[col[COL_SCORE]];
        char *end;
        if ((st = copy_name(x->listener, r->f[col[COL_LISTENER]], "listener", name, this_line, err)) ||
            (st = copy_name(x->item, r->f[col[COL_ITEM]], "item", name, this_line, err)) ||
            (st = copy_name(x->condition, r->f[col[COL_CONDITION]], "condition", name, this_line, err)))
            goto fail;
        errno = 0;
        x->score = strtod(sc, &end);
        if (errno || end == sc || *end || !isfinite(x->score) || x->score < 0 || x->score > 100) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: score '%s' is not a number in 0..100", name, this_line,
                               sc);
            goto fail;
        }
        for (size_t j = 0; j < rs->n; j++)
            if (same(&rs->r[j], x)) {
                st = nac_error_set(err, NAC_ERR_FORMAT, "%s:%ld: a second rating of listener '%s', item '%s', "
                                                        "condition '%s'", name, this_line, x->listener, x->item,
                                   x->condition);
                goto fail;
            }
        rs->n++;
    }
    free(r);
    return NAC_OK;
fail:
    rs->n = n0;
    free(r);
    return st;
}

int nac_listen_ratings_read(nac_listen_ratings *rs, const char *path, nac_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int st;
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    for (;;) {
        if (cap - n < 65536) {
            if (cap >= MAX_FILE) {
                st = nac_error_set(err, NAC_ERR_FORMAT, "%s: larger than %u MiB, not a ratings file", path,
                                   MAX_FILE >> 20);
                goto done;
            }
            cap = cap ? 2 * cap : 65536 * 2;
            char *p = realloc(buf, cap);
            if (!p) {
                st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
                goto done;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        st = nac_error_set(err, NAC_ERR_IO, "%s: read error", path);
        goto done;
    }
    if (memchr(buf, '\0', n)) {
        st = nac_error_set(err, NAC_ERR_FORMAT, "%s: binary data, not a CSV file", path);
        goto done;
    }
    st = nac_listen_ratings_parse(rs, buf, n, path, err);
done:
    fclose(f);
    free(buf);
    return st;
}

void nac_listen_ratings_free(nac_listen_ratings *rs)
{
    if (!rs)
        return;
    free(rs->r);
    rs->r = NULL;
    rs->n = rs->cap = 0;
}
