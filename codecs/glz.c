/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glz.c: the SPICE GLZ image encoder (SPICE_IMAGE_TYPE_GLZ_RGB and
 * ZLIB_GLZ_RGB, RGB32 form) and its dictionary.
 *
 * GLZ is LZ whose copies may also come from earlier images: the client
 * keeps the images it decoded in a window (spice-gtk: one per session,
 * shared by its display channels) and a copy names an image by how many
 * ids back it is, and a pixel by its offset in that image. Each image
 * carries its id and how far back the oldest image it may still refer
 * to is; the client drops images older than that, once every earlier id
 * has arrived. The format, as spice-gtk decodes it (decode-glz.c):
 *
 *   header: u32 magic "LZ  " (0x20205a4c), u32 version 0x00010001, u8
 *           type (8 = RGB32, plus 16 for top-down), u32 width, u32 height,
 *           u32 stride (width * 4), u64 id, u32 window head distance (all
 *           big-endian)
 *   body:   control bytes as in LZ: below 32, that many plus one literal
 *           pixels (B, G, R) follow. Otherwise a copy: len = ctrl >> 5
 *           (7: plus the following bytes, 255 meaning "add and read
 *           another"), then the pixel offset's low 4 bits in ctrl & 15,
 *           bit 4 of ctrl telling a short offset (12 bits) from a long one
 *           (25 bits), the next 8 bits of the offset in the next byte, and
 *           then:
 *             short: one byte whose top 2 bits say how many more bytes
 *                    the image distance has (0..3), its low 6 bits the
 *                    distance's lowest bits, then 8 bits per extra byte;
 *             long:  one byte: top 2 bits the image distance's byte count
 *                    (0..3), bit 5 "very long", low 5 bits offset bits
 *                    12..16; the distance's bytes, little-endian; when
 *                    very long one more byte, offset bits 17..24.
 *           Image distance 0 is this image, the offset then being the
 *           distance back minus one; otherwise it is the offset from the
 *           start of the image that many ids back.
 *
 * The decoder waits (it does not fail) for an id it has not seen, and
 * frees nothing while an id is missing. So every id handed out must be
 * sent: ids are given when an image is encoded, which happens only when
 * the message goes out (the display channel encodes at send time), and
 * a user that loses messages (a channel that closes while the session
 * lives on) must stop using the dictionary for that session. Copies only
 * refer to images of the same owner (the display channel), so no channel
 * ever waits for another's messages.
 *
 * The window holds copies of the images (x bytes cleared) up to the
 * client's window size or GLZ_MAX_WINDOW_PIXELS, whichever is smaller,
 * and at most GLZ_MAX_IMAGES images; the oldest go first. Matching is
 * LZ's (a run, the row above, then a hash of two pixels) with one hash
 * table for the whole window, whose entries are global pixel positions:
 * an entry older than the window's oldest image is simply ignored, and
 * every candidate is checked against the pixels, so a stale entry costs
 * nothing but a comparison.
 *
 * ZLIB_GLZ deflates the GLZ stream (zlib); when that is not smaller, the
 * plain GLZ stream is sent.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef SPICE_CODEC_ZLIB
#include <zlib.h>
#endif

#include "image-codec.h"
#include "lz-format.h"

#define GLZ_HEADER_BYTES      33u
#define GLZ_TYPE_TOP_DOWN     16u
#define GLZ_SHORT_OFFSET      (1u << 12)
#define GLZ_MEDIUM_OFFSET     (1u << 17)
#define GLZ_MAX_OFFSET        (1u << 25)                /* exclusive */
#define GLZ_MAX_DISTANCE      ((1u << 24) - 1u)         /* the reference's bound, ids */
#define GLZ_MAX_IMAGE         (1024u * 1024u * 8u * 4u) /* pixels: offsets stay below 2^25 */
#define GLZ_HASH_BITS         18
#define GLZ_SKIP_SHIFT        5
#define GLZ_PREVIOUS_LOOKBACK 16 /* images searched for one of the same size */

typedef struct GlzImage {
    uint64_t id;
    uint64_t start; /* the global position of its first pixel */
    uint32_t *px;
    uint32_t n;
    uint32_t owner;
} GlzImage;

struct GlzDictionary {
    pthread_mutex_t lock;
    int refs;       /* under lock */
    uint64_t limit; /* pixels the window may hold */
    GlzImage *ring; /* the window, oldest at head */
    uint32_t cap, head, count;
    uint64_t pixels; /* in the window */
    uint64_t next_id;
    uint64_t next_pos; /* global position of the next image's first pixel */
    uint32_t *table;   /* 1 << GLZ_HASH_BITS global positions, low 32 bits */
};

GlzDictionary *glz_dictionary_new(uint64_t window_pixels)
{
    if (window_pixels == 0) {
        return NULL;
    }
    GlzDictionary *d = calloc(1, sizeof(*d));
    if (!d) {
        return NULL;
    }
    d->table = calloc((size_t)1 << GLZ_HASH_BITS, sizeof(uint32_t));
    if (!d->table) {
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->lock, NULL);
    d->refs = 1;
    d->limit = window_pixels < GLZ_MAX_WINDOW_PIXELS ? window_pixels : GLZ_MAX_WINDOW_PIXELS;
    return d;
}

GlzDictionary *glz_dictionary_ref(GlzDictionary *d)
{
    pthread_mutex_lock(&d->lock);
    d->refs++;
    pthread_mutex_unlock(&d->lock);
    return d;
}

static GlzImage *ring_at(const GlzDictionary *d, uint32_t k)
{
    return &d->ring[(d->head + k) % d->cap];
}

static void evict_oldest(GlzDictionary *d)
{
    GlzImage *old = ring_at(d, 0);
    d->pixels -= old->n;
    free(old->px);
    old->px = NULL;
    d->head = (d->head + 1) % d->cap;
    d->count--;
}

void glz_dictionary_unref(GlzDictionary *d)
{
    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    bool last = --d->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (!last) {
        return;
    }
    while (d->count > 0) {
        evict_oldest(d);
    }
    free(d->ring);
    free(d->table);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void glz_dictionary_stats(GlzDictionary *d, GlzDictionaryStats *st)
{
    pthread_mutex_lock(&d->lock);
    st->images = d->count;
    st->pixels = d->pixels;
    st->next_id = d->next_id;
    st->window_pixels = d->limit;
    pthread_mutex_unlock(&d->lock);
}

/* Room for one more image of n pixels: the oldest images go. */
static bool window_make_room(GlzDictionary *d, uint32_t n)
{
    while (d->count > 0 && (d->pixels + n > d->limit || d->count >= GLZ_MAX_IMAGES)) {
        evict_oldest(d);
    }
    if (d->count < d->cap) {
        return true;
    }
    uint32_t cap = d->cap ? d->cap * 2 : 16;
    GlzImage *ring = calloc(cap, sizeof(GlzImage));
    if (!ring) {
        return false;
    }
    for (uint32_t k = 0; k < d->count; k++) {
        ring[k] = *ring_at(d, k);
    }
    free(d->ring);
    d->ring = ring;
    d->cap = cap;
    d->head = 0;
    return true;
}

/* The window's image holding global position pos, or NULL. */
static const GlzImage *window_find(const GlzDictionary *d, uint64_t pos)
{
    uint32_t lo = 0, hi = d->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const GlzImage *img = ring_at(d, mid);
        if (pos < img->start) {
            hi = mid;
        } else if (pos >= img->start + img->n) {
            lo = mid + 1;
        } else {
            return img;
        }
    }
    return NULL;
}

/* ---- encoding ---------------------------------------------------------- */

typedef struct {
    const GlzDictionary *d;
    const GlzImage *cur;
    const GlzImage *prev; /* the owner's last image of this size, or NULL */
    uint64_t oldest;      /* global position of the window's first pixel */
    uint32_t *table;
    uint32_t width;
} GlzState;

typedef struct {
    size_t len;
    uint32_t offset;   /* on the wire: distance - 1 in this image, else the offset */
    uint32_t distance; /* in ids; 0: this image */
} GlzMatch;

static inline uint32_t glz_hash(const uint32_t *px)
{
    uint64_t key = (uint64_t)px[0] << 24 | px[1];
    return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - GLZ_HASH_BITS));
}

