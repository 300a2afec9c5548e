/* The .nac file API (include/nac/nac.h): the container reader and writer of src/format/nacfile.c
 * on a path or standard input/output, holding the FILE they open. */
#include "nac/nac.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "format/nacfile.h"

struct nac_file_writer {
    FILE *f;
    nac_nacfile_writer *w;
};

int nac_file_writer_open(nac_file_writer **out, const char *path, const nac_stream_info *info, nac_error *err)
{
    if (!out || !path || !info)
        return nac_error_set(err, NAC_ERR_ARG, "nac_file_writer_open: NULL argument");
    *out = NULL;
    int st = nac_nacfile_info_check(info, err);
    if (st)
        return st;
    nac_file_writer *w = calloc(1, sizeof *w);
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory opening a .nac writer");
    w->f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
    if (!w->f) {
        free(w);
        return nac_error_set(err, NAC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    if ((st = nac_nacfile_writer_create(&w->w, w->f, info, err))) {
        nac_file_writer_close(w, NULL);
        return st;
    }
    *out = w;
    return NAC_OK;
}

int nac_file_writer_write(nac_file_writer *w, const uint8_t *packet, size_t size, nac_error *err)
{
    if (!w)
        return nac_error_set(err, NAC_ERR_ARG, "nac_file_writer_write: NULL argument");
    return nac_nacfile_writer_write_framed(w->w, packet, size, err);
}

int nac_file_writer_close(nac_file_writer *w, nac_error *err)
{
    if (!w)
        return NAC_OK;
    int st = w->w ? nac_nacfile_writer_finish(w->w, err) : NAC_OK;
    nac_nacfile_writer_destroy(w->w);
    if (w->f && w->f != stdout && fclose(w->f) != 0 && !st)
        st = nac_error_set(err, NAC_ERR_IO, "cannot write the .nac file: %s", strerror(errno));
    free(w);
    return st;
}

struct nac_file_reader {
    FILE *f;
    nac_nacfile_reader *r;
};

static int reader_open(nac_file_reader **out, const char *path, const void *data, size_t size, nac_error *err)
{
    *out = NULL;
    nac_file_reader *r = calloc(1, sizeof *r);
    if (!r)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory opening a .nac reader");
    int st;
    if (path) {
        r->f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        if (!r->f) {
            free(r);
            return nac_error_set(err, NAC_ERR_IO, "cannot open: %s", strerror(errno));
        }
        st = nac_nacfile_reader_create(&r->r, r->f, err);
    } else {
        st = nac_nacfile_reader_create_mem(&r->r, data, size, err);
    }
    if (st) {
        nac_file_reader_close(r);
        return st;
    }
    *out = r;
    return NAC_OK;
}

int nac_file_reader_open(nac_file_reader **out, const char *path, nac_error *err)
{
    if (!out || !path)
        return nac_error_set(err, NAC_ERR_ARG, "nac_file_reader_open: NULL argument");
    return reader_open(out, path, NULL, 0, err);
}

int nac_file_reader_open_mem(nac_file_reader **out, const void *data, size_t size, nac_error *err)
{
    if (!out || (!data && size))
        return nac_error_set(err, NAC_ERR_ARG, "nac_file_reader_open_mem: NULL argument");
    return reader_open(out, NULL, data, size, err);
}

const nac_stream_info *nac_file_reader_info(const nac_file_reader *r) { return r ? nac_nacfile_reader_info(r->r) : NULL; }

int nac_file_reader_next(nac_file_reader *r, nac_packet *pkt, nac_error *err)
{
    if (!r)
        return nac_error_set(err, NAC_ERR_ARG, "nac_file_reader_next: NULL argument");
    return nac_nacfile_reader_next(r->r, pkt, err);
}

uint64_t nac_file_reader_offset(const nac_file_reader *r) { return r ? nac_nacfile_reader_offset(r->r) : 0; }

void nac_file_reader_close(nac_file_reader *r)
{
    if (!r)
        return;
    nac_nacfile_reader_destroy(r->r);
    if (r->f && r->f != stdin)
        fclose(r->f);
    free(r);
}
