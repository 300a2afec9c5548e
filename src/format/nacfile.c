/* The .nac container (docs/format.md): big-endian header, TLV metadata closed by a CRC tag,
 * then packets [A5 5A][seq u32][len u16][payload][CRC-32 of seq..payload]. The reader works on
 * a sliding buffer so that a pipe is read strictly sequentially, and resynchronises after damage
 * by scanning for the next sync word whose packet CRC checks. */
#include "format/nacfile.h"

#include "core/bytes.h"
#include "core/crc16.h"
#include "core/crc32.h"
#include "format/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RATE 768000
#define MAX_META (1u << 20)  /* metadata bytes a reader accepts */
#define META_BUF 1024        /* what our writer's metadata can take: all tags at their largest */
#define CRC_TLV 7            /* tag, length, u32 */
#define MAX_PACKET (NAC_NACFILE_PACKET_OVERHEAD + NAC_NACFILE_MAX_PAYLOAD)
#define V2_CODEC_RATE 16000  /* version-2 defaults of fields left out */
#define V2_FRAME_SIZE 320
#define V2_STAGE_BITS 10
#define RING (1u << 17)      /* running CRCs kept: more than one packet's span */

static const uint8_t nac_magic[3] = {'N', 'A', 'C'};

/* ---- metadata -------------------------------------------------------------------------- */

static int check_info(const nac_nacfile_info *in, int code, nac_error *err)
{
    if (in->version > NAC_NACFILE_VERSION)
        return nac_error_set(err, code, "container version %u is not one this version writes (1..%d)", in->version,
                             NAC_NACFILE_VERSION);
    if (in->source_rate < 1000 || in->source_rate > NAC_NACFILE_MAX_SOURCE_RATE)
        return nac_error_set(err, code, "source sample rate %u Hz is not in 1000..%d", in->source_rate,
                             NAC_NACFILE_MAX_SOURCE_RATE);
    if (in->channels < 1 || in->channels > 255)
        return nac_error_set(err, code, "channel count %u is not in 1..255", in->channels);
    if (in->codec_rate < 1000 || in->codec_rate > MAX_RATE)
        return nac_error_set(err, code, "codec sample rate %u Hz is not in 1000..%d", in->codec_rate, MAX_RATE);
    if (in->frame_size < 1 || in->frame_size > in->codec_rate)
        return nac_error_set(err, code, "frame size %u is not in 1..%u", in->frame_size, in->codec_rate);
    if (in->n_stages < 1 || in->n_stages > NAC_NACFILE_MAX_STAGES)
        return nac_error_set(err, code, "stage count %u is not in 1..%d", in->n_stages, NAC_NACFILE_MAX_STAGES);
    for (unsigned s = 0; s < in->n_stages; s++)
        if (in->stage_bits[s] < 1 || in->stage_bits[s] > 24)
            return nac_error_set(err, code, "stage %u has %u bits, not 1..24", s, in->stage_bits[s]);
    if ((uint64_t)in->frames_per_packet * in->frame_size > (uint64_t)NAC_NACFILE_MAX_GAP_SECONDS * in->codec_rate)
        return nac_error_set(err, code, "%u frames of %u samples per packet is more than %d s", in->frames_per_packet,
                             in->frame_size, NAC_NACFILE_MAX_GAP_SECONDS);
    if ((uint64_t)in->delay > 10ull * in->codec_rate)
        return nac_error_set(err, code, "codec delay of %u samples is more than 10 s", in->delay);
    if (in->mode >= NAC_MODE_COUNT)
        return nac_error_set(err, code, "coding mode %u is not one this version knows (0..%d)", in->mode,
                             NAC_MODE_COUNT - 1);
    if (in->vbr_table && in->version == 1)
        return nac_error_set(err, code, "variable-rate streams need container version 2");
    size_t len = strnlen(in->encoder, sizeof in->encoder);
    if (len == sizeof in->encoder || !nac_utf8_valid((const uint8_t *)in->encoder, len))
        return nac_error_set(err, code, "encoder string is not NUL-terminated UTF-8 of at most %d bytes",
                             NAC_NACFILE_MAX_ENCODER);
    return NAC_OK;
}

int nac_nacfile_info_check(const nac_nacfile_info *info, nac_error *err)
{
    if (!info)
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_info_check: info is NULL");
    return check_info(info, NAC_ERR_ARG, err);
}

static uint8_t *put_tlv(uint8_t *p, unsigned tag, unsigned len)
{
    p[0] = (uint8_t)tag;
    nac_put_be16(p + 1, (uint16_t)len);
    return p + 3;
}

/* Version-1 metadata of info after the header at out; returns its end. */
static uint8_t *encode_meta_v1(uint8_t *p, const nac_nacfile_info *in)
{
    p = put_tlv(p, NAC_TAG_SOURCE_RATE, 4), nac_put_be32(p, in->source_rate), p += 4;
    p = put_tlv(p, NAC_TAG_CHANNELS, 2), nac_put_be16(p, in->channels), p += 2;
    p = put_tlv(p, NAC_TAG_LENGTH, 8), nac_put_be64(p, in->length), p += 8;
    p = put_tlv(p, NAC_TAG_CODEC_RATE, 4), nac_put_be32(p, in->codec_rate), p += 4;
    p = put_tlv(p, NAC_TAG_FRAME_SIZE, 4), nac_put_be32(p, in->frame_size), p += 4;
    p = put_tlv(p, NAC_TAG_STAGES, 2), nac_put_be16(p, in->n_stages), p += 2;
    p = put_tlv(p, NAC_TAG_STAGE_BITS, in->n_stages), memcpy(p, in->stage_bits, in->n_stages), p += in->n_stages;
    p = put_tlv(p, NAC_TAG_MODEL_HASH, 4), nac_put_be32(p, in->model_hash), p += 4;
    p = put_tlv(p, NAC_TAG_DELAY, 4), nac_put_be32(p, in->delay), p += 4;
    size_t elen = strlen(in->encoder);
    p = put_tlv(p, NAC_TAG_ENCODER, (unsigned)elen), memcpy(p, in->encoder, elen), p += elen;
    if (in->frames_per_packet)
        p = put_tlv(p, NAC_TAG_FRAMES_PER_PACKET, 2), nac_put_be16(p, in->frames_per_packet), p += 2;
    if (in->mode)
        p = put_tlv(p, NAC_TAG_MODE, 1), *p++ = in->mode;
    return p;
}

