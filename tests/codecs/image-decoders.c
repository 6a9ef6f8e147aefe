/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "image-decoders.h"

#include "image-codec.h"

#include <stdlib.h>
#include <string.h>

#include <spice/enums.h>
#ifdef HAVE_LZ4
#include <lz4.h>
#endif
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t *lz_decode_rgb32(const uint8_t *data, size_t size, uint32_t *width, uint32_t *height,
                          const char **why)
{
    return lz_decode_plt8(data, size, NULL, 0, width, height, why);
}

uint32_t *lz_decode_plt8(const uint8_t *data, size_t size, const uint32_t *palette,
                         uint32_t colours, uint32_t *width, uint32_t *height, const char **why)
{
    *why = NULL;
    if (size < 28) {
        *why = "short header";
        return NULL;
    }
    if (get_be32(data) != 0x20205a4cu || get_be32(data + 4) != 0x00010001u) {
        *why = "bad magic or version";
        return NULL;
    }
    uint32_t type = get_be32(data + 8), w = get_be32(data + 12), h = get_be32(data + 16);
    uint32_t stride = get_be32(data + 20), top_down = get_be32(data + 24);
    /* RGB32, or (with a palette) PLT8: one index a pixel, copies biased
     * by 2 more. */
    bool plt = palette != NULL;
    if (type != (plt ? 5u : 8u) || w == 0 || h == 0 || stride != w * (plt ? 1 : 4) ||
        top_down != 1 || (uint64_t)stride * h > (1u << 30) - 1) {
        *why = "bad type, size, stride or orientation";
        return NULL;
    }
    size_t n = (size_t)w * h, op = 0, ip = 28;
    uint32_t *out = calloc(n, sizeof(uint32_t));
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
#define NEED(k)                        \
    do {                               \
        if (size - ip < (size_t)(k)) { \
            *why = "truncated";        \
            goto fail;                 \
        }                              \
    } while (0)
    while (op < n) {
        NEED(1);
        uint32_t ctrl = data[ip++];
        if (ctrl < 32) {
            size_t k = ctrl + 1;
            if (k > n - op) {
                *why = "literals past the end";
                goto fail;
            }
            if (plt) {
                NEED(k);
                for (size_t j = 0; j < k; j++, ip++) {
                    if (data[ip] >= colours) {
                        *why = "index beyond the palette";
                        goto fail;
                    }
                    out[op++] = palette[data[ip]] & 0x00ffffffu;
                }
                continue;
            }
            NEED(k * 3);
            for (size_t j = 0; j < k; j++, ip += 3) {
                out[op++] = data[ip] | (uint32_t)data[ip + 1] << 8 | (uint32_t)data[ip + 2] << 16;
            }
            continue;
        }
        size_t len = ctrl >> 5;
        if (len == 7) {
            uint8_t code;
            do {
                NEED(1);
                code = data[ip++];
                len += code;
            } while (code == 255);
        }
        len += plt ? 2 : 0;
        NEED(1);
        size_t code = data[ip++];
        size_t ofs = (ctrl & 31) << 8 | code;
        if (ofs == 8191) {
            NEED(2);
            ofs = ((size_t)data[ip] << 8 | data[ip + 1]) + 8191;
            ip += 2;
        }
        ofs += 1;
        if (ofs > op || len > n - op) {
            *why = ofs > op ? "copy before the start" : "copy past the end";
            goto fail;
        }
        for (size_t j = 0; j < len; j++, op++) {
            out[op] = out[op - ofs];
        }
    }
    if (ip != size) {
        *why = "input left over";
        goto fail;
    }
#undef NEED
    *width = w;
    *height = h;
    return out;
fail:
    free(out);
    return NULL;
}

static uint32_t get_le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Packed x8r8g8b8 rows to 0x00RRGGBB. */
static uint32_t *unpack_rows(const uint8_t *rows, size_t n)
{
    uint32_t *out = malloc(n * sizeof(uint32_t));
    for (size_t i = 0; out && i < n; i++) {
        out[i] = get_le32(rows + 4 * i) & 0x00ffffffu;
    }
    return out;
}

