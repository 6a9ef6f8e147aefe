/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-scenes.c: the synthetic desktop of demo-display.h: layout, the
 * scenes, a 5x7 font and the generated pictures. Everything here depends
 * on frame numbers only, so a frame is the same on every run.
 */
#include "demo-display-private.h"

#include <stdio.h>
#include <string.h>

#define VIDEO_W   320
#define VIDEO_H   240
#define PICTURE_W 320
#define PICTURE_H 240
#define ICON_SIDE 48
#define MOVER_W   200
#define MOVER_H   110
#define TASKBAR_H 28
#define TITLE_H   19 /* title bar plus the border above it */
#define CELL_W    6
#define CELL_H    10
#define N_BANDS   16

#define UNIQUE_PICTURE (DEMO_UNIQUE_CACHED + 1)
#define UNIQUE_M_TITLE (DEMO_UNIQUE_CACHED + 2)
#define UNIQUE_M_BODY  (DEMO_UNIQUE_CACHED + 3)

#define C_BORDER    0x1c232cu
#define C_TITLE     0x2f5d9eu
#define C_TITLE_ALT 0x6b4f8cu
#define C_CLIENT    0xd6dadfu
#define C_TASKBAR   0x181c22u
#define C_BUTTON    0x3c7a46u
#define C_TERM_BG   0x0e1216u
#define C_TERM_FG   0x7cfc9au
#define C_WHITE     0xffffffu

typedef struct Layout {
    Rect desk, taskbar, button;
    Rect picture_win, swatch_win, term_win, video_win, lane;
    Rect term_text; /* whole text lines only */
    int term_rows, term_cols;
    Rect video;
} Layout;

struct DemoScenes {
    DemoDisplay *dd;
    int w, h;
    unsigned scenes;
    Layout lay;
    Rect mover; /* where the moving window is now */
    Image picture, icon, mover_title, mover_body;
};

/* ---- arithmetic ---------------------------------------------------------------- */

static int16_t sin_table[1024]; /* 127 * sin(2 pi i / 1024) */

static void sin_init(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        /* The sine recurrence: no libm, same values everywhere. */
        const double two_cos = 2 * 0.99998117528260111; /* 2 cos(2 pi / 1024) */
        double s0 = 0.0, s1 = 0.0061358846491544753;    /* sin(2 pi / 1024) */
        for (int i = 0; i < 1024; i++) {
            double v = 127.0 * s0;
            sin_table[i] = (int16_t)(v >= 0 ? v + 0.5 : v - 0.5);
            double s2 = two_cos * s1 - s0;
            s0 = s1;
            s1 = s2;
        }
        g_once_init_leave(&done, 1);
    }
}

static int isin(int i)
{
    return sin_table[i & 1023];
}

static uint32_t hash3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t h = a * 0x9e3779b1u ^ b * 0x85ebca77u ^ c * 0xc2b2ae3du;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    h *= 0x297a2d39u;
    h ^= h >> 15;
    return h;
}