/* Version 2 fields: a key byte (id << 2 | wire type), then a varint (type 0), four big-endian
 * bytes (type 1) or a varint length and that many bytes (type 2). */
enum { WIRE_VARINT = 0, WIRE_FIXED32 = 1, WIRE_BYTES = 2 };

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    do {
        uint8_t b = (uint8_t)(v & 0x7F);
        v >>= 7;
        *p++ = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return p;
}

/* Reads a minimal varint of at most max_bytes from p[0..n-1]: its byte count, 0 if malformed or
 * (when n < max_bytes allows it) cut short: *cut is set then. */
static size_t get_varint(const uint8_t *p, size_t n, size_t max_bytes, uint64_t *v, int *cut)
{
    uint64_t x = 0;
    *cut = 0;
    for (size_t i = 0; i < max_bytes; i++) {
        if (i == n) {
            *cut = 1;
            return 0;
        }
        if (i == 9 && p[i] > 1)
            return 0; /* past 64 bits */
        x |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i > 0 && p[i] == 0)
                return 0; /* not minimal: one value, one encoding */
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static uint8_t *put_field_varint(uint8_t *p, unsigned id, uint64_t v)
{
    *p++ = (uint8_t)(id << 2 | WIRE_VARINT);
    return put_varint(p, v);
}

static uint8_t *encode_meta_v2(uint8_t *p, const nac_nacfile_info *in)
{
    if (in->source_rate != in->codec_rate)
        p = put_field_varint(p, NAC_TAG_SOURCE_RATE, in->source_rate);
    if (in->channels != 1)
        p = put_field_varint(p, NAC_TAG_CHANNELS, in->channels);
    if (in->length != NAC_NACFILE_LENGTH_UNKNOWN)
        p = put_field_varint(p, NAC_TAG_LENGTH, in->length);
    if (in->codec_rate != V2_CODEC_RATE)
        p = put_field_varint(p, NAC_TAG_CODEC_RATE, in->codec_rate);
    if (in->frame_size != V2_FRAME_SIZE)
        p = put_field_varint(p, NAC_TAG_FRAME_SIZE, in->frame_size);
    p = put_field_varint(p, NAC_TAG_STAGES, in->n_stages);
    int same = 1;
    for (unsigned s = 1; s < in->n_stages; s++)
        same = same && in->stage_bits[s] == in->stage_bits[0];
    if (!same) {
        *p++ = NAC_TAG_STAGE_BITS << 2 | WIRE_BYTES;
        p = put_varint(p, in->n_stages);
        memcpy(p, in->stage_bits, in->n_stages), p += in->n_stages;
    } else if (in->stage_bits[0] != V2_STAGE_BITS) {
        p = put_field_varint(p, NAC_TAG_STAGE_BITS, in->stage_bits[0]);
    }
    *p++ = NAC_TAG_MODEL_HASH << 2 | WIRE_FIXED32;
    nac_put_be32(p, in->model_hash), p += 4;
    if (in->delay)
        p = put_field_varint(p, NAC_TAG_DELAY, in->delay);
    size_t elen = strlen(in->encoder);
    if (elen) {
        *p++ = NAC_TAG_ENCODER << 2 | WIRE_BYTES;
        p = put_varint(p, elen);
        memcpy(p, in->encoder, elen), p += elen;
    }
    if (in->frames_per_packet)
        p = put_field_varint(p, NAC_TAG_FRAMES_PER_PACKET, in->frames_per_packet);
    if (in->mode)
        p = put_field_varint(p, NAC_TAG_MODE, in->mode);
    if (in->vbr_table) {
        *p++ = NAC_TAG_VBR_TABLE << 2 | WIRE_FIXED32;
        nac_put_be32(p, in->vbr_table), p += 4;
    }
    return p;
}

/* Header and metadata of info into out (META_BUF bytes); returns the byte count. */
static size_t encode_head(uint8_t *out, const nac_nacfile_info *in)
{
    int version = in->version ? in->version : NAC_NACFILE_VERSION;
    uint8_t *p = out + NAC_NACFILE_HEADER_SIZE;
    p = version == 1 ? encode_meta_v1(p, in) : encode_meta_v2(p, in);
    size_t check = version == 1 ? CRC_TLV : 2;
    size_t meta_len = (size_t)(p - out) - NAC_NACFILE_HEADER_SIZE + check;
    memcpy(out, nac_magic, 3);
    out[3] = (uint8_t)version;
    nac_put_be32(out + 4, (uint32_t)meta_len);
    out[8] = in->bitrate;
    if (version == 1) {
        p = put_tlv(p, NAC_TAG_CRC, 4);
        nac_put_be32(p, nac_crc32(0, out, (size_t)(p - out)));
        p += 4;
    } else {
        nac_put_be16(p, nac_crc16(NAC_CRC16_INIT, out, (size_t)(p - out)));
        p += 2;
    }
    return (size_t)(p - out);
}

/* Parses version-1 metadata m[0..len-1] (the header h is needed for the CRC). */
static int parse_meta_v1(const uint8_t *h, const uint8_t *m, size_t len, nac_nacfile_info *in, nac_error *err)
{
    static const uint8_t fixed_len[NAC_TAG_MODE + 1] = {0, 4, 2, 8, 4, 4, 2, 0, 4, 4, 0, 2, 1};
    if (len < CRC_TLV || m[len - CRC_TLV] != NAC_TAG_CRC || nac_get_be16(m + len - CRC_TLV + 1) != 4)
        return nac_error_set(err, NAC_ERR_FORMAT, "metadata does not end with its CRC tag");
    uint32_t crc = nac_crc32(nac_crc32(0, h, NAC_NACFILE_HEADER_SIZE), m, len - 4);
    uint32_t stored = nac_get_be32(m + len - 4);
    if (crc != stored)
        return nac_error_set(err, NAC_ERR_CORRUPT, "metadata CRC mismatch (stored 0x%08x, computed 0x%08x)",
                             stored, crc);
    memset(in, 0, sizeof *in);
    in->version = 1;
    in->bitrate = h[8];
    uint32_t seen = 0;
    unsigned n_bits = 0;
    size_t pos = 0, end = len - CRC_TLV;
    while (pos < end) {
        if (end - pos < 3)
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata tag at byte %zu is cut short", 9 + pos);
        unsigned tag = m[pos], tlen = nac_get_be16(m + pos + 1);
        const uint8_t *v = m + pos + 3;
        if (tlen > end - pos - 3)
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata tag 0x%02x of %u bytes runs past the metadata",
                                 tag, tlen);
        pos += 3 + (size_t)tlen;
        if (tag == NAC_TAG_CRC)
            return nac_error_set(err, NAC_ERR_FORMAT, "CRC tag before the end of the metadata");
        if (tag < 1 || tag > NAC_TAG_MODE)
            continue; /* unknown: a newer writer's addition */
        if (seen & (1u << tag))
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata tag 0x%02x appears twice", tag);
        seen |= 1u << tag;
        if (fixed_len[tag] && tlen != fixed_len[tag])
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata tag 0x%02x has %u bytes, expected %u", tag, tlen,
                                 fixed_len[tag]);
        switch (tag) {
        case NAC_TAG_SOURCE_RATE: in->source_rate = nac_get_be32(v); break;
        case NAC_TAG_CHANNELS: in->channels = nac_get_be16(v); break;
        case NAC_TAG_LENGTH: in->length = nac_get_be64(v); break;
        case NAC_TAG_CODEC_RATE: in->codec_rate = nac_get_be32(v); break;
        case NAC_TAG_FRAME_SIZE: in->frame_size = nac_get_be32(v); break;
        case NAC_TAG_STAGES: in->n_stages = nac_get_be16(v); break;
        case NAC_TAG_STAGE_BITS:
            if (tlen < 1 || tlen > NAC_NACFILE_MAX_STAGES)
                return nac_error_set(err, NAC_ERR_FORMAT, "stage-bits tag has %u entries, not 1..%d", tlen,
                                     NAC_NACFILE_MAX_STAGES);
            memcpy(in->stage_bits, v, tlen);
            n_bits = tlen;
            break;
        case NAC_TAG_MODEL_HASH: in->model_hash = nac_get_be32(v); break;
        case NAC_TAG_DELAY: in->delay = nac_get_be32(v); break;
        case NAC_TAG_ENCODER:
            if (tlen > NAC_NACFILE_MAX_ENCODER || !nac_utf8_valid(v, tlen))
                return nac_error_set(err, NAC_ERR_FORMAT, "encoder string is not UTF-8 of at most %d bytes",
                                     NAC_NACFILE_MAX_ENCODER);
            memcpy(in->encoder, v, tlen);
            in->encoder[tlen] = '\0';
            break;
        case NAC_TAG_FRAMES_PER_PACKET: in->frames_per_packet = nac_get_be16(v); break;
        case NAC_TAG_MODE: in->mode = v[0]; break;
        }
    }
    for (unsigned tag = NAC_TAG_SOURCE_RATE; tag <= NAC_TAG_ENCODER; tag++)
        if (!(seen & (1u << tag)))
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata lacks the required tag 0x%02x", tag);
    if (n_bits != in->n_stages)
        return nac_error_set(err, NAC_ERR_FORMAT, "%u stages but bits for %u", in->n_stages, n_bits);
    return check_info(in, NAC_ERR_FORMAT, err);
}

