/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-display.h: a QXL display device for host programs without a VM,
 * driving the server the way QEMU's qxl device and simple display do.
 *
 * One memslot group with one slot covering the whole address space makes
 * every QXLPHYSICAL a plain host pointer. The primary surface lives in
 * host memory; a synthetic desktop is drawn into it with real QXL drawing
 * commands, and an alpha cursor with cursor commands. Every command is
 * one allocation whose address is its release_info.id; it stays valid
 * until the server releases it (or the device is freed).
 *
 * Scenes (DEMO_SCENE_*, drawn by demo-scenes.c), and the QXL commands
 * each one uses. The desktop under them (16 colour bands and a taskbar)
 * is DRAW_FILL only.
 *
 *   static  two windows with title bars (DRAW_FILL + DRAW_COPY of the
 *           title text), a generated picture (DRAW_COPY, chunked
 *           bottom-up bitmap, cached), colour swatches (DRAW_FILL), one
 *           icon drawn five ways (DRAW_COPY flat, DRAW_COPY chunked with
 *           a padded stride, DRAW_OPAQUE with an XOR brush, DRAW_ROP3
 *           0x96, DRAW_FILL with ROPD XOR over a copy) and a row of ticks
 *           (one DRAW_FILL with a SPICE_CLIP_TYPE_RECTS clip)
 *   scroll  a terminal whose text moves up one line per frame: COPY_BITS,
 *           DRAW_FILL of the new line, DRAW_COPY of its text (a built-in
 *           5x7 font)
 *   window  a window moving through a lane above the taskbar: DRAW_FILL
 *           restores the background it uncovers, DRAW_FILL + DRAW_COPY
 *           (cached title and body bitmaps) draw it at its new place
 *   video   a 320x240 region of photo-like moving content: one DRAW_COPY
 *           per frame
 *   overlap (with video) a note window over part of the video at times
 *           (DRAW_FILL, DRAW_COPY of its text); while it shows, the video
 *           frames are DRAW_COPYs with a SPICE_CLIP_TYPE_RECTS clip
 *
 * All bitmaps are SPICE_BITMAP_FMT_32BIT. The terminal lines and video
 * frames cycle through eight layouts: QXL_BITMAP_DIRECT or a chain of
 * QXLDataChunks (each holding whole rows, as the reference server's
 * encoders need), top-down or bottom-up, packed or padded stride (with
 * the X bytes set). The cursor is a 32x32 SPICE_CURSOR_TYPE_ALPHA arrow
 * whose data spans two chunks.
 *
 * With frame_stamp set, every frame also ends with one DRAW_COPY of a
 * DEMO_STAMP_WIDTH x DEMO_STAMP_HEIGHT bitmap at the top-left corner:
 * DEMO_STAMP_BITS cells of DEMO_STAMP_CELL x DEMO_STAMP_CELL pixels, each
 * black (0) or white (1), the frame number's most significant bit in the
 * leftmost cell. A client reads the number of the latest frame it has
 * received from its own picture (tools/spice-bench). One opaque command
 * per frame means every state a client can see is a whole stamp. The
 * frame timer then runs even for the static scene alone, so that scene
 * measures the cost of one small change per frame.
 *
 * Alongside, the device keeps a reference framebuffer: the same
 * operations applied in plain C to a host buffer, so a client's picture
 * can be compared with it pixel for pixel. Content depends on frame
 * numbers only, never on time.
 */
#ifndef SPICE_TOOLS_DEMO_DISPLAY_H_
#define SPICE_TOOLS_DEMO_DISPLAY_H_

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <spice.h>

enum {
    DEMO_SCENE_STATIC = 1 << 0,
    DEMO_SCENE_SCROLL = 1 << 1,
    DEMO_SCENE_WINDOW = 1 << 2,
    DEMO_SCENE_VIDEO = 1 << 3,
    DEMO_SCENE_ALL = 0xf,
    /* Not in ALL: a whole-screen text console that rewrites counters in
     * place, one small image per counter (many small updates a frame). */
    DEMO_SCENE_CONSOLE = 1 << 4,
    /* Not in ALL, with video: a note over part of the video, shown for
     * frames 5-59 and from 75 on (before the video is a stream, then
     * while it is); meanwhile the video frames come clipped around it
     * (as an X server clips a window under another). */
    DEMO_SCENE_OVERLAP = 1 << 5,
};