static int clamp255(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

static uint32_t rgb(int r, int g, int b)
{
    return (uint32_t)clamp255(r) << 16 | (uint32_t)clamp255(g) << 8 | (uint32_t)clamp255(b);
}

static uint32_t mix(uint32_t a, uint32_t b, int t, int n)
{
    int r = (int)(a >> 16 & 0xff) + ((int)(b >> 16 & 0xff) - (int)(a >> 16 & 0xff)) * t / n;
    int g = (int)(a >> 8 & 0xff) + ((int)(b >> 8 & 0xff) - (int)(a >> 8 & 0xff)) * t / n;
    int bl = (int)(a & 0xff) + ((int)(b & 0xff) - (int)(a & 0xff)) * t / n;
    return rgb(r, g, bl);
}

static int pingpong(int t, int range)
{
    if (range <= 0) {
        return 0;
    }
    int p = t % (2 * range);
    return p < range ? p : 2 * range - p;
}

/* ---- a 5x7 font ------------------------------------------------------------------ */

typedef struct Glyph {
    char c;
    uint8_t rows[7]; /* bit 4 is the leftmost column */
} Glyph;

static const Glyph font[] = {
    { ' ', { 0, 0, 0, 0, 0, 0, 0 } },
    { 'A', { 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 } },
    { 'B', { 0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e } },
    { 'C', { 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e } },
    { 'D', { 0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c } },
    { 'E', { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f } },
    { 'F', { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10 } },
    { 'G', { 0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f } },
    { 'H', { 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 } },
    { 'I', { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e } },
    { 'J', { 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c } },
    { 'K', { 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11 } },
    { 'L', { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f } },
    { 'M', { 0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11 } },
    { 'N', { 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11 } },
    { 'O', { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e } },
    { 'P', { 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10 } },
    { 'Q', { 0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d } },
    { 'R', { 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11 } },
    { 'S', { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e } },
    { 'T', { 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 } },
    { 'U', { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e } },
    { 'V', { 0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04 } },
    { 'W', { 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a } },
    { 'X', { 0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11 } },
    { 'Y', { 0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04 } },
    { 'Z', { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f } },
    { '0', { 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e } },
    { '1', { 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e } },
    { '2', { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f } },
    { '3', { 0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e } },
    { '4', { 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02 } },
    { '5', { 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e } },
    { '6', { 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e } },
    { '7', { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 } },
    { '8', { 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e } },
    { '9', { 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c } },
    { '.', { 0, 0, 0, 0, 0, 0x0c, 0x0c } },
    { ',', { 0, 0, 0, 0, 0x0c, 0x04, 0x08 } },
    { ':', { 0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0 } },
    { ';', { 0, 0x0c, 0x0c, 0, 0x0c, 0x04, 0x08 } },
    { '-', { 0, 0, 0, 0x1f, 0, 0, 0 } },
    { '_', { 0, 0, 0, 0, 0, 0, 0x1f } },
    { '/', { 0, 0x01, 0x02, 0x04, 0x08, 0x10, 0 } },
    { '[', { 0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e } },
    { ']', { 0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e } },
    { '(', { 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02 } },
    { ')', { 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08 } },
    { '=', { 0, 0, 0x1f, 0, 0x1f, 0, 0 } },
    { '+', { 0, 0x04, 0x04, 0x1f, 0x04, 0x04, 0 } },
    { '*', { 0, 0x04, 0x15, 0x0e, 0x15, 0x04, 0 } },
    { '#', { 0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a } },
    { '!', { 0x04, 0x04, 0x04, 0x04, 0, 0, 0x04 } },
    { '?', { 0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04 } },
    { '<', { 0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02 } },
    { '>', { 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08 } },
    { '%', { 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03 } },
    { '\'', { 0x0c, 0x04, 0x08, 0, 0, 0, 0 } },
    { '"', { 0x0a, 0x0a, 0x0a, 0, 0, 0, 0 } },
    { '|', { 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 } },
    { '@', { 0x0e, 0x11, 0x01, 0x0d, 0x15, 0x15, 0x0e } },
    { '&', { 0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d } },
};

static const uint8_t *glyph_rows(char c)
{
    c = g_ascii_toupper(c);
    for (size_t i = 0; i < G_N_ELEMENTS(font); i++) {
        if (font[i].c == c) {
            return font[i].rows;
        }
    }
    return glyph_rows('?');
}

/* Text into an image: CELL_W x CELL_H cells, glyphs two rows down. */
static void text_draw(Image *img, int x, int y, const char *s, uint32_t fg, int scale)
{
    for (int i = 0; s[i]; i++) {
        const uint8_t *rows = glyph_rows(s[i]);
        for (int gy = 0; gy < 7 * scale; gy++) {
            for (int gx = 0; gx < 5 * scale; gx++) {
                if (!(rows[gy / scale] & (0x10 >> (gx / scale)))) {
                    continue;
                }
                int px = x + (i * CELL_W) * scale + gx, py = y + 2 * scale + gy;
                if (px >= 0 && py >= 0 && px < img->w && py < img->h) {
                    img->px[py * img->w + px] = fg;
                }
            }
        }
    }
}

static Image text_image(const char *s, uint32_t fg, uint32_t bg)
{
    int n = MAX(1, (int)strlen(s));
    Image img = image_new(n * CELL_W, CELL_H);
    for (int i = 0; i < img.w * img.h; i++) {
        img.px[i] = bg;
    }
    text_draw(&img, 0, 0, s, fg, 1);
    return img;
}

/* ---- generated pictures ---------------------------------------------------------- */

/* A landscape: sky, sun, two mountain ranges, a lake reflecting them. */
static void gen_picture(Image *img)
{
    const int lake = img->h * 4 / 5;
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++) {
            int sy = y < lake ? y : 2 * lake - y; /* the lake mirrors */
            int r = 40 + sy * 130 / lake, g = 90 + sy * 110 / lake, b = 170 + sy * 70 / lake;
            int dx = x - img->w * 3 / 4, dy = sy - img->h / 4;
            int d2 = dx * dx + dy * dy;
            if (d2 < 784) {
                r = 255, g = 228, b = 150;
            } else if (d2 < 2500) {
                int k = (2500 - d2) * 128 / 1716;
                r += (255 - r) * k / 256, g += (210 - g) * k / 256, b += (140 - b) * k / 256;
            }
            int ridge1 = img->h / 2 + isin(x * 5) / 6 + isin(x * 13 + 200) / 12;
            int ridge2 = img->h * 2 / 3 + isin(x * 7 + 500) / 8 + isin(x * 19) / 16;
            if (sy > ridge2) {
                r = 46 - (sy - ridge2) / 2, g = 92 - (sy - ridge2) / 3, b = 58 - (sy - ridge2) / 4;
            } else if (sy > ridge1) {
                int d = sy - ridge1;
                r = 96 - d / 2, g = 104 - d / 2, b = 128 - d / 3;
                if (d < 6 && ridge1 < img->h / 2) {
                    r = g = b = 235; /* snow on the high peaks */
                }
            }
            if (y >= lake) {
                r = r * 3 / 4, g = g * 3 / 4, b = b * 4 / 5 + 20;
                int ripple = isin(y * 61 + x * 3) / 10;
                r += ripple, g += ripple, b += ripple;
            }
            int n = (int)(hash3((uint32_t)x, (uint32_t)y, 7) & 7) - 4;
            img->px[y * img->w + x] = rgb(r + n, g + n, b + n);
        }
    }
}