/* Parses version-2 metadata m[0..len-1]: fields, then the CRC-16 of header and fields. */
static int parse_meta_v2(const uint8_t *h, const uint8_t *m, size_t len, nac_nacfile_info *in, nac_error *err)
{
    /* the wire type each known id must have (stage bits: varint or bytes) */
    static const int8_t wire[NAC_TAG_VBR_TABLE + 1] = {-1, 0, 0, 0, 0, 0, 0, -2, 1, 0, 2, 0, 0, 1};
    static const uint64_t max_val[NAC_TAG_VBR_TABLE + 1] = {
        0, NAC_NACFILE_MAX_SOURCE_RATE, 255, UINT64_MAX - 1, MAX_RATE, MAX_RATE, NAC_NACFILE_MAX_STAGES, 24, 0,
        UINT32_MAX, 0, 65535, 255, 0};
    if (len < 2)
        return nac_error_set(err, NAC_ERR_FORMAT, "metadata of %zu bytes has no room for its CRC", len);
    uint16_t crc = nac_crc16(nac_crc16(NAC_CRC16_INIT, h, NAC_NACFILE_HEADER_SIZE), m, len - 2);
    uint16_t stored = nac_get_be16(m + len - 2);
    if (crc != stored)
        return nac_error_set(err, NAC_ERR_CORRUPT, "metadata CRC mismatch (stored 0x%04x, computed 0x%04x)", stored,
                             crc);
    memset(in, 0, sizeof *in);
    in->version = 2;
    in->bitrate = h[8];
    in->channels = 1;
    in->length = NAC_NACFILE_LENGTH_UNKNOWN;
    in->codec_rate = V2_CODEC_RATE;
    in->frame_size = V2_FRAME_SIZE;
    uint32_t seen = 0;
    const uint8_t *bits = NULL;
    size_t n_bits = 0, pos = 0, end = len - 2;
    uint64_t all_bits = V2_STAGE_BITS;
    while (pos < end) {
        size_t at = NAC_NACFILE_HEADER_SIZE + pos;
        unsigned id = m[pos] >> 2, type = m[pos] & 3;
        pos++;
        uint64_t v = 0;
        int cut;
        const uint8_t *bytes = NULL;
        if (type == WIRE_VARINT || type == WIRE_BYTES) {
            size_t k = get_varint(m + pos, end - pos, 10, &v, &cut);
            if (!k)
                return nac_error_set(err, NAC_ERR_FORMAT, "metadata field %u at byte %zu: bad variable-length integer",
                                     id, at);
            pos += k;
            if (type == WIRE_BYTES) {
                if (v > end - pos)
                    return nac_error_set(err, NAC_ERR_FORMAT, "metadata field %u of %llu bytes runs past the metadata",
                                         id, (unsigned long long)v);
                bytes = m + pos;
                pos += (size_t)v;
            }
        } else if (type == WIRE_FIXED32) {
            if (end - pos < 4)
                return nac_error_set(err, NAC_ERR_FORMAT, "metadata field %u at byte %zu is cut short", id, at);
            v = nac_get_be32(m + pos);
            pos += 4;
        } else {
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata field %u at byte %zu has the unknown wire type 3", id,
                                 at);
        }
        if (id < 1 || id > NAC_TAG_VBR_TABLE)
            continue; /* unknown: a newer writer's addition */
        if (seen & (1u << id))
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata field %u appears twice", id);
        seen |= 1u << id;
        if (wire[id] >= 0 ? (int)type != wire[id] : type == WIRE_FIXED32)
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata field %u has the wrong wire type %u", id, type);
        if (type == WIRE_VARINT && v > max_val[id])
            return nac_error_set(err, NAC_ERR_FORMAT, "metadata field %u: value %llu is out of range", id,
                                 (unsigned long long)v);
        switch (id) {
        case NAC_TAG_SOURCE_RATE: in->source_rate = (uint32_t)v; break;
        case NAC_TAG_CHANNELS: in->channels = (uint16_t)v; break;
        case NAC_TAG_LENGTH: in->length = v; break;
        case NAC_TAG_CODEC_RATE: in->codec_rate = (uint32_t)v; break;
        case NAC_TAG_FRAME_SIZE: in->frame_size = (uint32_t)v; break;
        case NAC_TAG_STAGES: in->n_stages = (uint16_t)v; break;
        case NAC_TAG_STAGE_BITS:
            if (bytes) {
                if (v < 1 || v > NAC_NACFILE_MAX_STAGES)
                    return nac_error_set(err, NAC_ERR_FORMAT, "stage-bits field has %llu entries, not 1..%d",
                                         (unsigned long long)v, NAC_NACFILE_MAX_STAGES);
                bits = bytes;
                n_bits = (size_t)v;
            } else {
                all_bits = v;
            }
            break;
        case NAC_TAG_MODEL_HASH: in->model_hash = (uint32_t)v; break;
        case NAC_TAG_DELAY: in->delay = (uint32_t)v; break;
        case NAC_TAG_ENCODER:
            if (v > NAC_NACFILE_MAX_ENCODER || !nac_utf8_valid(bytes, (size_t)v))
                return nac_error_set(err, NAC_ERR_FORMAT, "encoder string is not UTF-8 of at most %d bytes",
                                     NAC_NACFILE_MAX_ENCODER);
            memcpy(in->encoder, bytes, (size_t)v);
            in->encoder[v] = '\0';
            break;
        case NAC_TAG_FRAMES_PER_PACKET: in->frames_per_packet = (uint16_t)v; break;
        case NAC_TAG_MODE: in->mode = (uint8_t)v; break;
        case NAC_TAG_VBR_TABLE:
            if (!v)
                return nac_error_set(err, NAC_ERR_FORMAT, "VBR table hash 0");
            in->vbr_table = (uint32_t)v;
            break;
        }
    }
    if (!(seen & (1u << NAC_TAG_STAGES)) || !(seen & (1u << NAC_TAG_MODEL_HASH)))
        return nac_error_set(err, NAC_ERR_FORMAT, "metadata lacks the required field %u",
                             seen & (1u << NAC_TAG_STAGES) ? NAC_TAG_MODEL_HASH : NAC_TAG_STAGES);
    if (!(seen & (1u << NAC_TAG_SOURCE_RATE)))
        in->source_rate = in->codec_rate;
    if (bits && n_bits != in->n_stages)
        return nac_error_set(err, NAC_ERR_FORMAT, "%u stages but bits for %zu", in->n_stages, n_bits);
    for (unsigned s = 0; s < in->n_stages; s++)
        in->stage_bits[s] = bits ? bits[s] : (uint8_t)all_bits;
    return check_info(in, NAC_ERR_FORMAT, err);
}

