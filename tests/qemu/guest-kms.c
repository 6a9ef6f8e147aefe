/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * guest-kms.c: runs inside the test guest and drives its QXL device
 * through the kernel's DRM/KMS interface, so the qxl driver sends native
 * QXL commands: a mode set creates the primary surface, DIRTYFB sends the
 * damaged rectangles as drawables, the cursor ioctls send cursor commands.
 *
 * Built statically on the build machine (raw ioctls, libc only) and
 * packed into the guest's initramfs. It reads commands on stdin (the
 * serial console) and answers each with one line:
 *
 *   show FILE W H         mode W x H showing FILE (W*H*4 bytes, XRGB8888)
 *   patch FILE Y ROWS     copy FILE into rows Y..Y+ROWS-1, mark them dirty
 *   cursor FILE HX HY     a 64x64 ARGB8888 cursor with hot spot HX,HY
 *   move X Y              move the cursor
 *   hide                  hide the cursor
 *   head I FILE W H       mode W x H on output I (CRTC and connector I,
 *                         connected or not) showing FILE: a second head
 *   redraw                mark the whole first head's framebuffer dirty
 *   card N                drive /dev/dri/cardN from now on (a second
 *                         QXL device); its first connected output
 *   sh COMMAND            run COMMAND with /bin/sh (the sound tests)
 *   outputs               probe every output and print one line each:
 *                         "guest-kms: output I connected|disconnected WxH"
 *                         (its preferred mode, or 0x0): what the driver
 *                         made of the client's monitors config
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#define CURSOR_SIZE 64

typedef struct Buffer {
    uint32_t handle;
    uint32_t fb;
    uint32_t width;
    uint32_t height;
    uint32_t pitch;
    uint64_t size;
    uint8_t *map;
} Buffer;

#define MAX_HEADS 4

static int card = -1;
static uint32_t crtc_id, connector_id;
static Buffer screen, cursor, heads[MAX_HEADS];

static int xioctl(unsigned long request, void *arg)
{
    int r;
    do {
        r = ioctl(card, request, arg);
    } while (r < 0 && (errno == EINTR || errno == EAGAIN));
    return r;
}

static int fail(const char *what)
{
    printf("guest-kms: error: %s: %s\n", what, strerror(errno));
    fflush(stdout);
    return -1;
}

static int read_file(const char *path, uint8_t *dst, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return fail(path);
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, dst + done, size - done);
        if (n <= 0) {
            close(fd);
            errno = n < 0 ? errno : EIO;
            return fail(path);
        }
        done += (size_t)n;
    }
    close(fd);
    return 0;
}

static void buffer_free(Buffer *b)
{
    if (b->map) {
        munmap(b->map, b->size);
    }
    if (b->fb) {
        uint32_t fb = b->fb;
        xioctl(DRM_IOCTL_MODE_RMFB, &fb);
    }
    if (b->handle) {
        struct drm_mode_destroy_dumb d = { .handle = b->handle };
        xioctl(DRM_IOCTL_MODE_DESTROY_DUMB, &d);
    }
    memset(b, 0, sizeof(*b));
}

static int buffer_new(Buffer *b, uint32_t w, uint32_t h, int with_fb)
{
    struct drm_mode_create_dumb c = { .width = w, .height = h, .bpp = 32 };
    if (xioctl(DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0) {
        return fail("create dumb buffer");
    }
    b->handle = c.handle;
    b->width = w;
    b->height = h;
    b->pitch = c.pitch;
    b->size = c.size;
    if (with_fb) {
        struct drm_mode_fb_cmd f = {
            .width = w, .height = h, .pitch = c.pitch, .bpp = 32, .depth = 24, .handle = c.handle
        };
        if (xioctl(DRM_IOCTL_MODE_ADDFB, &f) < 0) {
            return fail("add framebuffer");
        }
        b->fb = f.fb_id;
    }
    struct drm_mode_map_dumb m = { .handle = c.handle };
    if (xioctl(DRM_IOCTL_MODE_MAP_DUMB, &m) < 0) {
        return fail("map dumb buffer");
    }
    b->map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, card, (off_t)m.offset);
    if (b->map == MAP_FAILED) {
        b->map = NULL;
        return fail("mmap");
    }
    return 0;
}