static void gen_icon(Image *img)
{
    int c = img->w / 2;
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++) {
            int dx = x - c, dy = y - c, d2 = dx * dx + dy * dy;
            uint32_t v = C_CLIENT;
            if (d2 < 20 * 20) {
                v = mix(0xffd040, 0xd02020, d2, 400);
            } else if (d2 < 22 * 22) {
                v = 0x401010;
            }
            img->px[y * img->w + x] = v;
        }
    }
}

static void gen_mover_body(Image *img)
{
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++) {
            bool stripe = ((x + y) / 10) & 1;
            img->px[y * img->w + x] = stripe ? mix(0x3060a0, 0x60a0d0, y, img->h) : 0xe8eef4;
        }
    }
    const char *s = "MOVING";
    int tw = (int)strlen(s) * CELL_W * 2;
    text_draw(img, (img->w - tw) / 2 + 2, img->h / 2 - 10 + 2, s, 0x202020, 2);
    text_draw(img, (img->w - tw) / 2, img->h / 2 - 10, s, 0xffc020, 2);
}

/* Photo-like moving content: smooth plasma, a drifting light, grain. */
static void gen_video(Image *img, int f)
{
    int bx = img->w / 2 + isin(f * 7) * (img->w / 3) / 127;
    int by = img->h / 2 + isin(f * 11 + 256) * (img->h / 3) / 127;
    for (int y = 0; y < img->h; y++) {
        int sy = isin(y * 5 - f * 4);
        for (int x = 0; x < img->w; x++) {
            int v = isin(x * 4 + f * 6) + sy + isin((x + y) * 3 + f * 9);
            int r = 120 + v / 3, g = 100 + isin(v + f * 4) / 2, b = 140 - v / 4;
            int dx = x - bx, dy = y - by, d2 = dx * dx + dy * dy;
            if (d2 < 3600) {
                int k = (3600 - d2) * 110 / 3600;
                r += k, g += k, b += k / 2;
            }
            int n = (int)(hash3((uint32_t)x, (uint32_t)y, (uint32_t)f) & 15) - 8;
            img->px[y * img->w + x] = rgb(r + n, g + n, b + n);
        }
    }
}