/* ---- packets --------------------------------------------------------------------------- */

/* Bytes of a version-2 packet's check for a payload of len bytes. */
static size_t check_bytes(size_t len) { return len <= NAC_NACFILE_SHORT_PAYLOAD ? 2 : 4; }

size_t nac_nacfile_packet_frame(uint8_t *out, int version, uint32_t seq, const uint8_t *payload, size_t len)
{
    out[0] = NAC_NACFILE_SYNC0;
    out[1] = NAC_NACFILE_SYNC1;
    if (version == 1) {
        nac_put_be32(out + 2, seq);
        nac_put_be16(out + 6, (uint16_t)len);
        if (len)
            memmove(out + 8, payload, len);
        nac_put_be32(out + 8 + len, nac_crc32(0, out + 2, 6 + len));
        return NAC_NACFILE_PACKET_OVERHEAD + len;
    }
    nac_put_be16(out + 2, (uint16_t)seq);
    uint8_t lenbuf[4];
    size_t hdr = 4 + (size_t)(put_varint(lenbuf, len) - lenbuf);
    if (len)
        memmove(out + hdr, payload, len);
    memcpy(out + 4, lenbuf, hdr - 4);
    if (check_bytes(len) == 2)
        nac_put_be16(out + hdr + len, nac_crc16(NAC_CRC16_INIT, out + 2, hdr - 2 + len));
    else
        nac_put_be32(out + hdr + len, nac_crc32(0, out + 2, hdr - 2 + len));
    return hdr + len + check_bytes(len);
}

/* The layout of a packet that starts with p[0..avail-1]: 1 with *hdr (bytes before the payload),
 * *len (payload) and *total; 0 if it cannot be a packet; -1 if more bytes are needed to tell. */
static int packet_layout(const uint8_t *p, size_t avail, int version, size_t *hdr, size_t *len, size_t *total)
{
    if ((avail >= 1 && p[0] != NAC_NACFILE_SYNC0) || (avail >= 2 && p[1] != NAC_NACFILE_SYNC1))
        return 0;
    if (version == 1) {
        if (avail < 8)
            return -1;
        *hdr = 8;
        *len = nac_get_be16(p + 6);
        *total = NAC_NACFILE_PACKET_OVERHEAD + *len;
        return 1;
    }
    if (avail < 5)
        return -1;
    uint64_t v;
    int cut;
    size_t k = get_varint(p + 4, avail - 4, 3, &v, &cut);
    if (!k)
        return cut ? -1 : 0;
    if (v > NAC_NACFILE_MAX_PAYLOAD)
        return 0;
    *hdr = 4 + k;
    *len = (size_t)v;
    *total = *hdr + *len + check_bytes(*len);
    return 1;
}

static uint32_t stored_check(const uint8_t *p, size_t len, int version)
{
    return version == 2 && check_bytes(len) == 2 ? nac_get_be16(p) : nac_get_be32(p);
}

