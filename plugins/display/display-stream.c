/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * display-stream.c: video streams.
 *
 * A box the guest keeps filling with whole opaque images is video: the
 * reference's rule, which we keep. A candidate box becomes a stream once
 * STREAM_START_FRAMES images covered exactly it, each within
 * STREAM_DETECT_GAP_US of the previous one, the box is at least
 * STREAM_MIN_PIXELS and, when streaming is "filter", at least a fifth of
 * those images looked photographic (image_is_photographic; "all" skips
 * that test). Its frames then go to the clients as MJPEG (one JPEG per
 * frame, libjpeg-turbo) instead of lossless images. A stream ends when
 * no frame came for STREAM_TIMEOUT_US, when anything else draws over its
 * box, and with its surface; the caller then sends the box again
 * losslessly.
 *
 * Rate control: the quality steps down a ladder when frames are dropped
 * (a client had no room for a frame before the next one replaced it, or
 * its STREAM_REPORT says frames came late) and back up after a quiet
 * while; late frames also ask the clients for more latency (the
 * "spice.mm-latency" topic, which main or playback turn into the
 * client's clock). Where the main channel's network test measured the
 * link, the streams share STREAM_LINK_SHARE of it (the reference's
 * channel capacity): a token bucket holding STREAM_BURST_US of that
 * rate holds frames back when they would exceed it, so a slow link
 * gets fewer, smaller frames instead of a queue that grows in the
 * socket (seconds of lag) until frames are dropped there.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <spice/enums.h>

#include "display.h"
#include "display-stream.h"
#include "image-codec.h"

#define STREAM_START_FRAMES  20
#define STREAM_DETECT_GAP_US 200000
#define STREAM_TIMEOUT_US    1000000
#define STREAM_MIN_PIXELS    (96 * 96)
#define STREAM_CANDIDATES    8
#define STREAM_DECIDE_US     1000000 /* quality decisions at most this often */
#define STREAM_RAISE_US      3000000 /* quiet time before a step up */
#define STREAM_MAX_LATENCY   2000    /* ms */
#define STREAM_BURST_US      250000  /* the link budget's bucket */

static const int quality_ladder[] = { 25, 35, 45, 55, 65, 75, 85 };
#define LADDER_START 5 /* 75 */

typedef struct Candidate {
    pixman_box32_t box;
    unsigned frames;
    unsigned photo_frames;
    int64_t last_us;
} Candidate;

struct StreamSet {
    VideoStream *streams[STREAM_MAX];
    Candidate cand[STREAM_CANDIDATES];
};

StreamSet *stream_set_new(void)
{
    return g_new0(StreamSet, 1);
}

void stream_set_free(StreamSet *set)
{
    if (set) {
        for (int i = 0; i < STREAM_MAX; i++) {
            g_free(set->streams[i]);
        }
        g_free(set);
    }
}

static bool box_equal(const pixman_box32_t *a, const pixman_box32_t *b)
{
    return a->x1 == b->x1 && a->y1 == b->y1 && a->x2 == b->x2 && a->y2 == b->y2;
}

static bool box_overlap(const pixman_box32_t *a, const pixman_box32_t *b)
{
    return a->x1 < b->x2 && b->x1 < a->x2 && a->y1 < b->y2 && b->y1 < a->y2;
}

static VideoStream *stream_start(StreamSet *set, const pixman_box32_t *box, int64_t now_us)
{
    for (uint32_t id = 0; id < STREAM_MAX; id++) {
        if (!set->streams[id]) {
            VideoStream *st = g_new0(VideoStream, 1);
            st->id = id;
            st->box = *box;
            st->width = (uint32_t)(box->x2 - box->x1);
            st->height = (uint32_t)(box->y2 - box->y1);
            pixman_region32_init_rect(&st->clip, box->x1, box->y1, st->width, st->height);
            st->last_frame_us = now_us;
            st->level = LADDER_START;
            st->decided_us = now_us;
            st->quiet_since_us = now_us;
            set->streams[id] = st;
            return st;
        }
    }
    return NULL;
}

VideoStream *stream_set_image(StreamSet *set, const pixman_box32_t *box, pixman_image_t *img,
                              int mode, int64_t now_us, bool *started)
{
    *started = false;
    for (int i = 0; i < STREAM_MAX; i++) {
        VideoStream *st = set->streams[i];
        if (st && box_equal(&st->box, box)) {
            st->last_frame_us = now_us;
            return st;
        }
    }
    uint64_t pixels = (uint64_t)(box->x2 - box->x1) * (uint64_t)(box->y2 - box->y1);
    if (mode == SPICE_STREAM_VIDEO_OFF || pixels < STREAM_MIN_PIXELS) {
        return NULL;
    }
    Candidate *c = NULL, *oldest = &set->cand[0];
    for (int i = 0; i < STREAM_CANDIDATES; i++) {
        if (set->cand[i].frames && box_equal(&set->cand[i].box, box)) {
            c = &set->cand[i];
            break;
        }
        if (set->cand[i].last_us < oldest->last_us) {
            oldest = &set->cand[i];
        }
    }
    if (!c || now_us - c->last_us > STREAM_DETECT_GAP_US) {
        c = c ? c : oldest;
        *c = (Candidate){ .box = *box };
    }
    c->frames++;
    c->last_us = now_us;
    if (mode == SPICE_STREAM_VIDEO_FILTER) {
        c->photo_frames += image_is_photographic(
            (const uint8_t *)pixman_image_get_data(img), pixman_image_get_stride(img),
            (uint32_t)pixman_image_get_width(img), (uint32_t)pixman_image_get_height(img));
    } else {
        c->photo_frames++;
    }
    if (c->frames < STREAM_START_FRAMES || c->photo_frames * 5 < c->frames) {
        return NULL;
    }
    VideoStream *st = stream_start(set, box, now_us);
    if (st) {
        *c = (Candidate){ 0 };
        *started = true;
    }
    return st;
}

VideoStream *stream_set_overlapping(StreamSet *set, const pixman_box32_t *box)
{
    for (int i = 0; i < STREAM_MAX; i++) {
        if (set->streams[i] && box_overlap(&set->streams[i]->box, box)) {
            return set->streams[i];
        }
    }
    return NULL;
}

VideoStream *stream_set_find(StreamSet *set, const pixman_box32_t *box)
{
    for (int i = 0; i < STREAM_MAX; i++) {
        if (set->streams[i] && box_equal(&set->streams[i]->box, box)) {
            return set->streams[i];
        }
    }
    return NULL;
}

VideoStream *stream_set_get(StreamSet *set, uint32_t id)
{
    return id < STREAM_MAX ? set->streams[id] : NULL;
}

VideoStream *stream_set_expired(StreamSet *set, int64_t now_us)
{
    for (int i = 0; i < STREAM_MAX; i++) {
        if (set->streams[i] && now_us - set->streams[i]->last_frame_us > STREAM_TIMEOUT_US) {
            return set->streams[i];
        }
    }
    return NULL;
}

void stream_set_remove(StreamSet *set, VideoStream *st)
{
    set->streams[st->id] = NULL;
    pixman_region32_fini(&st->clip);
    g_free(st);
}

static bool clip_replace(VideoStream *st, pixman_region32_t *next)
{
    bool changed = !pixman_region32_equal(&st->clip, next);
    if (changed) {
        pixman_region32_copy(&st->clip, next);
    }
    pixman_region32_fini(next);
    return changed;
}

bool stream_clip_set(VideoStream *st, const pixman_region32_t *visible)
{
    pixman_region32_t next;
    pixman_region32_init_rect(&next, st->box.x1, st->box.y1, st->width, st->height);
    if (visible) {
        pixman_region32_intersect(&next, &next, (pixman_region32_t *)visible);
    }
    return clip_replace(st, &next);
}

bool stream_clip_subtract(VideoStream *st, const pixman_region32_t *covered)
{
    pixman_region32_t next;
    pixman_region32_init(&next);
    pixman_region32_subtract(&next, &st->clip, (pixman_region32_t *)covered);
    return clip_replace(st, &next);
}

bool stream_clip_is_box(const VideoStream *st)
{
    return pixman_region32_n_rects((pixman_region32_t *)&st->clip) == 1 &&
           box_equal(pixman_region32_extents((pixman_region32_t *)&st->clip), &st->box);
}

unsigned stream_set_count(const StreamSet *set)
{
    unsigned n = 0;
    for (int i = 0; i < STREAM_MAX; i++) {
        n += set->streams[i] != NULL;
    }
    return n;
}

void stream_set_foreach(StreamSet *set, bool (*fn)(VideoStream *st, void *opaque), void *opaque)
{
    for (int i = 0; i < STREAM_MAX; i++) {
        if (set->streams[i] && !fn(set->streams[i], opaque)) {
            return;
        }
    }
}

int stream_quality(const VideoStream *st)
{
    return quality_ladder[st->level];
}

StreamFrame *stream_encode_frame(VideoStream *st, pixman_image_t *img, uint32_t mm_time)
{
#ifdef SPICE_CODEC_JPEG
    SpiceWireWriter w;
    spice_wire_writer_init(&w, (size_t)st->width * st->height / 4);
    if (!image_encode_jpeg(&w, (const uint8_t *)pixman_image_get_data(img),
                           pixman_image_get_stride(img), st->width, st->height,
                           stream_quality(st))) {
        spice_wire_writer_clear(&w);
        return NULL;
    }
    size_t size;
    uint8_t *data = spice_wire_writer_steal(&w, &size);
    if (!data || size < 4) {
        free(data);
        return NULL;
    }
    /* The image body is u32 size then the JFIF stream: a frame is the
     * stream alone. */
    StreamFrame *f = g_new0(StreamFrame, 1);
    f->ref = 1;
    f->mm_time = mm_time;
    f->size = size - 4;
    f->buf = data;
    f->jpeg = data + 4;
    st->bytes += f->size;
    st->total_frames++;
    return f;
#else
    (void)st, (void)img, (void)mm_time;
    return NULL;
#endif
}

StreamFrame *stream_frame_ref(StreamFrame *f)
{
    f->ref++;
    return f;
}

void stream_frame_unref(StreamFrame *f)
{
    if (f && --f->ref == 0) {
        free(f->buf);
        g_free(f);
    }
}

/* At most once a STREAM_DECIDE_US: a step down when more than one frame
 * in ten was dropped, a step up after STREAM_RAISE_US without drops. */
static void decide(VideoStream *st, int64_t now_us)
{
    if (now_us - st->decided_us < STREAM_DECIDE_US) {
        return;
    }
    unsigned total = st->frames + st->drops;
    if (st->drops * 10 > total) {
        if (st->level > 0) {
            st->level--;
        }
        st->quiet_since_us = now_us;
    } else if (st->drops == 0) {
        if (now_us - st->quiet_since_us >= STREAM_RAISE_US &&
            st->level + 1 < G_N_ELEMENTS(quality_ladder)) {
            st->level++;
            st->quiet_since_us = now_us;
        }
    } else {
        st->quiet_since_us = now_us;
    }
    st->decided_us = now_us;
    st->frames = 0;
    st->drops = 0;
}

void stream_count_frame(VideoStream *st, bool dropped, int64_t now_us)
{
    if (dropped) {
        st->drops++;
    } else {
        st->frames++;
    }
    decide(st, now_us);
}

bool stream_budget_allows(VideoStream *st, uint64_t bps, int64_t now_us)
{
    if (bps == 0) {
        return true;
    }
    int64_t cap = (int64_t)(bps / 8 * STREAM_BURST_US / 1000000);
    if (st->budget_us == 0) {
        st->budget = cap; /* the first frame goes at once */
    } else {
        int64_t dt = MIN(now_us - st->budget_us, (int64_t)STREAM_BURST_US);
        st->budget = MIN(cap, st->budget + (int64_t)(bps / 8) * MAX(dt, 0) / 1000000);
    }
    st->budget_us = now_us;
    if (st->budget > 0) {
        return true;
    }
    st->skipped++;
    stream_count_frame(st, true, now_us);
    return false;
}

void stream_budget_spend(VideoStream *st, size_t bytes)
{
    st->budget -= (int64_t)bytes;
}

uint32_t stream_client_report(VideoStream *st, uint32_t num_frames, uint32_t num_drops,
                              int32_t last_frame_delay, int64_t now_us)
{
    /* Late frames the client dropped count as ours. */
    st->drops += num_drops;
    decide(st, now_us);
    if (last_frame_delay >= 0 && num_drops * 10 <= num_frames) {
        return 0;
    }
    /* Frames arrive late: ask for the lateness plus a margin more. */
    uint32_t late = last_frame_delay < 0 ? (uint32_t)(-(int64_t)last_frame_delay) : 0;
    uint32_t want = (st->latency_ms ? st->latency_ms : 400) + late + 100;
    want = want > STREAM_MAX_LATENCY ? STREAM_MAX_LATENCY : want;
    if (want <= st->latency_ms) {
        return 0;
    }
    st->latency_ms = want;
    return want;
}