/* The card's connectors and CRTCs (at most 16 of each). */
static int resources(uint32_t *conns, uint32_t *n_conns, uint32_t *crtcs, uint32_t *n_crtcs)
{
    struct drm_mode_card_res res = { 0 };
    if (xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res) < 0) {
        return fail("get resources");
    }
    if (res.count_connectors == 0 || res.count_crtcs == 0) {
        errno = ENODEV;
        return fail("no connector or CRTC");
    }
    res.count_connectors = res.count_connectors > 16 ? 16 : res.count_connectors;
    res.count_crtcs = res.count_crtcs > 16 ? 16 : res.count_crtcs;
    res.count_fbs = 0;
    res.count_encoders = 0;
    res.connector_id_ptr = (uintptr_t)conns;
    res.crtc_id_ptr = (uintptr_t)crtcs;
    if (xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res) < 0) {
        return fail("get resources");
    }
    *n_conns = res.count_connectors;
    *n_crtcs = res.count_crtcs;
    return 0;
}

/* The first connected connector and a CRTC its encoder can use. */
static int find_output(void)
{
    uint32_t conns[16], crtcs[16], n_conns, n_crtcs;
    if (resources(conns, &n_conns, crtcs, &n_crtcs) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n_conns; i++) {
        struct drm_mode_get_connector gc = { .connector_id = conns[i] };
        if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &gc) < 0) {
            continue;
        }
        if (gc.connection == 1) {
            connector_id = conns[i];
            crtc_id = crtcs[0];
            return 0;
        }
    }
    errno = ENODEV;
    return fail("no connected connector");
}

static int set_mode_on(uint32_t crtc, uint32_t connector, uint32_t w, uint32_t h, uint32_t fb)
{
    /* Any timing will do for a virtual display: build one. */
    struct drm_mode_modeinfo mode = { 0 };
    mode.hdisplay = (uint16_t)w;
    mode.hsync_start = (uint16_t)(w + 16);
    mode.hsync_end = (uint16_t)(w + 32);
    mode.htotal = (uint16_t)(w + 48);
    mode.vdisplay = (uint16_t)h;
    mode.vsync_start = (uint16_t)(h + 3);
    mode.vsync_end = (uint16_t)(h + 6);
    mode.vtotal = (uint16_t)(h + 9);
    mode.vrefresh = 60;
    mode.clock = (uint32_t)((uint64_t)mode.htotal * mode.vtotal * 60 / 1000);
    snprintf(mode.name, sizeof(mode.name), "%ux%u", w, h);
    struct drm_mode_crtc c = { .crtc_id = crtc,
                               .fb_id = fb,
                               .mode_valid = 1,
                               .mode = mode,
                               .set_connectors_ptr = (uintptr_t)&connector,
                               .count_connectors = 1 };
    if (xioctl(DRM_IOCTL_MODE_SETCRTC, &c) < 0) {
        return fail("set mode");
    }
    return 0;
}

static int set_mode(uint32_t w, uint32_t h, uint32_t fb)
{
    return set_mode_on(crtc_id, connector_id, w, h, fb);
}

static int dirty(uint32_t fb, uint32_t x1, uint32_t y1, uint32_t x2, uint32_t y2)
{
    struct drm_clip_rect clip = { (unsigned short)x1, (unsigned short)y1, (unsigned short)x2,
                                  (unsigned short)y2 };
    struct drm_mode_fb_dirty_cmd d = { .fb_id = fb, .num_clips = 1, .clips_ptr = (uintptr_t)&clip };
    if (xioctl(DRM_IOCTL_MODE_DIRTYFB, &d) < 0 && errno != ENOSYS) {
        return fail("dirty framebuffer");
    }
    return 0;
}

static void copy_in(Buffer *b, const uint8_t *src, uint32_t y, uint32_t rows)
{
    for (uint32_t r = 0; r < rows; r++) {
        memcpy(b->map + (size_t)(y + r) * b->pitch, src + (size_t)r * b->width * 4,
               (size_t)b->width * 4);
    }
}