#ifdef HAVE_LZ4
uint8_t *lz4_decode_rows(const uint8_t *p, size_t size, uint32_t width, uint32_t height,
                         unsigned *blocks, const char **why)
{
    if (size < 2 || p[0] != 1 || p[1] != SPICE_BITMAP_FMT_32BIT) {
        *why = "LZ4: not top-down 32-bit";
        return NULL;
    }
    const uint8_t *end = p + size;
    p += 2;
    int available = (int)(width * 4 * height);
    uint8_t *rows = malloc((size_t)available);
    uint8_t *dest = rows;
    LZ4_streamDecode_t *stream = LZ4_createStreamDecode();
    *blocks = 0;
    do {
        if (end - p < 4) {
            *why = "LZ4: truncated block length";
            goto fail;
        }
        int enc = (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        p += 4;
        if (enc < 0 || end - p < enc) {
            *why = "LZ4: block past the data";
            goto fail;
        }
        int dec =
            LZ4_decompress_safe_continue(stream, (const char *)p, (char *)dest, enc, available);
        if (dec <= 0) {
            *why = "LZ4: block does not decode";
            goto fail;
        }
        dest += dec;
        available -= dec;
        p += enc;
        (*blocks)++;
    } while (p < end);
    if (available != 0) {
        *why = "LZ4: image incomplete";
        goto fail;
    }
    LZ4_freeStreamDecode(stream);
    return rows;
fail:
    LZ4_freeStreamDecode(stream);
    free(rows);
    return NULL;
}
#endif

/* ---- QUIC ------------------------------------------------------------- */

/* The format's tables (see codecs/quic.c), rebuilt here from their
 * definitions where they have one; the pseudo-random words are the
 * encoder's table. */

typedef struct QuicDec {
    const uint8_t *data;
    size_t n_words;
    size_t bitpos; /* bits consumed */
    bool overrun;
    unsigned gr[8], notgr_len[8], suffix_len[8], prefix[8];
    uint8_t counters_len[256][8];
    struct {
        uint32_t counters[8][8];
        uint8_t best[8];
        uint8_t *corr;
        unsigned shift;
    } ch[3];
    unsigned waitcnt, seed, wmidx, wmileft, trigger;
    unsigned melcstate, melclen, melcorder;
    const uint32_t *tabrand;
} QuicDec;

static const uint16_t qd_trigger[7] = { 110, 550, 900, 800, 550, 400, 350 };
static const uint8_t qd_melc[32] = { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,  2,  3,  3,  3,  3,
                                     4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static uint32_t qd_word(const QuicDec *d, size_t i)
{
    return i < d->n_words ? get_le32(d->data + 4 * i) : 0;
}

/* The next 32 bits of the stream, most significant first. */
static uint32_t qd_peek(QuicDec *d)
{
    size_t w = d->bitpos / 32;
    unsigned off = d->bitpos % 32;
    uint64_t v = (uint64_t)qd_word(d, w) << 32 | qd_word(d, w + 1);
    return (uint32_t)(v >> (32 - off));
}

static void qd_eat(QuicDec *d, unsigned n)
{
    d->bitpos += n;
    /* The reference decoder holds the word after the current one. */
    if (d->bitpos / 32 + 1 >= d->n_words + 1) {
        d->overrun = true;
    }
}

static unsigned qd_golomb(QuicDec *d, unsigned l)
{
    uint32_t bits = qd_peek(d);
    unsigned p = d->prefix[l];
    if (p < 32 && bits >> (32 - p) != 0) {
        unsigned zeros = (unsigned)__builtin_clz(bits);
        unsigned len = zeros + 1 + l;
        qd_eat(d, len);
        return (zeros << l) | ((bits >> (32 - len)) & ((1u << l) - 1));
    }
    unsigned len = d->notgr_len[l];
    qd_eat(d, len);
    unsigned v = d->gr[l] + ((bits >> (32 - len)) & ((1u << d->suffix_len[l]) - 1));
    if (v > 255) {
        d->overrun = true; /* a code no encoder writes */
        v = 0;
    }
    return v;
}

static unsigned qd_bucket(unsigned v)
{
    unsigned b = 31u - (unsigned)__builtin_clz(v + 1);
    return b < 8 ? b : 7;
}

static void qd_update(QuicDec *d, int k, unsigned context, unsigned v)
{
    unsigned b = qd_bucket(context);
    uint32_t *cnt = d->ch[k].counters[b];
    unsigned best = 7;
    uint32_t best_len = (cnt[7] += d->counters_len[v][7]);
    for (int l = 6; l >= 0; l--) {
        uint32_t len = (cnt[l] += d->counters_len[v][l]);
        if (len < best_len) {
            best = (unsigned)l;
            best_len = len;
        }
    }
    d->ch[k].best[b] = (uint8_t)best;
    if (best_len > d->trigger) {
        for (int l = 0; l < 8; l++) {
            cnt[l] >>= 1;
        }
    }
}

static void qd_update_all(QuicDec *d, int i)
{
    for (int k = 0; k < 3; k++) {
        qd_update(d, k, d->ch[k].corr[i - 1], d->ch[k].corr[i]);
    }
}

static unsigned qd_tabrand(QuicDec *d)
{
    return d->tabrand[++d->seed & 0xff];
}

static unsigned qd_l2u(unsigned v)
{
    return v & 1 ? 255 - (v >> 1) : v >> 1;
}

/* Pixel i: row0 selects the row-0 predictor. */
static void qd_pixel(QuicDec *d, const uint32_t *prev, uint32_t *cur, int i)
{
    uint32_t px = 0;
    for (int k = 0; k < 3; k++) {
        unsigned s = d->ch[k].shift;
        unsigned v = qd_golomb(d, d->ch[k].best[qd_bucket(d->ch[k].corr[i - 1])]);
        d->ch[k].corr[i] = (uint8_t)v;
        unsigned pred;
        if (!prev) {
            pred = i > 0 ? (cur[i - 1] >> s) & 0xff : 0;
        } else {
            unsigned up = (prev[i] >> s) & 0xff;
            pred = i > 0 ? (((cur[i - 1] >> s) & 0xff) + up) >> 1 : up;
        }
        px |= ((qd_l2u(v) + pred) & 0xff) << s;
    }
    cur[i] = px;
}

static unsigned qd_run(QuicDec *d)
{
    unsigned len = 0;
    for (;;) {
        uint32_t bits = qd_peek(d);
        if (bits >> 31 == 0) {
            qd_eat(d, 1);
            break;
        }
        qd_eat(d, 1);
        len += d->melcorder;
        if (d->melcstate < 31) {
            d->melclen = qd_melc[++d->melcstate];
            d->melcorder = 1u << d->melclen;
        }
        if (d->overrun) {
            return 0;
        }
    }
    if (d->melclen) {
        len += qd_peek(d) >> (32 - d->melclen);
        qd_eat(d, d->melclen);
    }
    if (d->melcstate) {
        d->melclen = qd_melc[--d->melcstate];
        d->melcorder = 1u << d->melclen;
    }
    return len;
}

static void qd_segment(QuicDec *d, const uint32_t *prev, uint32_t *cur, int i, int end)
{
    unsigned mask = (1u << d->wmidx) - 1;
    int stop, run_at = 0;
    if (i == 0) {
        qd_pixel(d, prev, cur, 0);
        if (d->waitcnt) {
            d->waitcnt--;
        } else {
            d->waitcnt = qd_tabrand(d) & mask;
            qd_update_all(d, 0);
        }
        stop = 1 + (int)d->waitcnt;
        i = 1;
    } else {
        stop = i + (int)d->waitcnt;
    }
#define QD_RUN(i) \
    (prev && prev[(i)-1] == prev[(i)] && run_at != (i) && (i) > 2 && cur[(i)-1] == cur[(i)-2])
    for (;;) {
        while (stop < end) {
            for (; i <= stop; i++) {
                if (QD_RUN(i)) {
                    goto run;
                }
                qd_pixel(d, prev, cur, i);
            }
            qd_update_all(d, stop);
            stop = i + (int)(qd_tabrand(d) & mask);
        }
        for (; i < end; i++) {
            if (QD_RUN(i)) {
                goto run;
            }
            qd_pixel(d, prev, cur, i);
        }
        d->waitcnt = (unsigned)(stop - end);
        return;
    run:
        d->waitcnt = (unsigned)(stop - i);
        run_at = i;
        unsigned len = qd_run(d);
        if (len > (unsigned)(end - i)) {
            d->overrun = true; /* a run past the segment */
            return;
        }
        for (int e = i + (int)len; i < e; i++) {
            cur[i] = cur[i - 1];
        }
        if (i == end) {
            return;
        }
        stop = i + (int)d->waitcnt;
    }
#undef QD_RUN
}

static uint32_t *quic_decode(const uint8_t *data, size_t size, uint32_t width, uint32_t height,
                             const char **why)
{
    if (size % 4 || size < 24) {
        *why = "QUIC: not whole words, or no header";
        return NULL;
    }
    QuicDec *d = calloc(1, sizeof(QuicDec));
    d->data = data;
    d->n_words = size / 4;
    if (qd_word(d, 0) != 0x43495551u || qd_word(d, 1) != 0 || qd_word(d, 2) != 4 ||
        qd_word(d, 3) != width || qd_word(d, 4) != height) {
        *why = "QUIC: header is not RGB32 of the descriptor's size";
        free(d);
        return NULL;
    }
    d->bitpos = 5 * 32;
    d->tabrand = image_quic_tabrand();
    for (unsigned l = 0; l < 8; l++) {
        unsigned prefix = 18;
        if (prefix > (1u << (8 - l)) - 1) {
            prefix = (1u << (8 - l)) - 1;
        }
        unsigned gr = prefix << l, rest = 256 - gr, suffix = 0;
        while ((1u << suffix) < rest) {
            suffix++;
        }
        d->prefix[l] = prefix;
        d->gr[l] = gr;
        d->suffix_len[l] = suffix;
        d->notgr_len[l] = prefix + suffix;
        for (unsigned n = 0; n < 256; n++) {
            d->counters_len[n][l] = (uint8_t)(n < gr ? (n >> l) + l + 1 : prefix + suffix);
        }
    }
    uint8_t *corr = calloc(3, (size_t)width + 1);
    for (int k = 0; k < 3; k++) {
        d->ch[k].corr = corr + (size_t)k * (width + 1) + 1;
        d->ch[k].shift = 16 - 8 * (unsigned)k;
        memset(d->ch[k].best, 7, 8);
    }
    d->seed = 0xff;
    d->wmileft = 2048;
    d->trigger = qd_trigger[0];
    d->melcorder = 1;
    uint32_t *out = calloc((size_t)width * height, sizeof(uint32_t));
    for (uint32_t y = 0; y < height && !d->overrun; y++) {
        uint32_t *cur = out + (size_t)y * width;
        const uint32_t *prev = y ? cur - width : NULL;
        if (y > 0) {
            for (int k = 0; k < 3; k++) {
                d->ch[k].corr[-1] = d->ch[k].corr[0];
            }
        }
        unsigned pos = 0, left = width;
        while (d->wmidx < 6 && d->wmileft <= left) {
            if (d->wmileft) {
                qd_segment(d, prev, cur, (int)pos, (int)(pos + d->wmileft));
                left -= d->wmileft;
                pos += d->wmileft;
            }
            d->wmidx++;
            d->trigger = qd_trigger[d->wmidx];
            d->wmileft = 2048;
        }
        if (left) {
            qd_segment(d, prev, cur, (int)pos, (int)(pos + left));
            if (d->wmidx < 6) {
                d->wmileft -= left;
            }
        }
    }
    /* The encoder's padding: the last code's word, then one zero word. */
    size_t want_words = (d->bitpos + 31) / 32 + 1;
    bool bad = d->overrun || want_words != d->n_words || qd_word(d, d->n_words - 1) != 0;
    free(corr);
    free(d);
    if (bad) {
        *why = "QUIC: codes past the data, or data left over";
        free(out);
        return NULL;
    }
    return out;
}

/* ---- GLZ ------------------------------------------------------------------ */

typedef struct GlzTestImage {
    uint64_t id;
    uint32_t head_dist;
    uint32_t *px;
    size_t n;
} GlzTestImage;

struct GlzTestWindow {
    GlzTestImage *images; /* in no particular order */
    size_t count, cap;
    uint64_t tail_gap; /* the first id not received */
};

GlzTestWindow *glz_test_window_new(void)
{
    return calloc(1, sizeof(GlzTestWindow));
}

void glz_test_window_free(GlzTestWindow *win)
{
    if (win) {
        for (size_t k = 0; k < win->count; k++) {
            free(win->images[k].px);
        }
        free(win->images);
        free(win);
    }
}

void glz_test_window_usage(const GlzTestWindow *win, size_t *images, uint64_t *pixels)
{
    uint64_t sum = 0;
    for (size_t k = 0; k < win->count; k++) {
        sum += win->images[k].n;
    }
    *images = win->count;
    *pixels = sum;
}

static GlzTestImage *glz_find(GlzTestWindow *win, uint64_t id)
{
    for (size_t k = 0; k < win->count; k++) {
        if (win->images[k].id == id) {
            return &win->images[k];
        }
    }
    return NULL;
}

/* As spice-gtk: the image joins the window, the contiguous ids advance,
 * and what the last contiguous image no longer needs goes. */
static bool glz_add(GlzTestWindow *win, GlzTestImage img, const char **why)
{
    if (win->count == win->cap) {
        size_t cap = win->cap ? win->cap * 2 : 16;
        GlzTestImage *a = realloc(win->images, cap * sizeof(*a));
        if (!a) {
            *why = "GLZ: out of memory";
            return false;
        }
        win->images = a;
        win->cap = cap;
    }
    win->images[win->count++] = img;
    GlzTestImage *last = NULL;
    while ((last = glz_find(win, win->tail_gap)) != NULL) {
        win->tail_gap++;
    }
    last = glz_find(win, win->tail_gap - 1);
    if (!last) {
        return true; /* ids before this one are missing: nothing goes yet */
    }
    uint64_t oldest = last->id - last->head_dist;
    for (size_t k = 0; k < win->count;) {
        if (win->images[k].id < oldest) {
            free(win->images[k].px);
            win->images[k] = win->images[--win->count];
        } else {
            k++;
        }
    }
    return true;
}

uint32_t *glz_decode_rgb32(GlzTestWindow *win, const uint8_t *data, size_t size, uint32_t *width,
                           uint32_t *height, uint64_t *id_out, const char **why)
{
    *why = NULL;
    if (size < 33) {
        *why = "GLZ: short header";
        return NULL;
    }
    if (get_be32(data) != 0x20205a4cu || get_be32(data + 4) != 0x00010001u) {
        *why = "GLZ: bad magic or version";
        return NULL;
    }
    if (data[8] != (8 | 16)) {
        *why = "GLZ: not a top-down RGB32 image";
        return NULL;
    }
    uint32_t w = get_be32(data + 9), h = get_be32(data + 13);
    uint64_t id = (uint64_t)get_be32(data + 21) << 32 | get_be32(data + 25);
    uint32_t head_dist = get_be32(data + 29);
    if (w == 0 || h == 0 || (uint64_t)w * h > (1u << 25) || get_be32(data + 17) != w * 4) {
        *why = "GLZ: bad size or stride";
        return NULL;
    }
    if (head_dist > id || glz_find(win, id)) {
        *why = "GLZ: window head before id 0, or an id seen before";
        return NULL;
    }
    size_t n = (size_t)w * h;
    uint32_t *out = malloc(n * sizeof(uint32_t));
    if (!out) {
        *why = "GLZ: out of memory";
        return NULL;
    }
    const uint8_t *ip = data + 33, *end = data + size;
    size_t op = 0;
#define NEED(k)                                 \
    do {                                        \
        if ((size_t)(end - ip) < (size_t)(k)) { \
            *why = "GLZ: truncated";            \
            goto fail;                          \
        }                                       \
    } while (0)
    while (op < n) {
        NEED(1);
        uint32_t ctrl = *ip++;
        if (ctrl < 32) {
            size_t k = ctrl + 1;
            if (k > n - op) {
                *why = "GLZ: literals past the end";
                goto fail;
            }
            NEED(3 * k);
            for (size_t j = 0; j < k; j++, ip += 3) {
                out[op++] = (uint32_t)ip[0] | (uint32_t)ip[1] << 8 | (uint32_t)ip[2] << 16;
            }
            continue;
        }
        size_t len = ctrl >> 5;
        bool long_off = ctrl & 16;
        uint32_t off = ctrl & 15;
        if (len == 7) {
            uint8_t code;
            do {
                NEED(1);
                code = *ip++;
                len += code;
            } while (code == 255);
        }
        NEED(2);
        off += (uint32_t)*ip++ << 4;
        uint8_t code = *ip++;
        unsigned extra = code >> 6;
        uint64_t dist;
        if (!long_off) {
            dist = code & 63;
            NEED(extra);
            for (unsigned k = 0; k < extra; k++) {
                dist += (uint64_t)*ip++ << (6 + 8 * k);
            }
        } else {
            bool very_long = code & 32;
            off += (uint32_t)(code & 31) << 12;
            dist = 0;
            NEED(extra + (very_long ? 1 : 0));
            for (unsigned k = 0; k < extra; k++) {
                dist += (uint64_t)*ip++ << (8 * k);
            }
            if (very_long) {
                off += (uint32_t)*ip++ << 17;
            }
        }
        if (len > n - op) {
            *why = "GLZ: copy past the end";
            goto fail;
        }
        if (dist == 0) {
            size_t back = (size_t)off + 1;
            if (back > op) {
                *why = "GLZ: copy from before the image";
                goto fail;
            }
            for (size_t j = 0; j < len; j++, op++) {
                out[op] = out[op - back];
            }
        } else {
            if (dist > id) {
                *why = "GLZ: copy from an id before 0";
                goto fail;
            }
            const GlzTestImage *ref = glz_find(win, id - dist);
            if (!ref) {
                /* spice-gtk would wait for it forever. */
                *why = "GLZ: copy from an image not in the client's window";
                goto fail;
            }
            if (off > ref->n || len > ref->n - off) {
                *why = "GLZ: copy past the end of the referenced image";
                goto fail;
            }
            memcpy(out + op, ref->px + off, len * sizeof(uint32_t));
            op += len;
        }
    }
#undef NEED
    if (ip != end) {
        *why = "GLZ: data left over";
        goto fail;
    }
    GlzTestImage img = { .id = id, .head_dist = head_dist, .n = n };
    img.px = malloc(n * sizeof(uint32_t));
    if (!img.px) {
        *why = "GLZ: out of memory";
        goto fail;
    }
    memcpy(img.px, out, n * sizeof(uint32_t));
    if (!glz_add(win, img, why)) {
        free(img.px);
        goto fail;
    }
    *width = w;
    *height = h;
    if (id_out) {
        *id_out = id;
    }
    return out;
fail:
    free(out);
    return NULL;
}

static uint32_t *glz_body(GlzTestWindow *win, const uint8_t *data, size_t size, uint32_t width,
                          uint32_t height, const char **why)
{
    if (!win) {
        *why = "GLZ without a window";
        return NULL;
    }
    uint32_t w, h;
    uint32_t *out = glz_decode_rgb32(win, data, size, &w, &h, NULL, why);
    if (out && (w != width || h != height)) {
        free(out);
        *why = "GLZ: size differs from the descriptor's";
        return NULL;
    }
    return out;
}

uint32_t *image_decode_body(GlzTestWindow *glz, uint8_t type, const uint8_t *body, size_t size,
                            uint32_t width, uint32_t height, size_t *used, unsigned *blocks,
                            const char **why)
{
    unsigned dummy_blocks;
    blocks = blocks ? blocks : &dummy_blocks;
    *blocks = 0;
    *why = NULL;
    if (width == 0 || height == 0 || (uint64_t)width * height * 4 > (1u << 30)) {
        *why = "bad image size";
        return NULL;
    }
    if (type == SPICE_IMAGE_TYPE_BITMAP) {
        if (size < 18 || body[0] != SPICE_BITMAP_FMT_32BIT || get_le32(body + 2) != width ||
            get_le32(body + 6) != height || get_le32(body + 10) != width * 4 ||
            get_le32(body + 14) != 0) {
            *why = "BITMAP: header is not a packed 32-bit image of the descriptor's size";
            return NULL;
        }
        size_t bytes = (size_t)width * 4 * height;
        if (size - 18 < bytes) {
            *why = "BITMAP: truncated";
            return NULL;
        }
        bool top_down = body[1] & SPICE_BITMAP_FLAGS_TOP_DOWN;
        uint32_t *out = unpack_rows(body + 18, (size_t)width * height);
        if (out && !top_down) {
            for (uint32_t y = 0; y < height / 2; y++) {
                for (uint32_t x = 0; x < width; x++) {
                    uint32_t t = out[(size_t)y * width + x];
                    out[(size_t)y * width + x] = out[(size_t)(height - 1 - y) * width + x];
                    out[(size_t)(height - 1 - y) * width + x] = t;
                }
            }
        }
        *used = 18 + bytes;
        return out;
    }
    if (type == SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB) {
#ifdef HAVE_ZLIB
        if (size < 8 || get_le32(body + 4) > size - 8 || get_le32(body) > (64u << 20)) {
            *why = "ZLIB_GLZ: sizes past the message or too large";
            return NULL;
        }
        uLongf glz_size = get_le32(body), zsize = get_le32(body + 4);
        *used = 8 + zsize;
        uint8_t *inflated = malloc(glz_size ? glz_size : 1);
        uLongf got = glz_size;
        if (!inflated || uncompress(inflated, &got, body + 8, zsize) != Z_OK || got != glz_size) {
            free(inflated);
            *why = "ZLIB_GLZ: the deflated stream is bad or not of the stated size";
            return NULL;
        }
        uint32_t *out = glz_body(glz, inflated, glz_size, width, height, why);
        free(inflated);
        return out;
#else
        *why = "ZLIB_GLZ needs zlib";
        return NULL;
#endif
    }
    if (size < 4 || get_le32(body) > size - 4) {
        *why = "data size past the message";
        return NULL;
    }
    size_t data_size = get_le32(body);
    *used = 4 + data_size;
    if (type == SPICE_IMAGE_TYPE_LZ_RGB) {
        uint32_t w, h;
        uint32_t *out = lz_decode_rgb32(body + 4, data_size, &w, &h, why);
        if (out && (w != width || h != height)) {
            free(out);
            *why = "LZ: size differs from the descriptor's";
            return NULL;
        }
        return out;
    }
    if (type == SPICE_IMAGE_TYPE_QUIC) {
        return quic_decode(body + 4, data_size, width, height, why);
    }
    if (type == SPICE_IMAGE_TYPE_GLZ_RGB) {
        return glz_body(glz, body + 4, data_size, width, height, why);
    }
#ifdef HAVE_LZ4
    if (type == SPICE_IMAGE_TYPE_LZ4) {
        uint8_t *rows = lz4_decode_rows(body + 4, data_size, width, height, blocks, why);
        uint32_t *out = rows ? unpack_rows(rows, (size_t)width * height) : NULL;
        free(rows);
        return out;
    }
#endif
    *why = "image type not decoded by the tests";
    return NULL;
}