int nac_nacfile_packet_parse(nac_nacfile_packet *pkt, int version, const uint8_t *data, size_t size, nac_error *err)
{
    if (!pkt || (!data && size) || (version != 1 && version != 2))
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_parse: NULL argument or version not 1 or 2");
    memset(pkt, 0, sizeof *pkt);
    size_t hdr, len, total;
    int st = packet_layout(data, size, version, &hdr, &len, &total);
    if (st == 0)
        return nac_error_set(err, NAC_ERR_CORRUPT, "not a packet: no sync word or a bad length");
    if (st < 0 || size < total)
        return nac_error_set(err, NAC_ERR_TRUNCATED, "packet of %zu bytes cut to %zu", st < 0 ? 0 : total, size);
    if (size > total)
        return nac_error_set(err, NAC_ERR_CORRUPT, "%zu bytes after the packet", size - total);
    uint32_t want = stored_check(data + hdr + len, len, version);
    uint32_t got = version == 2 && check_bytes(len) == 2 ? nac_crc16(NAC_CRC16_INIT, data + 2, hdr - 2 + len)
                                                        : nac_crc32(0, data + 2, hdr - 2 + len);
    if (want != got)
        return nac_error_set(err, NAC_ERR_CORRUPT, "packet CRC mismatch");
    pkt->seq = version == 1 ? nac_get_be32(data + 2) : nac_get_be16(data + 2);
    pkt->data = data + hdr;
    pkt->size = len;
    return NAC_OK;
}

/* ---- writer ---------------------------------------------------------------------------- */

struct nac_nacfile_writer {
    int version;
    uint8_t *frame;  /* one framed packet */
    FILE *f;
    uint8_t *mem;
    size_t size, cap;
    int finished;
};

static int wput(nac_nacfile_writer *w, const void *p, size_t n, nac_error *err)
{
    if (n == 0)
        return NAC_OK;
    if (w->f) {
        if (fwrite(p, 1, n, w->f) != n)
            return nac_error_set(err, NAC_ERR_IO, "cannot write the .nac stream: %s", strerror(errno));
        return NAC_OK;
    }
    if (n > w->cap - w->size) {
        size_t cap = w->cap ? w->cap : 4096;
        while (n > cap - w->size) {
            if (cap > SIZE_MAX / 2)
                return nac_error_set(err, NAC_ERR_NOMEM, "out of memory writing a .nac stream");
            cap *= 2;
        }
        uint8_t *m = realloc(w->mem, cap);
        if (!m)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory writing a .nac stream");
        w->mem = m;
        w->cap = cap;
    }
    memcpy(w->mem + w->size, p, n);
    w->size += n;
    return NAC_OK;
}

static int writer_open(nac_nacfile_writer **out, FILE *f, const nac_nacfile_info *info, nac_error *err)
{
    if (!out || !info)
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_writer_create: NULL argument");
    *out = NULL;
    int rc = check_info(info, NAC_ERR_ARG, err);
    if (rc < 0)
        return rc;
    nac_nacfile_writer *w = calloc(1, sizeof *w);
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a .nac writer");
    w->f = f;
    w->version = info->version ? info->version : NAC_NACFILE_VERSION;
    if (!(w->frame = malloc(MAX_PACKET))) {
        free(w);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a .nac writer");
    }
    uint8_t head[META_BUF];
    size_t n = encode_head(head, info);
    if ((rc = wput(w, head, n, err)) < 0) {
        nac_nacfile_writer_destroy(w);
        return rc;
    }
    *out = w;
    return NAC_OK;
}

int nac_nacfile_writer_create(nac_nacfile_writer **out, FILE *f, const nac_nacfile_info *info, nac_error *err)
{
    if (!f)
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_writer_create: f is NULL");
    return writer_open(out, f, info, err);
}

int nac_nacfile_writer_create_mem(nac_nacfile_writer **out, const nac_nacfile_info *info, nac_error *err)
{
    return writer_open(out, NULL, info, err);
}

int nac_nacfile_writer_write(nac_nacfile_writer *w, uint32_t seq, const uint8_t *payload, size_t len,
                             nac_error *err)
{
    if (!w || (!payload && len))
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_writer_write: NULL argument");
    if (w->finished)
        return nac_error_set(err, NAC_ERR_STATE, "packet written after finish");
    if (len > NAC_NACFILE_MAX_PAYLOAD)
        return nac_error_set(err, NAC_ERR_ARG, "packet payload of %zu bytes is more than %d", len,
                             NAC_NACFILE_MAX_PAYLOAD);
    size_t n = nac_nacfile_packet_frame(w->frame, w->version, seq, payload, len);
    return wput(w, w->frame, n, err);
}

int nac_nacfile_writer_write_framed(nac_nacfile_writer *w, const uint8_t *packet, size_t size, nac_error *err)
{
    if (!w || !packet)
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_writer_write_framed: NULL argument");
    if (w->finished)
        return nac_error_set(err, NAC_ERR_STATE, "packet written after finish");
    nac_nacfile_packet p;
    nac_error e2;
    if (nac_nacfile_packet_parse(&p, w->version, packet, size, &e2))
        return nac_error_set(err, NAC_ERR_ARG, "not a version-%d packet: %s", w->version, nac_error_message(&e2));
    return wput(w, packet, size, err);
}

int nac_nacfile_writer_version(const nac_nacfile_writer *w) { return w ? w->version : 0; }

int nac_nacfile_writer_finish(nac_nacfile_writer *w, nac_error *err)
{
    if (!w)
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_writer_finish: w is NULL");
    w->finished = 1;
    if (w->f && (fflush(w->f) != 0 || ferror(w->f)))
        return nac_error_set(err, NAC_ERR_IO, "cannot write the .nac stream: %s", strerror(errno));
    return NAC_OK;
}

void nac_nacfile_writer_buffer(const nac_nacfile_writer *w, const uint8_t **data, size_t *size)
{
    *data = w && !w->f ? w->mem : NULL;
    *size = w && !w->f ? w->size : 0;
}

void nac_nacfile_writer_destroy(nac_nacfile_writer *w)
{
    if (!w)
        return;
    free(w->mem);
    free(w->frame);
    free(w);
}

/* ---- reader ---------------------------------------------------------------------------- */

/* A packet's place: bytes before the payload, payload, whole packet. */
typedef struct span {
    size_t hdr, len, total;
} span;

