/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * quic.c: the SPICE QUIC image encoder (SPICE_IMAGE_TYPE_QUIC, RGB32).
 *
 * QUIC is SPICE's lossless codec for photographic content (after SFALIC,
 * R. Starosolski): each colour channel is predicted from its left and upper
 * neighbours, the residual mapped to an unsigned value and written as an
 * adaptive Golomb-Rice code whose parameter comes from a small model per
 * context. It is what the reference server sends for "high graduality"
 * images in its auto modes, and what spice-html5 decodes besides LZ.
 *
 * The decoders (spice-common quic.c, spice-html5 quic.js) rebuild the
 * models from what they decode, so the encoder must take every model
 * decision exactly as they do. What they fix, and this file follows:
 *
 *   stream   32-bit words, little-endian, bits taken from each word's most
 *            significant end; header words: magic "QUIC" (0x43495551),
 *            version 0, image type (4 = RGB32), width, height; after the
 *            last code the word is padded with zeros and one zero word
 *            follows (the decoders read one word ahead)
 *   residual channels r, g, b in that order per pixel; prediction: row 0:
 *            left (the first pixel: 0); other rows: the first pixel: the
 *            one above; the others: (left + above) / 2; the residual
 *            modulo 256 is mapped 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
 *   codes    for parameter l (0..7) and value n: when n < P << l, where P
 *            is the code's prefix limit min(18, 2^(8 - l) - 1), n >> l
 *            zeros, a one and the l low bits of n; otherwise P zeros and
 *            n - (P << l) in ceil(log2(256 - (P << l))) bits
 *   models   per channel, 8 buckets chosen by the previous pixel's mapped
 *            residual v (bucket floor(log2(v + 1)), at most 7), each with
 *            8 code-length counters and a best code (initially 7). A model
 *            update adds each parameter's code length for the value to its
 *            counter, picks the smallest (the highest parameter on ties)
 *            and halves the counters once the best exceeds a threshold
 *   schedule updates happen at pixels chosen by a wait count drawn from a
 *            fixed table of 256 pseudo-random words (tabrand) masked by
 *            2^wmidx - 1, where wmidx starts at 0 and grows by one every
 *            2048 pixels up to 6, each step with its own threshold
 *   runs     from row 1 on, when the two pixels above-left and above are
 *            equal and so are the two before the current one (from the
 *            fourth pixel of a row segment on, and not right after a run),
 *            a run of pixels equal to the left one is coded instead, with
 *            an adaptive Elias-like code (a state of 32 lengths J), up to
 *            the end of the segment
 *
 * The row of mapped residuals is kept across rows, including the stale
 * entries a run skips, because the decoders' contexts read them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image-codec.h"

#define QUIC_MAGIC       0x43495551u
#define QUIC_VERSION     0u
#define QUIC_TYPE_RGB32  4u
#define QUIC_CODES       8 /* Golomb parameters 0..7 */
#define QUIC_BUCKETS     8
#define QUIC_MAX_CODELEN 26
#define QUIC_WMI_MAX     6
#define QUIC_WMI_NEXT    2048
#define QUIC_MELC_STATES 32

/* The decoders' fixed tables: the update schedule's pseudo-random words,
 * the thresholds per wait mask index (evolution 3) and the run coder's
 * lengths. They are part of the format. */