/* Bytes a copy takes on the wire. */
static unsigned match_cost(const GlzMatch *m)
{
    unsigned cost = 3;
    if (m->offset < GLZ_SHORT_OFFSET) {
        cost += m->distance < (1u << 6)    ? 0
                : m->distance < (1u << 14) ? 1
                : m->distance < (1u << 22) ? 2
                                           : 3;
    } else {
        cost += m->distance == 0           ? 0
                : m->distance < (1u << 8)  ? 1
                : m->distance < (1u << 16) ? 2
                                           : 3;
        cost += m->offset >= GLZ_MEDIUM_OFFSET;
    }
    if (m->len >= 7) {
        cost += 1 + (unsigned)((m->len - 7) / 255);
    }
    return cost;
}

/* Whether m saves enough over literals to be worth it (see the output
 * bound in image_encode_glz), and more than best does. */
static bool match_better(const GlzMatch *m, const GlzMatch *best)
{
    long gain = 3 * (long)m->len - (long)match_cost(m);
    if (gain < 2) {
        return false;
    }
    return best->len == 0 || gain > 3 * (long)best->len - (long)match_cost(best);
}

static uint8_t *glz_put_match(uint8_t *op, const GlzMatch *m)
{
    uint32_t off = m->offset, dist = m->distance;
    bool long_off = off >= GLZ_SHORT_OFFSET;
    uint32_t lenbits = m->len < 7 ? (uint32_t)m->len : 7u;
    *op++ = (uint8_t)(lenbits << 5 | (long_off ? 16u : 0u) | (off & 15u));
    if (lenbits == 7) {
        size_t rest = m->len - 7;
        for (; rest >= 255; rest -= 255) {
            *op++ = 255;
        }
        *op++ = (uint8_t)rest;
    }
    *op++ = (uint8_t)(off >> 4);
    if (!long_off) {
        unsigned extra = dist < (1u << 6) ? 0 : dist < (1u << 14) ? 1 : dist < (1u << 22) ? 2 : 3;
        *op++ = (uint8_t)(extra << 6 | (dist & 63u));
        for (unsigned k = 0; k < extra; k++) {
            *op++ = (uint8_t)(dist >> (6 + 8 * k));
        }
    } else {
        bool very_long = off >= GLZ_MEDIUM_OFFSET;
        unsigned bytes = dist == 0 ? 0 : dist < (1u << 8) ? 1 : dist < (1u << 16) ? 2 : 3;
        *op++ = (uint8_t)(bytes << 6 | (very_long ? 32u : 0u) | ((off >> 12) & 31u));
        for (unsigned k = 0; k < bytes; k++) {
            *op++ = (uint8_t)(dist >> (8 * k));
        }
        if (very_long) {
            *op++ = (uint8_t)(off >> 17);
        }
    }
    return op;
}

