/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-qxl.c: QXL commands from hostile guest memory, parsed and, when
 * they parse, rendered.
 *
 * The input's first byte picks the command kind and the compatibility
 * flags; the rest is copied to the start of a 64 KiB "guest RAM" mapped
 * by one memory slot at guest address 0 (no id or generation bits), so
 * guest pointers in the input are plain offsets. The command is at offset
 * 0. Drawables that parse are rendered onto small surfaces, so the
 * renderer sees every shape of data the parser accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "canvas.h"
#include "memslot.h"
#include "qxl-parse.h"

#define RAM_SIZE   65536
#define N_SURFACES 4
#define SIDE       64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static MemSlots slots;
static uint32_t pixels[N_SURFACES][SIDE * SIDE];
static Canvas *canvases[N_SURFACES];

static Canvas *lookup(void *opaque, uint32_t id)
{
    (void)opaque;
    return id < N_SURFACES ? canvases[id] : NULL;
}

static void setup(void)
{
    ram = g_malloc0(RAM_SIZE);
    const char *why;
    if (!memslots_init(&slots, 1, 1, 0, 0, &why) ||
        !memslots_add(&slots, 0, 0, 0, (uintptr_t)ram, (uintptr_t)ram + RAM_SIZE, (uintptr_t)ram,
                      &why)) {
        abort();
    }
    static const uint32_t formats[N_SURFACES] = { SPICE_SURFACE_FMT_32_xRGB,
                                                  SPICE_SURFACE_FMT_32_ARGB,
                                                  SPICE_SURFACE_FMT_16_565, SPICE_SURFACE_FMT_8_A };
    for (int i = 0; i < N_SURFACES; i++) {
        /* Surface 2 is bottom-up, like QEMU's primary. */
        int32_t stride = i == 2 ? -SIDE * 4 : SIDE * 4;
        uint8_t *row0 = (uint8_t *)pixels[i] + (stride < 0 ? SIDE * 4 * (SIDE - 1) : 0);
        canvases[i] = canvas_new(formats[i], SIDE, SIDE, stride, row0);
        if (!canvases[i]) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram) {
        setup();
    }
    if (size < 1) {
        return 0;
    }
    memset(ram, 0, RAM_SIZE);
    memcpy(ram, data + 1, MIN(size - 1, (size_t)RAM_SIZE));
    ParseContext ctx = {
        .slots = &slots,
        .group = 0,
        .n_surfaces = N_SURFACES,
        .compat = (data[0] & 0x10) != 0,
        .compat_16bpp = (data[0] & 0x20) != 0,
    };
    const char *why;
    switch (data[0] % 6) {
    case 0: {
        QXLReleaseInfo *rel;
        ParsedDrawable *pd = qxl_parse_drawable(&ctx, 0, &rel, &why);
        if (pd) {
            uint32_t dest = pd->d.surface_id;
            if (dest < N_SURFACES) {
                (void)canvas_draw(canvases[dest], &pd->d, lookup, NULL, &why);
            }
            parsed_drawable_free(pd);
        }
        break;
    }
    case 1: {
        ParsedSurfaceCmd s;
        (void)qxl_parse_surface_cmd(&ctx, 0, &s, &why);
        break;
    }
    case 2: {
        ParsedCursorCmd c;
        (void)qxl_parse_cursor_cmd(&ctx, 0, &c, &why);
        parsed_cursor_clear(&c);
        break;
    }
    case 3: {
        ParsedUpdateCmd u;
        (void)qxl_parse_update_cmd(&ctx, 0, &u, &why);
        break;
    }
    case 4: {
        QXLReleaseInfo *rel;
        char text[QXL_MAX_MESSAGE_SIZE + 1];
        (void)qxl_parse_message(&ctx, 0, &rel, text, sizeof(text), &why);
        break;
    }
    default: {
        ParsedMonitors m;
        (void)qxl_parse_monitors_config(&ctx, 0, 16, &m, &why);
        break;
    }
    }
    return 0;
}