struct nac_nacfile_reader {
    FILE *f;              /* NULL for a memory reader */
    uint8_t *buf;         /* a stream reader's sliding buffer */
    size_t cap;
    const uint8_t *base;  /* buf, or the caller's memory */
    size_t pos, end;      /* unread bytes: base[pos..end) */
    uint64_t base_offset; /* stream offset of base[0] */
    int eof;              /* nothing more beyond end */
    int io_error;
    int done;
    /* Running CRCs: ring[o % RING] = CRC of the stream bytes from an origin up to offset o, for
     * o in [ring_lo, ring_hi]; any span's CRC then costs one combine, not a pass over it. */
    uint32_t *ring;
    uint16_t *ring16;     /* the same for CRC-16 registers (version 2), from register 0 at the origin */
    uint64_t ring_lo, ring_hi;
    int ring_valid;
    uint64_t op_len, op16_len; /* the combine operators cached for one span length */
    uint32_t op;
    uint16_t op16;
    int version;          /* of the stream: 1 or 2 */
    /* Sequence numbers (docs/format.md 2.4) */
    uint32_t expected;    /* sequence number of the next packet if none is lost */
    int started;          /* a packet was accepted */
    uint64_t accepted, concealed; /* packets accepted, packets counted lost */
    uint64_t max_packets; /* sequence numbers the metadata allows, or UINT64_MAX */
    uint64_t max_gap;     /* the most packets one gap may count lost (60 s) */
    int probing;          /* a packet jumped too far; probe = its seq + 1 */
    uint32_t probe;
    span held;            /* swapped neighbours: the later-numbered one, at pos, is returned after the */
    size_t held_next;     /* earlier one (held_next bytes at pos + held.total); then both are skipped */
    nac_nacfile_info info;
};

/* Makes at least n unread bytes available if the input has them; returns how many there are. */
static size_t fill(nac_nacfile_reader *r, size_t n)
{
    if (r->end - r->pos >= n || r->eof)
        return r->end - r->pos;
    if (n > r->cap - r->pos) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->base_offset += r->pos;
        r->end -= r->pos;
        r->pos = 0;
        if (n > r->cap) {
            uint8_t *b = realloc(r->buf, n);
            if (!b) {
                r->io_error = ENOMEM;
                r->eof = 1;
                return r->end - r->pos;
            }
            r->buf = b;
            r->base = b;
            r->cap = n;
        }
    }
    while (r->end - r->pos < n) {
        size_t want = n - (r->end - r->pos);
        size_t got = fread(r->buf + r->end, 1, want, r->f);
        r->end += got;
        if (got < want) {
            if (ferror(r->f))
                r->io_error = errno ? errno : EIO;
            r->eof = 1;
            break;
        }
    }
    return r->end - r->pos;
}

static int read_head(nac_nacfile_reader *r, nac_error *err)
{
    size_t avail = fill(r, NAC_NACFILE_HEADER_SIZE);
    const uint8_t *h = r->base + r->pos;
    if (memcmp(h, nac_magic, avail < 3 ? avail : 3) != 0)
        return nac_error_set(err, NAC_ERR_FORMAT, "not a .nac stream (bad magic)");
    if (avail >= 4 && h[3] == 0)
        return nac_error_set(err, NAC_ERR_FORMAT, ".nac version 0 is invalid");
    if (avail >= 4 && h[3] >= 0x20) /* a letter: another "NAC?" file (a VBR table is "NACV"), not a version */
        return nac_error_set(err, NAC_ERR_FORMAT, "not a .nac stream (bad magic 'NAC%c')", h[3] < 0x7f ? h[3] : '?');
    if (avail >= 4 && h[3] > 2)
        return nac_error_set(err, NAC_ERR_UNSUPPORTED, ".nac version %u is newer than this reader (2)", h[3]);
    if (r->io_error)
        return nac_error_set(err, NAC_ERR_IO, "cannot read the .nac stream: %s", strerror(r->io_error));
    if (avail < NAC_NACFILE_HEADER_SIZE)
        return nac_error_set(err, NAC_ERR_TRUNCATED, ".nac stream has %zu bytes, its header needs %d", avail,
                             NAC_NACFILE_HEADER_SIZE);
    uint32_t meta_len = nac_get_be32(h + 4), min_meta = h[3] == 1 ? CRC_TLV : 2;
    r->version = h[3];
    if (meta_len < min_meta || meta_len > MAX_META)
        return nac_error_set(err, NAC_ERR_FORMAT, "metadata length %u is not in %u..%u", meta_len, min_meta,
                             MAX_META);
    size_t total = NAC_NACFILE_HEADER_SIZE + (size_t)meta_len;
    avail = fill(r, total);
    if (r->io_error)
        return nac_error_set(err, NAC_ERR_IO, "cannot read the .nac stream: %s", strerror(r->io_error));
    if (avail < total)
        return nac_error_set(err, NAC_ERR_TRUNCATED, "metadata ends at byte %zu, the stream at byte %zu", total,
                             avail);
    h = r->base + r->pos; /* fill may have moved the buffer */
    int rc = r->version == 1 ? parse_meta_v1(h, h + NAC_NACFILE_HEADER_SIZE, meta_len, &r->info, err)
                             : parse_meta_v2(h, h + NAC_NACFILE_HEADER_SIZE, meta_len, &r->info, err);
    if (rc < 0)
        return rc;
    r->pos += total;
    return NAC_OK;
}

/* The sequence-number bounds of docs/format.md 2.4, from the metadata. Without tag 0x0B a packet
 * is taken to hold one frame, the most packets a length can need. */
static void seq_limits(nac_nacfile_reader *r)
{
    const nac_nacfile_info *in = &r->info;
    double fpp = in->frames_per_packet ? in->frames_per_packet : 1;
    r->max_packets = UINT64_MAX;
    if (in->length != NAC_NACFILE_LENGTH_UNKNOWN) {
        double samples = (double)in->length * in->codec_rate / in->source_rate + in->delay;
        double packets = ceil((floor(samples / in->frame_size) + 2) / fpp) + 1;
        if (packets < 0x1p40)
            r->max_packets = (uint64_t)packets;
    }
    double gap = floor((double)NAC_NACFILE_MAX_GAP_SECONDS * in->codec_rate / (fpp * in->frame_size));
    r->max_gap = gap >= 1 ? (uint64_t)gap : 1;
    if (r->version == 2 && r->max_gap > 32767)
        r->max_gap = 32767; /* 16-bit sequence numbers tell gaps of up to 32767 packets */
}

