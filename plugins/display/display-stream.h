/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * display-stream.h: video streams of one display output (see
 * display-stream.c): which boxes are redrawn like video, their MJPEG
 * frames and the rate control. Worker thread only.
 */
#ifndef SPICE_DISPLAY_STREAM_H_
#define SPICE_DISPLAY_STREAM_H_

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

#define STREAM_MAX 8 /* streams of one output at a time (ids 0..7) */
/* The share of a measured link the streams may use (the reference's). */
#define STREAM_LINK_SHARE 0.8

/* One encoded frame, shared by the clients it goes to. */
typedef struct StreamFrame {
    int ref;
    uint32_t mm_time;
    size_t size;
    const uint8_t *jpeg; /* the JFIF stream, inside buf */
    uint8_t *buf;        /* the encoder's output (free()) */
} StreamFrame;

typedef struct VideoStream {
    uint32_t id;
    pixman_box32_t box;
    uint32_t width, height;
    /* The part of the box the frames show (the clients are sent it as
     * STREAM_CLIP): the box, less what was drawn over it since, or the
     * guest's clip of the last frame. */
    pixman_region32_t clip;
    int64_t last_frame_us;
    /* rate control */
    unsigned level;         /* index into the quality ladder */
    unsigned frames;        /* sent (to any client) since the last decision */
    unsigned drops;         /* frames a client had no room for since then */
    int64_t decided_us;     /* last quality decision */
    int64_t quiet_since_us; /* no drops since */
    uint32_t latency_ms;    /* what the clients were asked for */
    int64_t budget;         /* bytes the link budget allows now (may go below 0) */
    int64_t budget_us;      /* when it was last topped up; 0: not yet */
    uint64_t bytes;         /* all frames' bytes, for the log */
    unsigned total_frames;
    unsigned skipped; /* frames the link budget held back */
} VideoStream;

typedef struct StreamSet StreamSet;

StreamSet *stream_set_new(void);
void stream_set_free(StreamSet *set);

/*
 * An opaque image was drawn over box, of the pixels in img (box-sized).
 * Returns the stream it is the next frame of: an existing one with this
 * box, or one started now (*started) because the box has been redrawn
 * like video: STREAM_START_FRAMES images within STREAM_DETECT_GAP_US of
 * each other, and with mode SPICE_STREAM_VIDEO_FILTER photographic ones
 * among them. NULL: not video (or no room for another stream).
 */
VideoStream *stream_set_image(StreamSet *set, const pixman_box32_t *box, pixman_image_t *img,
                              int mode, int64_t now_us, bool *started);

/* The stream whose box intersects box, or NULL. */
VideoStream *stream_set_overlapping(StreamSet *set, const pixman_box32_t *box);
VideoStream *stream_set_get(StreamSet *set, uint32_t id);
VideoStream *stream_set_find(StreamSet *set, const pixman_box32_t *box); /* of that box */
/* The first stream idle for longer than STREAM_TIMEOUT_US, or NULL. */
VideoStream *stream_set_expired(StreamSet *set, int64_t now_us);
/* Forget the stream (the caller told the clients). */
void stream_set_remove(StreamSet *set, VideoStream *st);
/* Each live stream in turn; stops when fn returns false. */
unsigned stream_set_count(const StreamSet *set);

/* The stream's clip becomes visible (inside the box; NULL: the whole
 * box), or loses `covered`: true if it changed. */
bool stream_clip_set(VideoStream *st, const pixman_region32_t *visible);
bool stream_clip_subtract(VideoStream *st, const pixman_region32_t *covered);
bool stream_clip_is_box(const VideoStream *st);
void stream_set_foreach(StreamSet *set, bool (*fn)(VideoStream *st, void *opaque), void *opaque);

/* The frame as MJPEG at the stream's current quality; NULL when the
 * encoder fails. */
StreamFrame *stream_encode_frame(VideoStream *st, pixman_image_t *img, uint32_t mm_time);
StreamFrame *stream_frame_ref(StreamFrame *f);
void stream_frame_unref(StreamFrame *f);

/* Rate control. A frame went out to a client (sent) or was replaced
 * before it could (dropped). */
void stream_count_frame(VideoStream *st, bool dropped, int64_t now_us);

/* The link budget: whether a frame may go now when the stream may use
 * bps bits a second (0: no limit); a frame held back counts as dropped
 * (the quality steps down). stream_budget_spend charges a sent frame. */
bool stream_budget_allows(VideoStream *st, uint64_t bps, int64_t now_us);
void stream_budget_spend(VideoStream *st, size_t bytes);

/* A client's STREAM_REPORT, already checked to be for st. Returns the
 * latency the client should get (ms), or 0 to leave it. */
uint32_t stream_client_report(VideoStream *st, uint32_t num_frames, uint32_t num_drops,
                              int32_t last_frame_delay, int64_t now_us);

/* The quality (1..100) frames are encoded at now. */
int stream_quality(const VideoStream *st);

#endif /* SPICE_DISPLAY_STREAM_H_ */