/* The hash candidate for position i (which needs pixels i and i + 1),
 * then i's entry is set to i. */
static void hash_candidate(GlzState *s, uint32_t owner, size_t i, GlzMatch *best)
{
    const GlzImage *cur = s->cur;
    const uint32_t *px = cur->px;
    size_t n = cur->n;
    uint64_t pos = cur->start + i;
    uint32_t h = glz_hash(px + i);
    uint32_t back = (uint32_t)pos - s->table[h];
    s->table[h] = (uint32_t)pos;
    if (back == 0 || back > pos - s->oldest) {
        return; /* never set, or from an image gone from the window */
    }
    uint64_t cand = pos - back;
    GlzMatch m = { 0 };
    if (cand >= cur->start) {
        size_t ref = (size_t)(cand - cur->start);
        if (back >= GLZ_MAX_OFFSET || px[ref] != px[i] || px[ref + 1] != px[i + 1]) {
            return;
        }
        m.len = 2 + lz_common_length(px + ref + 2, px + i + 2, n - i - 2);
        m.offset = back - 1;
    } else {
        const GlzImage *img = window_find(s->d, cand);
        if (!img || img->owner != owner || cur->id - img->id > GLZ_MAX_DISTANCE) {
            return;
        }
        size_t off = (size_t)(cand - img->start);
        /* Offset 0 is valid, but the reference never sends it: neither do we. */
        if (off == 0 || off + 2 > img->n || img->px[off] != px[i] ||
            img->px[off + 1] != px[i + 1]) {
            return;
        }
        size_t max = img->n - off - 2 < n - i - 2 ? img->n - off - 2 : n - i - 2;
        m.len = 2 + lz_common_length(img->px + off + 2, px + i + 2, max);
        m.offset = (uint32_t)off;
        m.distance = (uint32_t)(cur->id - img->id);
    }
    if (match_better(&m, best)) {
        *best = m;
    }
}

static uint8_t *glz_compress(GlzState *s, uint32_t owner, uint8_t *op)
{
    const uint32_t *px = s->cur->px;
    const size_t n = s->cur->n, w = s->width;
    size_t lit = 0; /* first pixel not yet coded */
    size_t i = 1;   /* pixel 0 can only be a literal */
    size_t misses = 0;

    while (i + 1 < n) {
        GlzMatch best = { 0 };
        if (px[i] == px[i - 1]) {
            GlzMatch run = { .len = lz_common_length(px + i - 1, px + i, n - i), .offset = 0 };
            if (match_better(&run, &best)) {
                best = run;
            }
        }
        if (i >= w && w < GLZ_MAX_OFFSET && px[i] == px[i - w]) {
            GlzMatch up = { .len = lz_common_length(px + i - w, px + i, n - i),
                            .offset = (uint32_t)w - 1 };
            if (match_better(&up, &best)) {
                best = up;
            }
        }
        if (s->prev && px[i] == s->prev->px[i]) {
            /* The same place in the last picture of this size: a tile
             * sent again with a few pixels changed. */
            GlzMatch same = { .len = lz_common_length(s->prev->px + i, px + i, n - i),
                              .offset = (uint32_t)i,
                              .distance = (uint32_t)(s->cur->id - s->prev->id) };
            if (match_better(&same, &best)) {
                best = same;
            }
        }
        hash_candidate(s, owner, i, &best);
        if (best.len == 0) {
            misses++;
            i += 1 + (misses >> GLZ_SKIP_SHIFT);
            continue;
        }
        misses = 0;
        op = lz_put_literals(op, px + lit, i - lit);
        op = glz_put_match(op, &best);
        i += best.len;
        lit = i;
        /* Let later searches find where this copy ended. */
        if (i + 1 < n) {
            s->table[glz_hash(px + i - 2)] = (uint32_t)(s->cur->start + i - 2);
        }
    }
    return lz_put_literals(op, px + lit, n - lit);
}