static int reader_open(nac_nacfile_reader **out, FILE *f, const void *data, size_t size, nac_error *err)
{
    nac_nacfile_reader *r = calloc(1, sizeof *r);
    if (!r)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a .nac reader");
    if (f) {
        r->f = f;
        r->cap = 2 * MAX_PACKET;
        r->buf = malloc(r->cap);
        if (!r->buf) {
            free(r);
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a .nac reader");
        }
        r->base = r->buf;
    } else {
        r->base = data ? data : (const uint8_t *)"";
        r->end = size;
        r->eof = 1;
    }
    int rc = read_head(r, err);
    if (rc < 0) {
        nac_nacfile_reader_destroy(r);
        return rc;
    }
    seq_limits(r);
    *out = r;
    return NAC_OK;
}

int nac_nacfile_reader_create(nac_nacfile_reader **out, FILE *f, nac_error *err)
{
    if (!out || !f)
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_reader_create: NULL argument");
    *out = NULL;
    return reader_open(out, f, NULL, 0, err);
}

int nac_nacfile_reader_create_mem(nac_nacfile_reader **out, const void *data, size_t size, nac_error *err)
{
    if (!out || (!data && size))
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_reader_create_mem: NULL argument");
    *out = NULL;
    return reader_open(out, NULL, data, size, err);
}

const nac_nacfile_info *nac_nacfile_reader_info(const nac_nacfile_reader *r) { return r ? &r->info : NULL; }

/* The check of the stream bytes [a, b), which the buffer holds, with b - a < RING (a CRC-16 register
 * when crc16, else a CRC-32): from the running CRCs, so that testing every sync word of a damaged
 * stretch costs time linear in its length (a direct CRC per candidate costs up to 64 KiB each:
 * quadratic on a run of A5 5A). */
static uint32_t span_crc(nac_nacfile_reader *r, uint64_t a, uint64_t b, int crc16)
{
    if (!r->ring && (!(r->ring = malloc(RING * sizeof *r->ring)) || !(r->ring16 = malloc(RING * sizeof *r->ring16)))) {
        free(r->ring);
        r->ring = NULL;
        const uint8_t *p = r->base + (a - r->base_offset);
        return crc16 ? nac_crc16(NAC_CRC16_INIT, p, (size_t)(b - a)) : nac_crc32(0, p, (size_t)(b - a));
    }
    if (!r->ring_valid || a < r->ring_lo || a > r->ring_hi) { /* a new origin (any origin will do) */
        r->ring_lo = r->ring_hi = a;
        r->ring[a % RING] = 0;
        r->ring16[a % RING] = 0;
        r->ring_valid = 1;
    }
    uint32_t c = r->ring[r->ring_hi % RING];
    uint16_t c16 = r->ring16[r->ring_hi % RING];
    for (; r->ring_hi < b; r->ring_hi++) {
        const uint8_t *p = r->base + (r->ring_hi - r->base_offset);
        c = nac_crc32(c, p, 1);
        r->ring[(r->ring_hi + 1) % RING] = c;
        if (r->version == 2) {
            c16 = nac_crc16(c16, p, 1);
            r->ring16[(r->ring_hi + 1) % RING] = c16;
        }
    }
    if (r->ring_hi - r->ring_lo >= RING)
        r->ring_lo = r->ring_hi - RING + 1;
    if (crc16) {
        if (r->op16_len != b - a) {
            r->op16_len = b - a;
            r->op16 = nac_crc16_shift_gen(b - a);
        }
        return (uint16_t)(r->ring16[b % RING] ^ nac_crc16_shift((uint16_t)(NAC_CRC16_INIT ^ r->ring16[a % RING]), r->op16));
    }
    if (r->op_len != b - a) {
        r->op_len = b - a;
        r->op = nac_crc32_combine_gen(b - a);
    }
    return r->ring[b % RING] ^ nac_crc32_combine_op(r->ring[a % RING], 0, r->op);
}

/* Is there a packet `off` bytes past the read position? 1: yes, *sp says where its parts are; 0: no;
 * -1: it could be one but the input ends before it does. */
static int packet_at_off(nac_nacfile_reader *r, size_t off, span *sp)
{
    size_t head = r->version == 1 ? 8 : 7;
    size_t avail = fill(r, off + head);
    if (avail <= off)
        return -1; /* the input ends here */
    avail -= off;
    const uint8_t *p = r->base + r->pos + off;
    int st = packet_layout(p, avail, r->version, &sp->hdr, &sp->len, &sp->total);
    if (st <= 0)
        return st;
    if (fill(r, off + sp->total) < off + sp->total)
        return -1;
    p = r->base + r->pos + off;
    uint64_t at = r->base_offset + r->pos + off;
    int crc16 = r->version == 2 && check_bytes(sp->len) == 2;
    if (span_crc(r, at + 2, at + sp->hdr + sp->len, crc16) != stored_check(p + sp->hdr + sp->len, sp->len, r->version))
        return 0;
    return 1;
}

static int packet_at(nac_nacfile_reader *r, span *sp) { return packet_at_off(r, 0, sp); }

/* The sequence number of the packet `off` bytes past the read position: version 2 stores 16 bits,
 * unwrapped to the nearest number to the expected one (negative: older than the first packet). */
static int64_t packet_seq(const nac_nacfile_reader *r, size_t off)
{
    const uint8_t *p = r->base + r->pos + off;
    if (r->version == 1)
        return nac_get_be32(p + 2);
    uint16_t s = nac_get_be16(p + 2);
    if (!r->started)
        return s;
    return (int64_t)r->expected + (int16_t)(uint16_t)(s - (uint16_t)r->expected);
}

/* What the sequence rules (docs/format.md 2.4) make of a packet whose CRC checks. */
enum { SEQ_ACCEPT, SEQ_OLD, SEQ_FAR };

static int seq_verdict(nac_nacfile_reader *r, int64_t seq)
{
    if (seq < 0 || (r->started && seq < (int64_t)r->expected))
        return SEQ_OLD;
    if (seq > UINT32_MAX)
        return SEQ_FAR;
    uint64_t gap = (uint64_t)seq - (r->started ? r->expected : 0);
    if ((uint64_t)seq >= r->max_packets)
        return SEQ_FAR;
    if (gap > 0 && (gap > r->max_gap || r->concealed + gap > r->max_gap + r->accepted)) {
        if (r->probing && seq == (int64_t)r->probe)
            return SEQ_ACCEPT; /* two packets in a row agree: the stream really jumped */
        return SEQ_FAR;
    }
    return SEQ_ACCEPT;
}