static int cmd_show(const char *path, uint32_t w, uint32_t h)
{
    Buffer old = screen;
    memset(&screen, 0, sizeof(screen));
    uint8_t *pixels = malloc((size_t)w * h * 4);
    if (!pixels || buffer_new(&screen, w, h, 1) < 0 ||
        read_file(path, pixels, (size_t)w * h * 4) < 0) {
        free(pixels);
        return -1;
    }
    copy_in(&screen, pixels, 0, h);
    free(pixels);
    if (set_mode(w, h, screen.fb) < 0 || dirty(screen.fb, 0, 0, w, h) < 0) {
        return -1;
    }
    buffer_free(&old);
    return 0;
}

static int cmd_head(uint32_t index, const char *path, uint32_t w, uint32_t h)
{
    uint32_t conns[16], crtcs[16], n_conns, n_crtcs;
    if (resources(conns, &n_conns, crtcs, &n_crtcs) < 0) {
        return -1;
    }
    if (index == 0 || index >= MAX_HEADS || index >= n_conns || index >= n_crtcs) {
        errno = EINVAL;
        return fail("no such head");
    }
    Buffer old = heads[index];
    memset(&heads[index], 0, sizeof(heads[index]));
    uint8_t *pixels = malloc((size_t)w * h * 4);
    if (!pixels || buffer_new(&heads[index], w, h, 1) < 0 ||
        read_file(path, pixels, (size_t)w * h * 4) < 0) {
        free(pixels);
        return -1;
    }
    copy_in(&heads[index], pixels, 0, h);
    free(pixels);
    if (set_mode_on(crtcs[index], conns[index], w, h, heads[index].fb) < 0 ||
        dirty(heads[index].fb, 0, 0, w, h) < 0) {
        return -1;
    }
    buffer_free(&old);
    return 0;
}

static int open_card(unsigned n)
{
    char path[32];
    snprintf(path, sizeof(path), "/dev/dri/card%u", n);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return fail(path);
    }
    /* The old card stays open and keeps showing its buffers (closing
     * them would turn its outputs off): they are only forgotten here. */
    memset(&screen, 0, sizeof(screen));
    memset(&cursor, 0, sizeof(cursor));
    memset(heads, 0, sizeof(heads));
    card = fd;
    return find_output();
}

static int cmd_patch(const char *path, uint32_t y, uint32_t rows)
{
    if (!screen.map || y + rows > screen.height) {
        errno = EINVAL;
        return fail("patch outside the screen");
    }
    uint8_t *pixels = malloc((size_t)screen.width * rows * 4);
    if (!pixels || read_file(path, pixels, (size_t)screen.width * rows * 4) < 0) {
        free(pixels);
        return -1;
    }
    copy_in(&screen, pixels, y, rows);
    free(pixels);
    return dirty(screen.fb, 0, y, screen.width, y + rows);
}

static int cmd_cursor(const char *path, int32_t hot_x, int32_t hot_y)
{
    if (!cursor.map && buffer_new(&cursor, CURSOR_SIZE, CURSOR_SIZE, 0) < 0) {
        return -1;
    }
    uint8_t *pixels = malloc(CURSOR_SIZE * CURSOR_SIZE * 4);
    if (!pixels || read_file(path, pixels, CURSOR_SIZE * CURSOR_SIZE * 4) < 0) {
        free(pixels);
        return -1;
    }
    copy_in(&cursor, pixels, 0, CURSOR_SIZE);
    free(pixels);
    struct drm_mode_cursor2 c = { .flags = DRM_MODE_CURSOR_BO,
                                  .crtc_id = crtc_id,
                                  .width = CURSOR_SIZE,
                                  .height = CURSOR_SIZE,
                                  .handle = cursor.handle,
                                  .hot_x = hot_x,
                                  .hot_y = hot_y };
    if (xioctl(DRM_IOCTL_MODE_CURSOR2, &c) < 0) {
        return fail("set cursor");
    }
    return 0;
}