bool image_encode_glz(SpiceWireWriter *w, GlzDictionary *d, uint32_t owner, int zlib_level,
                      const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height,
                      bool *zlib_used)
{
    if (zlib_used) {
        *zlib_used = false;
    }
    if (!w || !d || !pixels || w->error || width == 0 || height == 0 || width > 65500 ||
        height > 65500) {
        return false;
    }
    int64_t abs_stride = stride < 0 ? -(int64_t)stride : stride;
    uint64_t n64 = (uint64_t)width * height;
    if (abs_stride < (int64_t)width * 4 || n64 > GLZ_MAX_IMAGE || n64 > d->limit) {
        return false;
    }
    size_t n = (size_t)n64;
    size_t bound = GLZ_HEADER_BYTES + lz_literal_bound(n) + 1;
    uint32_t *px = malloc(n * sizeof(uint32_t));
    size_t start = w->size;
    uint8_t *out = px ? spice_wire_reserve(w, 4 + bound) : NULL;
    if (!out) {
        free(px);
        w->size = start;
        return false;
    }
    lz_load_pixels(px, pixels, stride, width, height);

    pthread_mutex_lock(&d->lock);
    if (!window_make_room(d, (uint32_t)n)) {
        pthread_mutex_unlock(&d->lock);
        free(px);
        w->size = start;
        return false;
    }
    /* From here nothing fails: the id is used. */
    GlzImage *cur = &d->ring[(d->head + d->count) % d->cap];
    *cur = (GlzImage){
        .id = d->next_id++, .start = d->next_pos, .px = px, .n = (uint32_t)n, .owner = owner
    };
    d->next_pos += n;
    d->count++;
    d->pixels += n;
    const GlzImage *oldest = ring_at(d, 0);

    uint8_t *hdr = out + 4;
    lz_be32(hdr, LZ_MAGIC);
    lz_be32(hdr + 4, LZ_VERSION);
    hdr[8] = LZ_TYPE_RGB32 | GLZ_TYPE_TOP_DOWN;
    lz_be32(hdr + 9, width);
    lz_be32(hdr + 13, height);
    lz_be32(hdr + 17, width * 4);
    lz_be32(hdr + 21, (uint32_t)(cur->id >> 32));
    lz_be32(hdr + 25, (uint32_t)cur->id);
    lz_be32(hdr + 29, (uint32_t)(cur->id - oldest->id));

    GlzState s = { .d = d, .cur = cur, .oldest = oldest->start, .table = d->table, .width = width };
    for (uint32_t k = d->count - 1; k-- > 0 && k + GLZ_PREVIOUS_LOOKBACK >= d->count - 1;) {
        const GlzImage *img = ring_at(d, k);
        if (img->owner == owner && img->n == n && cur->id - img->id <= GLZ_MAX_DISTANCE &&
            n == (size_t)width * height) {
            s.prev = img;
            break;
        }
    }
    uint8_t *end = glz_compress(&s, owner, hdr + GLZ_HEADER_BYTES);
    pthread_mutex_unlock(&d->lock);

    size_t data_size = (size_t)(end - hdr);
    spice_wire_put_u32(out, (uint32_t)data_size);
    w->size = start + 4 + data_size;
#ifdef SPICE_CODEC_ZLIB
    if (zlib_level > 0 && zlib_used) {
        /* Deflated aside, then over the GLZ stream when smaller: no
         * failure is possible any more once the id is used. */
        uLongf got = compressBound((uLong)data_size);
        uint8_t *z = malloc(got);
        if (z &&
            compress2(z, &got, hdr, (uLong)data_size, zlib_level > 9 ? 9 : zlib_level) == Z_OK &&
            8 + got < 4 + data_size) {
            spice_wire_put_u32(out, (uint32_t)data_size);
            spice_wire_put_u32(out + 4, (uint32_t)got);
            memcpy(out + 8, z, got);
            w->size = start + 8 + got;
            *zlib_used = true;
        }
        free(z);
    }
#else
    (void)zlib_level;
#endif
    return true;
}