static bool in_arrow(int x, int y)
{
    static const double pts[][2] = { { 0, 0 },   { 0, 21 }, { 5, 16 }, { 9, 25 },
                                     { 12, 24 }, { 8, 15 }, { 15, 15 } };
    const int n = G_N_ELEMENTS(pts);
    /* Even-odd rule at the pixel centre, one row lower so that the tip,
     * on the edge at row 0, lands on pixel (0, 0). */
    double px = x + 0.5, py = y + 1.5;
    bool in = false;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        double xi = pts[i][0], yi = pts[i][1], xj = pts[j][0], yj = pts[j][1];
        if ((yi > py) != (yj > py) && px < xi + (xj - xi) * (py - yi) / (yj - yi)) {
            in = !in;
        }
    }
    return in;
}

/* The classic arrow, white with a black outline and a soft shadow;
 * premultiplied ARGB as SPICE_CURSOR_TYPE_ALPHA wants. */
void demo_scenes_cursor_shape(Image *img)
{
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++) {
            uint32_t v = 0;
            if (in_arrow(x, y)) {
                bool edge = !in_arrow(x - 1, y) || !in_arrow(x + 1, y) || !in_arrow(x, y - 1) ||
                            !in_arrow(x, y + 1) || x == 0 || y == 0;
                v = edge ? 0xff000000u : 0xffffffffu;
            } else if (in_arrow(x - 2, y - 2)) {
                v = 0x60000000u;
            }
            img->px[y * img->w + x] = v;
        }
    }
}

/* ---- desktop pieces -------------------------------------------------------------- */

static uint32_t band_color(int b)
{
    return mix(0x1d4368, 0x3f8c8a, b, N_BANDS - 1);
}

static int band_top(const Layout *l, int b)
{
    return l->desk.y1 + (l->desk.y2 - l->desk.y1) * b / N_BANDS;
}

/* Repaints the desktop (bands, taskbar) inside r. */
static void draw_background(DemoScenes *sc, Rect r)
{
    const Layout *l = &sc->lay;
    for (int b = 0; b < N_BANDS; b++) {
        Rect band = { 0, band_top(l, b), sc->w, band_top(l, b + 1) };
        demo_draw_fill(sc->dd, rect_and(r, band), band_color(b), false);
    }
    demo_draw_fill(sc->dd, rect_and(r, l->taskbar), C_TASKBAR, false);
    demo_draw_fill(sc->dd, rect_and(r, l->button), C_BUTTON, false);
}

/* Border, title bar with text and buttons, client area; returns the
 * client rect. */