static const uint32_t quic_tabrand[256] = {
    0x02c57542, 0x35427717, 0x2f5a2153, 0x9244f155, 0x7bd26d07, 0x354c6052, 0x57329b28, 0x2993868e,
    0x6cd8808c, 0x147b46e0, 0x99db66af, 0xe32b4cac, 0x1b671264, 0x9d433486, 0x62a4c192, 0x06089a4b,
    0x9e3dce44, 0xdaabee13, 0x222425ea, 0xa46f331d, 0xcd589250, 0x8bb81d7f, 0xc8b736b9, 0x35948d33,
    0xd7ac7fd0, 0x5fbe2803, 0x2cfbc105, 0x013dbc4e, 0x7a37820f, 0x39f88e9e, 0xedd58794, 0xc5076689,
    0xfcada5a4, 0x64c2f46d, 0xb3ba3243, 0x8974b4f9, 0x5a05aebd, 0x20afcd00, 0x39e2b008, 0x88a18a45,
    0x600bde29, 0xf3971ace, 0xf37b0a6b, 0x7041495b, 0x70b707ab, 0x06beffbb, 0x4206051f, 0xe13c4ee3,
    0xc1a78327, 0x91aa067c, 0x8295f72a, 0x732917a6, 0x1d871b4d, 0x4048f136, 0xf1840e7e, 0x6a6048c1,
    0x696cb71a, 0x7ff501c3, 0x0fc6310b, 0x57e0f83d, 0x8cc26e74, 0x11a525a2, 0x946934c7, 0x7cd888f0,
    0x8f9d8604, 0x4f86e73b, 0x04520316, 0xdeeea20c, 0xf1def496, 0x67687288, 0xf540c5b2, 0x22401484,
    0x3478658a, 0xc2385746, 0x01979c2c, 0x5dad73c8, 0x0321f58b, 0xf0fedbee, 0x92826ddf, 0x284bec73,
    0x5b1a1975, 0x03df1e11, 0x20963e01, 0xa17cf12b, 0x740d776e, 0xa7a6bf3c, 0x01b5cce4, 0x1118aa76,
    0xfc6fac0a, 0xce927e9b, 0x00bf2567, 0x806f216c, 0xbca69056, 0x795bd3e9, 0xc9dc4557, 0x8929b6c2,
    0x789d52ec, 0x3f3fbf40, 0xb9197368, 0xa38c15b5, 0xc3b44fa8, 0xca8333b0, 0xb7e8d590, 0xbe807feb,
    0xbf5f8360, 0xd99e2f5c, 0x372928e1, 0x7c757c4c, 0x0db5b154, 0xc01ede02, 0x1fc86e78, 0x1f3985be,
    0xb4805c77, 0x00c880fa, 0x974c1b12, 0x35ab0214, 0xb2dc840d, 0x5b00ae37, 0xd313b026, 0xb260969d,
    0x7f4c8879, 0x1734c4d3, 0x49068631, 0xb9f6a021, 0x6b863e6f, 0xcee5debf, 0x29f8c9fb, 0x53dd6880,
    0x72b61223, 0x1f67a9fd, 0x0a0f6993, 0x13e59119, 0x11cca12e, 0xfe6b6766, 0x16b6effc, 0x97918fc4,
    0xc2b8a563, 0x94f2f741, 0x0bfa8c9a, 0xd1537ae8, 0xc1da349c, 0x873c60ca, 0x95005b85, 0x9b5c080e,
    0xbc8abbd9, 0xe1eab1d2, 0x6dac9070, 0x4ea9ebf1, 0xe0cf30d4, 0x1ef5bd7b, 0xd161043e, 0x5d2fa2e2,
    0xff5d3cae, 0x86ed9f87, 0x2aa1daa1, 0xbd731a34, 0x9e8f4b22, 0xb1c2c67a, 0xc21758c9, 0xa182215d,
    0xccb01948, 0x8d168df7, 0x04238cfe, 0x368c3dbc, 0x0aeadca5, 0xbad21c24, 0x0a71fee5, 0x9fc5d872,
    0x54c152c6, 0xfc329483, 0x6783384a, 0xeddb3e1c, 0x65f90e30, 0x884ad098, 0xce81675a, 0x4b372f7d,
    0x68bf9a39, 0x43445f1e, 0x40f8d8cb, 0x90d5acb6, 0x4cd07282, 0x349eeb06, 0x0c9d5332, 0x520b24ef,
    0x80020447, 0x67976491, 0x2f931ca3, 0xfe9b0535, 0xfcd30220, 0x61a9e6cc, 0xa487d8d7, 0x3f7c5dd1,
    0x7d0127c5, 0x48f51d15, 0x60dea871, 0xc9a91cb7, 0x58b53bb3, 0x9d5e0b2d, 0x624a78b4, 0x30dbee1b,
    0x9bdf22e7, 0x1df5c299, 0x2d5643a7, 0xf4dd35ff, 0x03ca8fd6, 0x53b47ed8, 0x6f2c19aa, 0xfeb0c1f4,
    0x49e54438, 0x2f2577e6, 0xbf876969, 0x72440ea9, 0xfa0bafb8, 0x74f5b3a0, 0x7dd357cd, 0x89ce1358,
    0x6ef2cdda, 0x1e7767f3, 0xa6be9fdb, 0x4f5f88f8, 0xba994a3a, 0x08ca6b65, 0xe0893818, 0x9e00a16a,
    0xf42bfc8f, 0x9972eedc, 0x749c8b51, 0x32c05f5e, 0xd706805f, 0x6bfbb7cf, 0xd9210a10, 0x31a1db97,
    0x923a9559, 0x37a7a1f6, 0x059f8861, 0xca493e62, 0x65157e81, 0x8f6467dd, 0xab85ff9f, 0x9331aff2,
    0x8616b9f5, 0xedbd5695, 0xee7e29b1, 0x313ac44f, 0xb903112f, 0x432ef649, 0xdc0a36c0, 0x61cf2bba,
    0x81474925, 0xa8b6c7ad, 0xee5931de, 0xb2f8158d, 0x59fb7409, 0x2e3dfaed, 0x9af25a3f, 0xe1fed4d5,
};

