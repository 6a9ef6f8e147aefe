/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qxl-parse.h: reading QXL commands out of guest memory.
 *
 * Guest memory is hostile input. Every parser here translates each guest
 * address through the memory slots with the exact size it will read,
 * bounds every count and size before any arithmetic, follows data chunk
 * chains with a limit on their number and total size (chains that loop
 * hit the limit), and copies what it keeps (chunked data, paths, glyphs,
 * clip rects, cursor shapes) except flat bitmaps, which stay in guest
 * memory until the command is released.
 *
 * A command that fails to parse is reported with a static reason and must
 * still be released; the release pointer is filled in as soon as the
 * command header itself could be read.
 */
#ifndef SPICE_DISPLAY_QXL_PARSE_H_
#define SPICE_DISPLAY_QXL_PARSE_H_

#include <stdbool.h>
#include <stdint.h>

#include "drawable.h"
#include "memslot.h"

/* Limits (the protocol's history of CVEs is why each exists). */
#define QXL_MAX_DATA_SIZE    0x7fffffffu         /* any one image or buffer */
#define QXL_MAX_CHUNKS       (0x7ffffffu / 1024) /* chunks in one chain */
#define QXL_MAX_CLIP_RECTS   65536u
#define QXL_MAX_PATH_SIZE    (16u * 1024 * 1024)
#define QXL_MAX_CURSOR_SIDE  512u
#define QXL_MAX_MESSAGE_SIZE 1024u
#define QXL_MAX_MONITORS     64u

typedef struct ParseContext {
    const MemSlots *slots;
    uint32_t group;      /* memslot group of the command */
    uint32_t n_surfaces; /* surface ids must be below this */
    bool compat;         /* QXL_COMMAND_FLAG_COMPAT: old drawable layout */
    bool compat_16bpp;   /* QXL_COMMAND_FLAG_COMPAT_16BPP: colors are x555 */
} ParseContext;

/* Parsed drawable plus the memory it owns. */
typedef struct ParsedDrawable {
    Drawable d;
    struct Arena *arena;
} ParsedDrawable;

/* Parse a QXL_CMD_DRAW at addr. Returns a drawable (free with
 * parsed_drawable_free) or NULL with *why; *release is set whenever the
 * command header was readable, so the caller can release it. */
ParsedDrawable *qxl_parse_drawable(const ParseContext *ctx, QXLPHYSICAL addr,
                                   QXLReleaseInfo **release, const char **why);
void parsed_drawable_free(ParsedDrawable *p);

typedef struct ParsedSurfaceCmd {
    QXLReleaseInfo *release;
    uint32_t surface_id;
    uint8_t type; /* QXL_SURFACE_CMD_CREATE / DESTROY */
    uint32_t flags;
    uint32_t format; /* CREATE: SPICE_SURFACE_FMT_* */
    uint32_t width;
    uint32_t height;
    int32_t stride; /* negative: bottom-up */
    uint8_t *row0;  /* CREATE: the top row (memory validated for all rows) */
} ParsedSurfaceCmd;

bool qxl_parse_surface_cmd(const ParseContext *ctx, QXLPHYSICAL addr, ParsedSurfaceCmd *out,
                           const char **why);

/* Checks surface parameters (also used for the primary surface). On
 * success *row0 is the top row's address inside guest memory. */
bool qxl_check_surface(const ParseContext *ctx, uint32_t format, uint32_t width, uint32_t height,
                       int32_t stride, QXLPHYSICAL mem, uint8_t **row0, const char **why);

/* Bits per pixel of a SPICE_SURFACE_FMT_*, 0 if unknown. */
unsigned qxl_surface_format_bpp(uint32_t format);

typedef struct ParsedCursorCmd {
    QXLReleaseInfo *release;
    uint8_t type; /* QXL_CURSOR_SET / MOVE / HIDE / TRAIL */
    int16_t x;
    int16_t y;
    uint8_t visible;
    uint16_t trail_length;
    uint16_t trail_frequency;
    bool has_shape;
    uint64_t unique;
    uint16_t shape_type; /* SPICE_CURSOR_TYPE_* */
    uint16_t width;
    uint16_t height;
    uint16_t hot_x;
    uint16_t hot_y;
    uint32_t shape_size;
    uint8_t *shape; /* g_malloc'ed copy; parsed_cursor_clear frees it */
} ParsedCursorCmd;

bool qxl_parse_cursor_cmd(const ParseContext *ctx, QXLPHYSICAL addr, ParsedCursorCmd *out,
                          const char **why);
void parsed_cursor_clear(ParsedCursorCmd *c);

typedef struct ParsedUpdateCmd {
    QXLReleaseInfo *release;
    pixman_box32_t area;
    uint32_t update_id;
    uint32_t surface_id;
} ParsedUpdateCmd;

bool qxl_parse_update_cmd(const ParseContext *ctx, QXLPHYSICAL addr, ParsedUpdateCmd *out,
                          const char **why);

/* The text of a QXL_CMD_MESSAGE (at most QXL_MAX_MESSAGE_SIZE bytes, NUL
 * terminated, printable); *release as above. */
bool qxl_parse_message(const ParseContext *ctx, QXLPHYSICAL addr, QXLReleaseInfo **release,
                       char *text, size_t text_size, const char **why);

typedef struct ParsedMonitors {
    uint16_t count;
    uint16_t max_allowed;
    QXLHead heads[QXL_MAX_MONITORS];
} ParsedMonitors;

/* A QXLMonitorsConfig; count is read once (CVE-2015-3247) and clipped to
 * max_heads. */
bool qxl_parse_monitors_config(const ParseContext *ctx, QXLPHYSICAL addr, uint32_t max_heads,
                               ParsedMonitors *out, const char **why);

#endif /* SPICE_DISPLAY_QXL_PARSE_H_ */