static Rect draw_window(DemoScenes *sc, Rect outer, const char *title, uint32_t title_color)
{
    demo_draw_fill(sc->dd, outer, C_BORDER, false);
    Rect bar = { outer.x1 + 1, outer.y1 + 1, outer.x2 - 1, outer.y1 + TITLE_H - 1 };
    demo_draw_fill(sc->dd, bar, title_color, false);
    Image text = text_image(title, C_WHITE, title_color);
    demo_draw_image(sc->dd, bar.x1 + 6, bar.y1 + (bar.y2 - bar.y1 - CELL_H) / 2 + 1, &text,
                    IMG_COPY, 0, 0, 0);
    image_clear(&text);
    static const uint32_t buttons[] = { 0xe0a030, 0x50b050, 0xd04040 };
    for (int i = 0; i < 3; i++) {
        demo_draw_fill(sc->dd, rect(bar.x2 - 16 * (3 - i), bar.y1 + 3, 11, 11), buttons[i], false);
    }
    Rect client = inset(outer, 1, TITLE_H, 1, 1);
    demo_draw_fill(sc->dd, client, C_CLIENT, false);
    return client;
}

static void compute_layout(DemoScenes *sc)
{
    Layout *l = &sc->lay;
    int w = sc->w, h = sc->h;
    l->taskbar = (Rect){ 0, h - TASKBAR_H, w, h };
    l->button = (Rect){ 4, h - TASKBAR_H + 4, 84, h - 4 };
    l->desk = (Rect){ 0, 0, w, h - TASKBAR_H };
    l->lane = (Rect){ 0, h - TASKBAR_H - 8 - (MOVER_H + 20), w, h - TASKBAR_H - 8 };
    l->picture_win = rect(24, 24, PICTURE_W + 18, TITLE_H + PICTURE_H + 17);
    l->swatch_win = (Rect){ 24, l->picture_win.y2 + 12, l->picture_win.x2,
                            MAX(l->lane.y1 - 12, l->picture_win.y2 + 12 + 180) };
    int tx = l->picture_win.x2 + 16;
    l->term_win = rect(tx, 24, MAX(120, MIN(622, w - tx - 24)), 300);
    l->video_win = rect(tx, l->term_win.y2 + 12, VIDEO_W + 2, TITLE_H + VIDEO_H + 1);
    l->video = rect(l->video_win.x1 + 1, l->video_win.y1 + TITLE_H, VIDEO_W, VIDEO_H);
    Rect text = inset(l->term_win, 5, TITLE_H + 4, 5, 5);
    l->term_cols = MAX(0, (text.x2 - text.x1) / CELL_W);
    l->term_rows = MAX(0, (text.y2 - text.y1) / CELL_H);
    l->term_text = rect(text.x1, text.y1, l->term_cols * CELL_W, l->term_rows * CELL_H);
}

/* ---- scenes ---------------------------------------------------------------------- */