static const uint16_t quic_wm_trigger[QUIC_WMI_MAX + 1] = { 110, 550, 900, 800, 550, 400, 350 };

static const uint8_t quic_melc_len[QUIC_MELC_STATES] = { 0, 0, 0, 0, 1,  1,  1,  1,  2,  2, 2,
                                                         2, 3, 3, 3, 3,  4,  4,  5,  5,  6, 6,
                                                         7, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* Golomb codes of every value for every parameter, packed as
 * code << 6 | length (codes are at most 26 bits), the context buckets and
 * the residual map. */
static uint32_t quic_code[QUIC_CODES][256];
static uint8_t quic_bucket[256];
static uint8_t quic_u2l[256];
static pthread_once_t quic_tables_once = PTHREAD_ONCE_INIT;

#define CODE_LEN(e)  ((e)&63u)
#define CODE_BITS(e) ((e) >> 6)

static void quic_tables_init(void)
{
    for (unsigned l = 0; l < QUIC_CODES; l++) {
        unsigned prefix = QUIC_MAX_CODELEN - 8;
        if (prefix > (1u << (8 - l)) - 1) {
            prefix = (1u << (8 - l)) - 1;
        }
        unsigned gr = prefix << l; /* values with a Golomb-Rice code */
        unsigned rest = 256 - gr, suffix = 0;
        while ((1u << suffix) < rest) {
            suffix++;
        }
        for (unsigned n = 0; n < 256; n++) {
            if (n < gr) {
                quic_code[l][n] = ((1u << l) | (n & ((1u << l) - 1))) << 6 | ((n >> l) + l + 1);
            } else {
                quic_code[l][n] = (n - gr) << 6 | (prefix + suffix);
            }
        }
    }
    for (unsigned s = 0; s < 256; s++) {
        quic_u2l[s] = (uint8_t)(s <= 127 ? s << 1 : ((255 - s) << 1) + 1);
        unsigned b = 31u - (unsigned)__builtin_clz(s + 1);
        quic_bucket[s] = (uint8_t)(b < QUIC_BUCKETS ? b : QUIC_BUCKETS - 1);
    }
}

typedef struct QuicChannel {
    uint32_t counters[QUIC_BUCKETS][QUIC_CODES];
    uint8_t best[QUIC_BUCKETS];
    uint8_t *corr; /* mapped residuals of the row; corr[-1] is valid */
} QuicChannel;

/* The bit writer: whole words go to `next`; the low `pending` bits of acc
 * (oldest first) are not in one yet. Hot loops keep a copy in locals. */
typedef struct QuicBits {
    uint64_t acc;
    unsigned pending; /* 0..31 */
    uint32_t *next;
} QuicBits;

typedef struct QuicEncoder {
    QuicChannel ch[3]; /* r, g, b */
    /* the schedule and run coder, shared by the three channels */
    unsigned waitcnt, seed, wmidx, wmileft, trigger;
    unsigned melcstate, melclen, melcorder;
    QuicBits bits;
    uint32_t *out; /* start of the output */
    size_t cap_out;
    bool failed;
} QuicEncoder;

static inline void emit_word(QuicBits *b, uint32_t word)
{
    /* Room was made for the row by quic_reserve(). Words are
     * little-endian. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    word = __builtin_bswap32(word);
#endif
    *b->next++ = word;
}

/* `len` (1..31) bits of `bits`, most significant first. */
static inline void put_bits(QuicBits *b, uint32_t bits, unsigned len)
{
    b->acc = b->acc << len | bits;
    b->pending += len;
    if (b->pending >= 32) {
        b->pending -= 32;
        emit_word(b, (uint32_t)(b->acc >> b->pending));
    }
}

/* Room for `words` more output words. */
static bool quic_reserve(QuicEncoder *q, size_t words)
{
    size_t used = (size_t)(q->bits.next - q->out);
    if (q->cap_out - used >= words) {
        return true;
    }
    size_t cap = q->cap_out * 2 > used + words ? q->cap_out * 2 : used + words;
    uint32_t *p = realloc(q->out, cap * sizeof(uint32_t));
    if (!p) {
        q->failed = true;
        return false;
    }
    q->out = p;
    q->bits.next = p + used;
    q->cap_out = cap;
    return true;
}

static inline unsigned tabrand(QuicEncoder *q)
{
    return quic_tabrand[++q->seed & 0xff];
}

static inline void code_value(QuicBits *b, const uint8_t *best, unsigned v, unsigned context)
{
    uint32_t e = quic_code[best[quic_bucket[context]]][v];
    put_bits(b, CODE_BITS(e), CODE_LEN(e));
}

static void update_channel(QuicEncoder *q, QuicChannel *c, unsigned context, unsigned v)
{
    unsigned b = quic_bucket[context];
    uint32_t *cnt = c->counters[b];
    unsigned best = QUIC_CODES - 1;
    uint32_t best_len = (cnt[best] += CODE_LEN(quic_code[best][v]));
    for (int l = QUIC_CODES - 2; l >= 0; l--) {
        uint32_t len = (cnt[l] += CODE_LEN(quic_code[l][v]));
        if (len < best_len) {
            best = (unsigned)l;
            best_len = len;
        }
    }
    c->best[b] = (uint8_t)best;
    if (best_len > q->trigger) {
        for (unsigned l = 0; l < QUIC_CODES; l++) {
            cnt[l] >>= 1;
        }
    }
}

static void update_model(QuicEncoder *q, int i)
{
    for (int k = 0; k < 3; k++) {
        update_channel(q, &q->ch[k], q->ch[k].corr[i - 1], q->ch[k].corr[i]);
    }
}

/* What the pixel coders need, in locals of the row loops (so that the
 * stores of residuals do not make the compiler reload them). */
typedef struct QuicRow {
    QuicBits bits;
    uint8_t *corr[3];
    const uint8_t *best[3];
} QuicRow;

static inline void row_begin(QuicRow *r, const QuicEncoder *q)
{
    r->bits = q->bits;
    for (int k = 0; k < 3; k++) {
        r->corr[k] = q->ch[k].corr;
        r->best[k] = q->ch[k].best;
    }
}

/* Pixel i of row 0: predicted by its left neighbour (nothing for i = 0). */
static inline void code_row0_pixel(QuicRow *r, const uint32_t *cur, int i)
{
    uint32_t x = cur[i], left = i > 0 ? cur[i - 1] : 0;
    for (int k = 0; k < 3; k++) {
        unsigned sh = 16 - 8 * (unsigned)k;
        unsigned v = quic_u2l[((x >> sh) - (left >> sh)) & 0xff];
        r->corr[k][i] = (uint8_t)v;
        code_value(&r->bits, r->best[k], v, r->corr[k][i - 1]);
    }
}

/* Pixel i of a later row: the one above for i = 0, else the mean of the
 * left and upper neighbours. */
static inline void code_pixel(QuicRow *r, const uint32_t *prev, const uint32_t *cur, int i)
{
    uint32_t x = cur[i], up = prev[i];
    for (int k = 0; k < 3; k++) {
        unsigned sh = 16 - 8 * (unsigned)k;
        unsigned u = (up >> sh) & 0xff;
        unsigned pred = i > 0 ? (((cur[i - 1] >> sh) & 0xff) + u) >> 1 : u;
        unsigned v = quic_u2l[((x >> sh) - pred) & 0xff];
        r->corr[k][i] = (uint8_t)v;
        code_value(&r->bits, r->best[k], v, r->corr[k][i - 1]);
    }
}

/* The first pixel of a row: its model update follows the wait count. */
static int first_pixel_done(QuicEncoder *q, unsigned waitmask)
{
    if (q->waitcnt) {
        q->waitcnt--;
    } else {
        q->waitcnt = tabrand(q) & waitmask;
        update_model(q, 0);
    }
    return 1 + (int)q->waitcnt;
}

static void row0_segment(QuicEncoder *q, const uint32_t *cur, int i, int end, unsigned waitmask)
{
    QuicRow r;
    row_begin(&r, q);
    int stop;
    if (i == 0) {
        code_row0_pixel(&r, cur, 0);
        stop = first_pixel_done(q, waitmask);
        i = 1;
    } else {
        stop = i + (int)q->waitcnt;
    }
    while (stop < end) {
        for (; i <= stop; i++) {
            code_row0_pixel(&r, cur, i);
        }
        update_model(q, stop);
        stop = i + (int)(tabrand(q) & waitmask);
    }
    for (; i < end; i++) {
        code_row0_pixel(&r, cur, i);
    }
    q->waitcnt = (unsigned)(stop - end);
    q->bits = r.bits;
}

static inline void put_run(QuicEncoder *q, QuicBits *b, unsigned len)
{
    unsigned hits = 0;
    while (len >= q->melcorder) {
        hits++;
        len -= q->melcorder;
        if (q->melcstate < QUIC_MELC_STATES - 1) {
            q->melclen = quic_melc_len[++q->melcstate];
            q->melcorder = 1u << q->melclen;
        }
    }
    for (; hits >= 31; hits -= 31) {
        put_bits(b, 0x7fffffffu, 31);
    }
    if (hits) {
        put_bits(b, (1u << hits) - 1, hits);
    }
    put_bits(b, len, q->melclen + 1);
    if (q->melcstate) {
        q->melclen = quic_melc_len[--q->melcstate];
        q->melcorder = 1u << q->melclen;
    }
}

static void row_segment(QuicEncoder *q, const uint32_t *prev, const uint32_t *cur, int i, int end,
                        unsigned waitmask)
{
    QuicRow r;
    row_begin(&r, q);
    int stop, run_at = 0;
    if (i == 0) {
        code_pixel(&r, prev, cur, 0);
        stop = first_pixel_done(q, waitmask);
        i = 1;
    } else {
        stop = i + (int)q->waitcnt;
    }
/* A run may start at i: the decoders test the same. */
#define RUN_HERE(i) \
    (prev[(i)-1] == prev[(i)] && run_at != (i) && (i) > 2 && cur[(i)-1] == cur[(i)-2])
    for (;;) {
        while (stop < end) {
            for (; i <= stop; i++) {
                if (RUN_HERE(i)) {
                    goto run;
                }
                code_pixel(&r, prev, cur, i);
            }
            update_model(q, stop);
            stop = i + (int)(tabrand(q) & waitmask);
        }
        for (; i < end; i++) {
            if (RUN_HERE(i)) {
                goto run;
            }
            code_pixel(&r, prev, cur, i);
        }
        q->waitcnt = (unsigned)(stop - end);
        q->bits = r.bits;
        return;
    run:
        run_at = i;
        q->waitcnt = (unsigned)(stop - i);
        unsigned len = 0;
        while (cur[i] == cur[i - 1]) {
            len++;
            if (++i == end) {
                put_run(q, &r.bits, len);
                q->bits = r.bits;
                return;
            }
        }
        put_run(q, &r.bits, len);
        stop = i + (int)q->waitcnt;
    }
#undef RUN_HERE
}

/* A row in segments: the wait mask index grows every QUIC_WMI_NEXT
 * pixels, counted across rows, until QUIC_WMI_MAX. */
static void code_row(QuicEncoder *q, const uint32_t *prev, const uint32_t *cur, unsigned width)
{
    unsigned pos = 0;
    while (q->wmidx < QUIC_WMI_MAX && q->wmileft <= width) {
        if (q->wmileft) {
            unsigned mask = (1u << q->wmidx) - 1;
            if (prev) {
                row_segment(q, prev, cur, (int)pos, (int)(pos + q->wmileft), mask);
            } else {
                row0_segment(q, cur, (int)pos, (int)(pos + q->wmileft), mask);
            }
            width -= q->wmileft;
            pos += q->wmileft;
        }
        q->wmidx++;
        q->trigger = quic_wm_trigger[q->wmidx];
        q->wmileft = QUIC_WMI_NEXT;
    }
    if (width) {
        unsigned mask = (1u << q->wmidx) - 1;
        if (prev) {
            row_segment(q, prev, cur, (int)pos, (int)(pos + width), mask);
        } else {
            row0_segment(q, cur, (int)pos, (int)(pos + width), mask);
        }
        if (q->wmidx < QUIC_WMI_MAX) {
            q->wmileft -= width;
        }
    }
}

bool image_encode_quic(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                       uint32_t height)
{
    if (!w || !pixels || w->error || width == 0 || height == 0 || width > 65500 || height > 65500) {
        return false;
    }
    int64_t abs_stride = stride < 0 ? -(int64_t)stride : stride;
    /* spice-gtk sizes the decoded image as an int; keep well inside it. */
    if (abs_stride < (int64_t)width * 4 || (uint64_t)width * 4 * height > (1u << 30)) {
        return false;
    }
    pthread_once(&quic_tables_once, quic_tables_init);

    QuicEncoder q;
    memset(&q, 0, sizeof(q));
    uint32_t *rows = malloc((size_t)width * 2 * sizeof(uint32_t));
    uint8_t *corr = malloc(((size_t)width + 1) * 3);
    /* A first guess of 2 bytes a pixel; rows grow it when needed. */
    q.cap_out = 16 + (size_t)width * height / 2;
    q.out = malloc(q.cap_out * sizeof(uint32_t));
    bool ok = rows && corr && q.out;
    for (int k = 0; ok && k < 3; k++) {
        q.ch[k].corr = corr + (size_t)k * (width + 1) + 1;
        q.ch[k].corr[-1] = 0;
        memset(q.ch[k].best, QUIC_CODES - 1, sizeof(q.ch[k].best));
    }
    q.seed = 0xff;
    q.wmileft = QUIC_WMI_NEXT;
    q.trigger = quic_wm_trigger[0];
    q.melcorder = 1;

    if (ok) {
        q.bits.next = q.out;
        emit_word(&q.bits, QUIC_MAGIC);
        emit_word(&q.bits, QUIC_VERSION);
        emit_word(&q.bits, QUIC_TYPE_RGB32);
        emit_word(&q.bits, width);
        emit_word(&q.bits, height);
    }
    /* Worst case for a row: 3 codes of 26 bits a pixel, and run codes
     * (at most one bit per pixel plus a few words). */
    size_t row_words = ((size_t)width * 79 + 31) / 32 + 4;
    uint32_t *prev = NULL, *cur = rows;
    for (uint32_t y = 0; ok && y < height; y++) {
        const uint8_t *src = pixels + (ptrdiff_t)y * stride;
        for (uint32_t x = 0; x < width; x++) {
            cur[x] = spice_wire_get_u32(src + 4 * (size_t)x) & 0x00ffffffu;
        }
        if (!quic_reserve(&q, row_words)) {
            ok = false;
            break;
        }
        if (y > 0) {
            for (int k = 0; k < 3; k++) {
                q.ch[k].corr[-1] = q.ch[k].corr[0];
            }
        }
        code_row(&q, prev, cur, width);
        prev = cur;
        cur = cur == rows ? rows + width : rows;
    }
    /* The last word, padded, then one zero word. */
    if (ok && quic_reserve(&q, 2)) {
        if (q.bits.pending) {
            emit_word(&q.bits, (uint32_t)(q.bits.acc << (32 - q.bits.pending)));
        }
        emit_word(&q.bits, 0);
    }
    ok = ok && !q.failed;

    size_t bytes = ok ? (size_t)(q.bits.next - q.out) * 4 : 0;
    uint8_t *dst = ok && bytes <= UINT32_MAX ? spice_wire_reserve(w, 4 + bytes) : NULL;
    if (dst) {
        spice_wire_put_u32(dst, (uint32_t)bytes);
        memcpy(dst + 4, q.out, bytes);
    }
    free(q.out);
    free(rows);
    free(corr);
    return dst != NULL;
}

const uint32_t *image_quic_tabrand(void)
{
    return quic_tabrand;
}