/* Returns the packet `off` bytes past the read position (total bytes long) in *pkt. */
static void take_packet(nac_nacfile_reader *r, nac_nacfile_packet *pkt, size_t off, const span *sp)
{
    const uint8_t *p = r->base + r->pos + off;
    pkt->seq = (uint32_t)packet_seq(r, off);
    pkt->lost = r->started ? pkt->seq - r->expected : pkt->seq;
    if (r->probing && pkt->seq == r->probe)
        pkt->lost = 0; /* the stream restarts after a jump: nothing to conceal */
    pkt->reordered = 0;
    pkt->data = p + sp->hdr;
    pkt->size = sp->len;
    pkt->offset = r->base_offset + r->pos + off;
    r->probing = 0;
    r->started = 1;
    r->expected = pkt->seq + 1;
    r->accepted++;
    r->concealed += pkt->lost;
}

/* Skips the run of valid packets at the read position that the sequence rules drop; *verdict is the
 * first one's, err says what was dropped. */
static int drop_packets(nac_nacfile_reader *r, int verdict, span sp, nac_error *err)
{
    uint64_t at = r->base_offset + r->pos;
    int64_t first = packet_seq(r, 0), last = first;
    uint32_t expected = r->expected;
    unsigned long n = 0;
    do {
        last = packet_seq(r, 0);
        if (verdict == SEQ_FAR && last >= 0 && (uint64_t)last < r->max_packets) {
            r->probing = 1;
            r->probe = (uint32_t)last + 1;
        }
        r->pos += sp.total;
        n++;
    } while (verdict == SEQ_OLD && packet_at(r, &sp) == 1 && seq_verdict(r, packet_seq(r, 0)) == SEQ_OLD);
    if (verdict == SEQ_OLD && n == 1)
        return nac_error_set(err, NAC_ERR_CORRUPT,
                             "the packet at byte %llu (sequence %lld) repeats or arrives after packet %u: dropped",
                             (unsigned long long)at, (long long)first, expected - 1);
    if (verdict == SEQ_OLD)
        return nac_error_set(err, NAC_ERR_CORRUPT,
                             "%lu packets at byte %llu (sequence %lld, ..., %lld) repeat or arrive after packet %u: dropped",
                             n, (unsigned long long)at, (long long)first, (long long)last, expected - 1);
    if ((uint64_t)first >= r->max_packets)
        return nac_error_set(err, NAC_ERR_CORRUPT,
                             "packet at byte %llu has sequence %lld, beyond the %llu packets the stream's length "
                             "allows: dropped",
                             (unsigned long long)at, (long long)first, (unsigned long long)r->max_packets);
    return nac_error_set(err, NAC_ERR_CORRUPT,
                         "packet at byte %llu has sequence %lld, %lld past the expected %u: more than %d s of audio "
                         "lost or a damaged number; dropped",
                         (unsigned long long)at, (long long)first, (long long)(first - expected), expected,
                         NAC_NACFILE_MAX_GAP_SECONDS);
}

int nac_nacfile_reader_next(nac_nacfile_reader *r, nac_nacfile_packet *pkt, nac_error *err)
{
    if (!r || !pkt)
        return nac_error_set(err, NAC_ERR_ARG, "nac_nacfile_reader_next: NULL argument");
    if (r->done)
        return NAC_NACFILE_END;
    span sp, next;
    if (r->held.total) { /* the first of two swapped packets, after the second */
        take_packet(r, pkt, 0, &r->held);
        pkt->reordered = 1;
        r->pos += r->held.total + r->held_next;
        r->held.total = 0;
        return NAC_OK;
    }
    int st = packet_at(r, &sp);
    if (st == 1) {
        int64_t seq = packet_seq(r, 0);
        int v = seq_verdict(r, seq);
        if (v != SEQ_ACCEPT)
            return drop_packets(r, v, sp, err);
        /* two neighbours in swapped order (a muxer's mistake): give them back in order */
        if (r->started && seq == (int64_t)r->expected + 1 && packet_at_off(r, sp.total, &next) == 1 &&
            packet_seq(r, sp.total) == (int64_t)r->expected) {
            take_packet(r, pkt, sp.total, &next);
            pkt->reordered = 1;
            r->held = sp;
            r->held_next = next.total;
            return NAC_OK;
        }
        take_packet(r, pkt, 0, &sp);
        r->pos += sp.total;
        return NAC_OK;
    }
    if (r->io_error) {
        r->done = 1;
        return nac_error_set(err, NAC_ERR_IO, "cannot read the .nac stream: %s", strerror(r->io_error));
    }
    uint64_t bad = r->base_offset + r->pos;
    if (st == -1 && r->end == r->pos) {
        r->done = 1;
        return NAC_NACFILE_END;
    }
    /* Damage: scan forward for the next sync word that starts a packet whose CRC checks. */
    for (r->pos++; fill(r, 2) >= 2; r->pos++) {
        const uint8_t *p = r->base + r->pos;
        if (p[0] == NAC_NACFILE_SYNC0 && p[1] == NAC_NACFILE_SYNC1 && packet_at(r, &sp) == 1) {
            uint64_t at = r->base_offset + r->pos;
            return nac_error_set(err, NAC_ERR_CORRUPT,
                                 "%llu bytes at byte %llu are not a valid packet; resynchronised at byte %llu",
                                 (unsigned long long)(at - bad), (unsigned long long)bad, (unsigned long long)at);
        }
    }
    uint64_t end = r->base_offset + r->end;
    r->pos = r->end;
    r->done = 1;
    if (r->io_error)
        return nac_error_set(err, NAC_ERR_IO, "cannot read the .nac stream: %s", strerror(r->io_error));
    if (st == -1)
        return nac_error_set(err, NAC_ERR_TRUNCATED, "the stream ends at byte %llu inside the packet at byte %llu",
                             (unsigned long long)end, (unsigned long long)bad);
    return nac_error_set(err, NAC_ERR_CORRUPT, "%llu bytes at byte %llu are not a valid packet; no packet follows",
                         (unsigned long long)(end - bad), (unsigned long long)bad);
}

uint64_t nac_nacfile_reader_offset(const nac_nacfile_reader *r) { return r ? r->base_offset + r->pos : 0; }

void nac_nacfile_reader_destroy(nac_nacfile_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->ring);
    free(r->ring16);
    free(r);
}