static void scene_static(DemoScenes *sc)
{
    const Layout *l = &sc->lay;
    Rect c = draw_window(sc, l->picture_win, "PICTURE.PPM", C_TITLE_ALT);
    demo_draw_image(sc->dd, c.x1 + 8, c.y1 + 8, &sc->picture, IMG_COPY, 0,
                    LAYOUT_CHUNKED | LAYOUT_BOTTOM_UP, UNIQUE_PICTURE);

    c = draw_window(sc, l->swatch_win, "SWATCHES AND ROPS", C_TITLE_ALT);
    for (int i = 0; i < 16; i++) {
        uint32_t color = mix(i < 8 ? 0xff3030 : 0x3030ff, i < 8 ? 0x30ff30 : 0xffff30, i % 8, 7);
        demo_draw_fill(sc->dd, rect(c.x1 + 8 + (i % 8) * 40, c.y1 + 8 + (i / 8) * 30, 34, 24),
                       color, false);
    }
    /* One icon five ways: flat copy, chunked padded copy, OPAQUE with an
     * XOR brush (inverts it), ROP3 0x96 over the client colour, and a
     * copy with an XOR fill over its middle. */
    int iy = c.y1 + 76;
    demo_draw_image(sc->dd, c.x1 + 8, iy, &sc->icon, IMG_COPY, 0, 0, 0);
    demo_draw_image(sc->dd, c.x1 + 68, iy, &sc->icon, IMG_COPY, 0, LAYOUT_CHUNKED | LAYOUT_PADDED,
                    0);
    demo_draw_image(sc->dd, c.x1 + 128, iy, &sc->icon, IMG_OPAQUE_XOR, 0xffffff, LAYOUT_BOTTOM_UP,
                    0);
    demo_draw_image(sc->dd, c.x1 + 188, iy, &sc->icon, IMG_ROP3_96, 0x0000ff,
                    LAYOUT_CHUNKED | LAYOUT_BOTTOM_UP, 0);
    demo_draw_image(sc->dd, c.x1 + 248, iy, &sc->icon, IMG_COPY, 0, LAYOUT_PADDED, 0);
    demo_draw_fill(sc->dd, rect(c.x1 + 260, iy + 12, 24, 24), 0xff8000, true);

    Rect ticks[15];
    for (int i = 0; i < 15; i++) {
        ticks[i] = rect(c.x1 + 8 + i * 21, iy + 60, 10, 14 - (i % 3) * 4);
    }
    demo_draw_fill_clipped(sc->dd, (Rect){ c.x1 + 4, iy + 58, c.x1 + 330, iy + 76 }, ticks, 15,
                           0x304860);
    Image label = text_image("FILL COPY OPAQUE ROP3 CLIP-RECTS", 0x304860, C_CLIENT);
    demo_draw_image(sc->dd, c.x1 + 8, iy + 84, &label, IMG_COPY, 0, LAYOUT_BOTTOM_UP, 0);
    image_clear(&label);
}

static void term_line_text(unsigned n, char *buf, size_t size)
{
    static const char *const words[] = { "QXL DRAW_COPY",  "COPY_BITS",      "FILL SOLID",
                                         "CHUNKED BITMAP", "BOTTOM-UP ROWS", "PADDED STRIDE",
                                         "RELEASE OK",     "CURSOR MOVE" };
    uint32_t h = hash3(n, 17, 29);
    snprintf(buf, size, "%06u [%-14s] %5u BYTES  CRC=%08X  %s %u/%u", n, words[h % 8],
             (h >> 8) % 40000, hash3(n, 1, 2), (h & 0x100) ? "OK" : "RETRY", (h >> 12) % 16, 16u);
}

static void draw_term_line(DemoScenes *sc, unsigned n, int y)
{
    const Layout *l = &sc->lay;
    char buf[128];
    if (n == 0) {
        snprintf(buf, sizeof(buf), "SPICECORE DEMO TERMINAL: ONE LINE PER FRAME");
    } else {
        term_line_text(n, buf, sizeof(buf));
    }
    if ((int)strlen(buf) > l->term_cols) {
        buf[l->term_cols] = '\0';
    }
    demo_draw_fill(sc->dd, (Rect){ l->term_text.x1, y, l->term_text.x2, y + CELL_H }, C_TERM_BG,
                   false);
    if (buf[0]) {
        Image line = text_image(buf, C_TERM_FG, C_TERM_BG);
        demo_draw_image(sc->dd, l->term_text.x1, y, &line, IMG_COPY, 0, n % LAYOUT_COUNT, 0);
        image_clear(&line);
    }
}

static void scene_scroll(DemoScenes *sc, int frame)
{
    const Layout *l = &sc->lay;
    if (l->term_rows == 0 || l->term_cols == 0) {
        return;
    }
    int last = l->term_text.y2 - CELL_H;
    if (frame == 0) {
        Rect c = draw_window(sc, l->term_win, "TERMINAL", C_TITLE);
        demo_draw_fill(sc->dd, c, C_TERM_BG, false);
    } else if (l->term_rows > 1) {
        demo_draw_copy_bits(sc->dd,
                            (Rect){ l->term_text.x1, l->term_text.y1, l->term_text.x2, last },
                            l->term_text.x1, l->term_text.y1 + CELL_H);
    }
    draw_term_line(sc, (unsigned)frame, last);
}