static int cmd_move(int32_t x, int32_t y)
{
    struct drm_mode_cursor c = {
        .flags = DRM_MODE_CURSOR_MOVE, .crtc_id = crtc_id, .x = x, .y = y
    };
    if (xioctl(DRM_IOCTL_MODE_CURSOR, &c) < 0) {
        return fail("move cursor");
    }
    return 0;
}

static int cmd_hide(void)
{
    struct drm_mode_cursor c = { .flags = DRM_MODE_CURSOR_BO, .crtc_id = crtc_id };
    if (xioctl(DRM_IOCTL_MODE_CURSOR, &c) < 0) {
        return fail("hide cursor");
    }
    return 0;
}

/* The connector's preferred mode (the first, else 0x0); probing it
 * (count_modes 0) makes the driver read its monitors anew. */
static int print_output(uint32_t index, uint32_t id)
{
    struct drm_mode_get_connector gc = { .connector_id = id };
    if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &gc) < 0) {
        return fail("get connector");
    }
    uint32_t n = gc.count_modes;
    struct drm_mode_modeinfo *modes = calloc(n ? n : 1, sizeof(*modes));
    if (!modes) {
        return fail("modes");
    }
    uint32_t w = 0, h = 0;
    if (n) {
        struct drm_mode_get_connector again = { .connector_id = id,
                                                .count_modes = n,
                                                .modes_ptr = (uintptr_t)modes };
        if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &again) < 0) {
            free(modes);
            return fail("get connector modes");
        }
        n = again.count_modes < n ? again.count_modes : n;
        w = modes[0].hdisplay;
        h = modes[0].vdisplay;
        for (uint32_t i = 0; i < n; i++) {
            if (modes[i].type & DRM_MODE_TYPE_PREFERRED) {
                w = modes[i].hdisplay;
                h = modes[i].vdisplay;
                break;
            }
        }
    }
    free(modes);
    printf("guest-kms: output %u %s %ux%u\n", index,
           gc.connection == 1 ? "connected" : "disconnected", w, h);
    return 0;
}

static int cmd_outputs(void)
{
    uint32_t conns[16], crtcs[16], n_conns, n_crtcs;
    if (resources(conns, &n_conns, crtcs, &n_crtcs) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n_conns; i++) {
        if (print_output(i, conns[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (open_card(0) < 0) {
        return 1;
    }
    printf("guest-kms: ready\n");
    char line[512], path[256];
    while (fgets(line, sizeof(line), stdin)) {
        unsigned a, b, c;
        int x, y, r;
        if (sscanf(line, "show %255s %u %u", path, &a, &b) == 3) {
            r = cmd_show(path, a, b);
        } else if (sscanf(line, "patch %255s %u %u", path, &a, &b) == 3) {
            r = cmd_patch(path, a, b);
        } else if (sscanf(line, "cursor %255s %d %d", path, &x, &y) == 3) {
            r = cmd_cursor(path, x, y);
        } else if (sscanf(line, "head %u %255s %u %u", &a, path, &b, &c) == 4) {
            r = cmd_head(a, path, b, c);
        } else if (sscanf(line, "card %u", &a) == 1) {
            r = open_card(a);
        } else if (sscanf(line, "move %d %d", &x, &y) == 2) {
            r = cmd_move(x, y);
        } else if (strncmp(line, "redraw", 6) == 0) {
            r = screen.fb ? dirty(screen.fb, 0, 0, screen.width, screen.height) : -1;
        } else if (strncmp(line, "outputs", 7) == 0) {
            r = cmd_outputs();
        } else if (strncmp(line, "hide", 4) == 0) {
            r = cmd_hide();
        } else if (strncmp(line, "sh ", 3) == 0) {
            char command[512];
            snprintf(command, sizeof(command), "%s", line + 3);
            command[strcspn(command, "\r\n")] = '\0';
            fflush(stdout);
            r = system(command) == 0 ? 0 : -1;
        } else {
            continue; /* the console echoes and may add noise */
        }
        line[strcspn(line, "\r\n")] = '\0';
        printf("guest-kms: %s: %s\n", r == 0 ? "done" : "failed", line);
    }
    return 0;
}