#define DEMO_DISPLAY_MIN_SIDE 64
#define DEMO_DISPLAY_MAX_SIDE 8192
#define DEMO_DISPLAY_MAX_FPS  240

/* The frame stamp (frame_stamp): a row of cells at (0, 0). */
#define DEMO_STAMP_BITS   16
#define DEMO_STAMP_CELL   8
#define DEMO_STAMP_WIDTH  (DEMO_STAMP_BITS * DEMO_STAMP_CELL)
#define DEMO_STAMP_HEIGHT DEMO_STAMP_CELL

typedef struct DemoDisplayConfig {
    uint32_t width;
    uint32_t height;
    bool negative_stride;  /* bottom-up primary surface, as QEMU makes it */
    bool cursor;           /* send cursor commands */
    unsigned scenes;       /* DEMO_SCENE_* */
    unsigned fps;          /* frame timer rate, 1..DEMO_DISPLAY_MAX_FPS */
    int frames;            /* stop animating after this many frames; < 0: never */
    const char *dump_path; /* reference frame written here once stopped; may be NULL */
    bool frame_stamp;      /* draw the frame number at the top-left corner */
} DemoDisplayConfig;

/* "frame: ..." lines (without a newline); called on the host's thread. */
typedef void (*DemoDisplayEmit)(const char *line, void *opaque);

typedef struct DemoDisplay DemoDisplay;

/* "static,video" -> mask; unknown or empty names are errors. */
bool demo_display_parse_scenes(const char *list, unsigned *scenes, GError **error);
/* "static,scroll,window,video" for a mask; g_free it. */
char *demo_display_scene_names(unsigned scenes);
/* "1024x768" within DEMO_DISPLAY_MIN_SIDE..DEMO_DISPLAY_MAX_SIDE. */
bool demo_display_parse_size(const char *text, uint32_t *width, uint32_t *height, GError **error);

/* The config is copied. Nothing talks to a server until attach. */
DemoDisplay *demo_display_new(const DemoDisplayConfig *config, DemoDisplayEmit emit, void *opaque);
/* What to pass to spice_server_add_interface(). */
SpiceBaseInstance *demo_display_base(DemoDisplay *dd);
/* After spice_server_add_interface() succeeded: the host memslot and the
 * primary surface. */
void demo_display_attach(DemoDisplay *dd);
/* After spice_server_vm_start(): the first picture, the cursor and the
 * frame timer on the default main context. */
void demo_display_start(DemoDisplay *dd);

/* Pointer input: an absolute position (client mouse mode, tablet) or a
 * relative motion (server mouse mode) moves the cursor. */
void demo_display_pointer_position(DemoDisplay *dd, int x, int y);
void demo_display_pointer_motion(DemoDisplay *dd, int dx, int dy);
/* Hide the cursor if shown (QXL_CURSOR_HIDE), show it again if hidden. */
void demo_display_toggle_cursor(DemoDisplay *dd);
/* Destroy and re-create the primary surface as a guest's mode set does
 * (destroy primary, reset cursor, create primary, set the cursor), over
 * the same memory and picture; prints "frame: primary surface re-created". */
void demo_display_recreate_primary(DemoDisplay *dd);

/* Frames drawn so far (the latest frame number) and frame ticks skipped
 * because the server had not taken the previous frames' commands. */
void demo_display_frame_counts(DemoDisplay *dd, int *frames, unsigned *skipped);

/* Write the reference framebuffer as a binary PPM; any time. */
bool demo_display_dump(DemoDisplay *dd, const char *path, GError **error);
/* Stop animating, destroy the primary surface and remove the interface
 * (before spice_server_destroy()). */
void demo_display_detach(DemoDisplay *dd);
/* Frees commands the server still holds and all memory; after
 * spice_server_destroy(). NULL is fine. */
void demo_display_free(DemoDisplay *dd);

#endif /* SPICE_TOOLS_DEMO_DISPLAY_H_ */