static Rect mover_rect(DemoScenes *sc, int frame)
{
    const Rect *lane = &sc->lay.lane;
    int x = lane->x1 + pingpong(frame * 5, lane->x2 - lane->x1 - MOVER_W);
    int y = lane->y1 + pingpong(frame * 2, lane->y2 - lane->y1 - MOVER_H);
    return rect(x, y, MOVER_W, MOVER_H);
}

static void scene_window(DemoScenes *sc, int frame)
{
    Rect old = sc->mover, now = mover_rect(sc, frame);
    if (frame > 0) {
        /* Only what the window uncovers: old minus new, up to 4 rects. */
        Rect in = rect_and(old, now);
        if (rect_empty(in)) {
            draw_background(sc, old);
        } else {
            draw_background(sc, (Rect){ old.x1, old.y1, old.x2, in.y1 });
            draw_background(sc, (Rect){ old.x1, in.y2, old.x2, old.y2 });
            draw_background(sc, (Rect){ old.x1, in.y1, in.x1, in.y2 });
            draw_background(sc, (Rect){ in.x2, in.y1, old.x2, in.y2 });
        }
    }
    demo_draw_fill(sc->dd, now, C_BORDER, false);
    Rect bar = { now.x1 + 1, now.y1 + 1, now.x2 - 1, now.y1 + TITLE_H - 1 };
    demo_draw_fill(sc->dd, bar, C_TITLE, false);
    /* The same title and body every frame: cached images. */
    demo_draw_image(sc->dd, bar.x1 + 6, bar.y1 + (bar.y2 - bar.y1 - CELL_H) / 2 + 1,
                    &sc->mover_title, IMG_COPY, 0, 0, UNIQUE_M_TITLE);
    demo_draw_image(sc->dd, now.x1 + 1, now.y1 + TITLE_H, &sc->mover_body, IMG_COPY, 0, 0,
                    UNIQUE_M_BODY);
    sc->mover = now;
}

/* DEMO_SCENE_OVERLAP: whether the note is over the video at a frame. */
static bool note_shown(int frame)
{
    return (frame >= 5 && frame < 60) || frame >= 75;
}

static Rect note_rect(const DemoScenes *sc)
{
    return rect(sc->lay.video.x1 + 180, sc->lay.video.y1 + 150, 110, 70);
}

static void scene_video(DemoScenes *sc, int frame)
{
    if (frame == 0) {
        draw_window(sc, sc->lay.video_win, "VIDEO 320X240", C_TITLE);
    }
    Image img = image_new(VIDEO_W, VIDEO_H);
    gen_video(&img, frame);
    bool overlap = sc->scenes & DEMO_SCENE_OVERLAP;
    if (overlap && note_shown(frame) && note_shown(frame - 1)) {
        /* The note was drawn over the video: the frame around it. */
        Rect v = sc->lay.video, n = note_rect(sc);
        Rect around[4] = { { v.x1, v.y1, v.x2, n.y1 },
                           { v.x1, n.y1, n.x1, n.y2 },
                           { n.x2, n.y1, v.x2, n.y2 },
                           { v.x1, n.y2, v.x2, v.y2 } };
        Rect clips[4];
        unsigned k = 0;
        for (unsigned i = 0; i < 4; i++) {
            if (!rect_empty(around[i])) {
                clips[k++] = around[i];
            }
        }
        demo_draw_image_clipped(sc->dd, v.x1, v.y1, &img, (unsigned)frame % LAYOUT_COUNT, clips, k);
    } else {
        demo_draw_image(sc->dd, sc->lay.video.x1, sc->lay.video.y1, &img, IMG_COPY, 0,
                        (unsigned)frame % LAYOUT_COUNT, 0);
    }
    image_clear(&img);
    if (overlap && note_shown(frame) && !note_shown(frame - 1)) {
        Rect body = draw_window(sc, note_rect(sc), "NOTE", C_TITLE);
        demo_draw_fill(sc->dd, body, C_TERM_BG, false);
    }
}

/* A text console as a guest's `watch cat /proc/interrupts` shows it: rows
 * of labels and counters over the whole screen; every frame a quarter of
 * the rows get new counters, each written as its own small image (as a
 * terminal's glyph runs come), with the frame stamp's corner left alone. */
static void scene_console(DemoScenes *sc, int frame)
{
    enum { LABEL = 6, COUNTER = 11, TOP = 16 };
    int rows = (sc->h - TOP) / CELL_H;
    int cols = (sc->w - LABEL * CELL_W) / (COUNTER * CELL_W);
    if (frame == 0) {
        demo_draw_fill(sc->dd, (Rect){ 0, TOP, sc->w, sc->h }, C_TERM_BG, false);
    }
    for (int r = 0; r < rows; r++) {
        if (frame > 0 && (r + frame) % 4 != 0) {
            continue;
        }
        int y = TOP + r * CELL_H;
        char buf[32];
        if (frame == 0) {
            snprintf(buf, sizeof(buf), "%4d:", r);
            Image label = text_image(buf, C_TERM_FG, C_TERM_BG);
            demo_draw_image(sc->dd, 0, y, &label, IMG_COPY, 0, 0, 0);
            image_clear(&label);
        }
        for (int c = 0; c < cols; c++) {
            uint32_t count = (uint32_t)frame * (hash3((uint32_t)r, (uint32_t)c, 7) % 97 + 1) +
                             hash3((uint32_t)r, (uint32_t)c, 11) % 100000;
            snprintf(buf, sizeof(buf), "%10u", count);
            Image num = text_image(buf, C_TERM_FG, C_TERM_BG);
            demo_draw_image(sc->dd, (LABEL + c * COUNTER) * CELL_W, y, &num, IMG_COPY, 0,
                            (unsigned)(r + c) % LAYOUT_COUNT, 0);
            image_clear(&num);
        }
    }
}

void demo_scenes_draw(DemoScenes *sc, int frame)
{
    if (sc->scenes & DEMO_SCENE_CONSOLE) {
        scene_console(sc, frame);
    }
    unsigned s = sc->scenes;
    if (frame == 0) {
        draw_background(sc, (Rect){ 0, 0, sc->w, sc->h });
        if (s & DEMO_SCENE_STATIC) {
            scene_static(sc);
        }
    }
    if (s & DEMO_SCENE_SCROLL) {
        scene_scroll(sc, frame);
    }
    if (s & DEMO_SCENE_VIDEO) {
        scene_video(sc, frame);
    }
    if (s & DEMO_SCENE_WINDOW) {
        scene_window(sc, frame);
    }
}

/* ---- life cycle ------------------------------------------------------------------ */

DemoScenes *demo_scenes_new(DemoDisplay *dd, int width, int height, unsigned scenes)
{
    sin_init();
    DemoScenes *sc = g_new0(DemoScenes, 1);
    sc->dd = dd;
    sc->w = width;
    sc->h = height;
    sc->scenes = scenes;
    compute_layout(sc);
    sc->picture = image_new(PICTURE_W, PICTURE_H);
    gen_picture(&sc->picture);
    sc->icon = image_new(ICON_SIDE, ICON_SIDE);
    gen_icon(&sc->icon);
    sc->mover_title = text_image("WINDOW", C_WHITE, C_TITLE);
    sc->mover_body = image_new(MOVER_W - 2, MOVER_H - TITLE_H - 1);
    gen_mover_body(&sc->mover_body);
    return sc;
}

void demo_scenes_free(DemoScenes *sc)
{
    if (!sc) {
        return;
    }
    image_clear(&sc->picture);
    image_clear(&sc->icon);
    image_clear(&sc->mover_title);
    image_clear(&sc->mover_body);
    g_free(sc);
}
