/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-qxl.c: the QXL interface driven the way QEMU's qxl device drives
 * it. The test is the host: a server on a GLib core interface, QXL
 * instances whose "guest memory" is a heap buffer (qxl-host.c), commands
 * built in that memory. It checks the worker threads, every spice_qxl_*
 * entry point, async completion, rendering into guest memory, that every
 * command is released exactly once, that hostile commands are dropped,
 * vm start/stop and removal with work pending. No client connects.
 *
 * Warnings: g_test_init() makes warnings fatal; the server's expected
 * ones (the display plugin logs through the core, domain "spicecore",
 * "plugin display: ..." at WARNING) are announced with
 * g_test_expect_message() before the worker can emit them (commands are
 * queued while the VM is stopped), in ring order. The worker says its
 * first 20 warnings, the 20th with a note, then one in a thousand;
 * expect_worker() follows that count.
 *
 * Waits pump the default main context (the core interface's) until a
 * condition holds, failing after QXL_HOST_TIMEOUT_MS. Assertions are
 * non-fatal so that one failing case does not hide the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <spice/enums.h>

#include "common/glib-core.h"
#include "qxl-host.h"

#define DOMAIN "spicecore"
#define W      64
#define H      32

static SpiceCoreInterface *core;
/* Warnings display 0's worker gave in this case: it says the first 20,
 * the 20th with a note, then one in a thousand. */
static unsigned worker_warnings;

/* ---- setup --------------------------------------------------------------------------- */

static SpiceServer *server_up(void)
{
    worker_warnings = 0;
    core = glib_core_new(g_main_context_default(), NULL, NULL);
    SpiceServer *s = spice_server_new();
    g_assert_cmpint(spice_server_init(s, core), ==, 0);
    return s;
}

static void server_down(SpiceServer *s)
{
    spice_server_destroy(s);
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    glib_core_free(core);
    core = NULL;
}

/* A QXL instance added to s, with its memslot. */
static QxlHost *device_add(SpiceServer *s, int id)
{
    QxlHost *h = qxl_host_new(id, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h)), ==, 0);
    QXLDevMemSlot slot = qxl_host_memslot(h);
    spice_qxl_add_memslot(qxl_host_instance(h), &slot);
    return h;
}

/* Remove, then everything the server took must have come back once. */
static void device_remove(QxlHost *h)
{
    g_assert_cmpint(spice_server_remove_interface(qxl_host_base(h)), ==, 0);
    qxl_host_check_releases(h, true);
    qxl_host_free(h);
}

static QXLRect rc(int32_t left, int32_t top, int32_t right, int32_t bottom)
{
    QXLRect r = { .top = top, .left = left, .bottom = bottom, .right = right };
    return r;
}

/* A primary created synchronously over memory full of 0xab garbage. */
typedef struct Primary {
    uint8_t *mem;
    QXLDevSurfaceCreate create;
} Primary;

static Primary primary_up(QxlHost *h, uint32_t w, uint32_t hh, bool bottom_up)
{
    Primary p;
    p.mem = qxl_host_primary(h, w, hh, bottom_up, 0xab, &p.create);
    spice_qxl_create_primary_surface(qxl_host_instance(h), 0, &p.create);
    return p;
}

static void expect_warning(const char *text)
{
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, text);
}

/* A warning of display 0's worker: "what: why", if it is said. */
static void expect_worker(const char *what, const char *why)
{
    unsigned n = worker_warnings++;
    if (n >= 20 && n % 1000 != 0) {
        return;
    }
    g_autofree char *text = g_strdup_printf("plugin display: display 0: %s: %s%s", what, why,
                                            n == 19 ? " (further warnings are rate-limited)" : "");
    expect_warning(text);
}

/* Push a drawable and return its id. */
static uint64_t push_draw(QxlHost *h, QXLDrawable *d)
{
    return qxl_host_push(h, QXL_CMD_DRAW, d);
}

/* ---- a model of what a surface should hold ---------------------------------------------- */

typedef struct Model {
    int w, h;
    uint32_t *px;
} Model;

static Model model_new(int w, int h, uint32_t color)
{
    Model m = { w, h, g_new(uint32_t, (size_t)w * h) };
    for (int i = 0; i < w * h; i++) {
        m.px[i] = color;
    }
    return m;
}

static void model_fill(Model *m, QXLRect r, uint32_t color)
{
    for (int y = MAX(r.top, 0); y < MIN(r.bottom, m->h); y++) {
        for (int x = MAX(r.left, 0); x < MIN(r.right, m->w); x++) {
            m->px[y * m->w + x] = color;
        }
    }
}

/* Copy src_area of a top-down picture (stride src_w) to (x, y). */
static void model_blit(Model *m, int x, int y, const uint32_t *src, int src_w, QXLRect src_area)
{
    for (int j = 0; j < src_area.bottom - src_area.top; j++) {
        for (int i = 0; i < src_area.right - src_area.left; i++) {
            if (x + i >= 0 && x + i < m->w && y + j >= 0 && y + j < m->h) {
                m->px[(y + j) * m->w + x + i] = src[(src_area.top + j) * src_w + src_area.left + i];
            }
        }
    }
}

/* The surface memory at base (stride bytes apart) equals the model. */
static void assert_surface(const Model *m, const uint8_t *base, int32_t stride)
{
    for (int y = 0; y < m->h; y++) {
        for (int x = 0; x < m->w; x++) {
            uint32_t got = qxl_host_pixel(base, stride, (uint32_t)m->h, (uint32_t)x, (uint32_t)y);
            if (got != m->px[y * m->w + x]) {
                g_test_message("pixel (%d, %d): 0x%08x, expected 0x%08x", x, y, got,
                               m->px[y * m->w + x]);
                g_assert_cmphex(got, ==, m->px[y * m->w + x]);
                return;
            }
        }
    }
}

static void model_free(Model *m)
{
    g_free(m->px);
}

/* A top-down picture of distinct x8r8g8b8 pixels (x byte 0). */
static uint32_t *picture(int w, int h, uint32_t seed)
{
    uint32_t *px = g_new(uint32_t, (size_t)w * h);
    for (int i = 0; i < w * h; i++) {
        px[i] = (seed + (uint32_t)i * 0x0b0d11u) & 0x00ffffffu;
    }
    return px;
}

/* ---- 1. add_interface ------------------------------------------------------------------- */

static void expect_refused(const char *why)
{
    g_autofree char *a = g_strdup_printf("plugin display: QXL instance refused: %s", why);
    expect_warning(a);
    expect_warning("spice_server_add_interface: plugin 'display' refused the 'qxl' instance: "
                   "Invalid argument");
}

static void test_add_interface(void)
{
    SpiceServer *s = server_up();
    QxlHost *h0 = qxl_host_new(0, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h0)), ==, 0);
    g_assert_cmpuint(qxl_host_stat(h0, QXL_STAT_ATTACHE_WORKER), ==, 1);
    g_assert_cmpuint(qxl_host_stat(h0, QXL_STAT_GET_INIT_INFO), ==, 1);
    g_assert_cmpuint(qxl_host_stat(h0, QXL_STAT_SET_COMPRESSION), <=, 1);

    /* Not running yet: the worker does not read the rings. */
    qxl_host_pump_for(50);
    g_assert_cmpuint(qxl_host_stat(h0, QXL_STAT_GET_COMMAND), ==, 0);
    spice_server_vm_start(s);
    QXL_WAIT(qxl_host_stat(h0, QXL_STAT_GET_COMMAND) > 0);
    QXL_WAIT(qxl_host_stat(h0, QXL_STAT_GET_CURSOR_COMMAND) > 0);

    /* A second instance added while running gets its own worker. */
    QxlHost *h1 = qxl_host_new(1, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h1)), ==, 0);
    QXL_WAIT(qxl_host_stat(h1, QXL_STAT_GET_COMMAND) > 0);
    g_assert_cmpuint(qxl_host_stat(h1, QXL_STAT_ATTACHE_WORKER), ==, 1);
    g_assert_cmpuint(qxl_host_stat(h1, QXL_STAT_GET_INIT_INFO), ==, 1);
    g_assert_cmpuint(qxl_host_stat(h0, QXL_STAT_ATTACHE_WORKER), ==, 1);
    g_assert_cmpuint(qxl_host_stat(h0, QXL_STAT_GET_INIT_INFO), ==, 1);
    GThread *t0 = qxl_host_worker_thread(h0), *t1 = qxl_host_worker_thread(h1);
    g_assert_nonnull(t0);
    g_assert_nonnull(t1);
    g_assert_true(t0 != t1);
    g_assert_true(t0 != g_thread_self());
    g_assert_true(t1 != g_thread_self());
    /* Each worker serves its own rings: a fill on each. */
    QXLDevMemSlot slot0 = qxl_host_memslot(h0), slot1 = qxl_host_memslot(h1);
    spice_qxl_add_memslot(qxl_host_instance(h0), &slot0);
    spice_qxl_add_memslot(qxl_host_instance(h1), &slot1);
    QXLRect area = rc(0, 0, 8, 8);
    Primary p0 = primary_up(h0, 8, 8, false), p1 = primary_up(h1, 8, 8, false);
    uint64_t f0 = qxl_host_push_fill(h0, 0, area, 0x000000aa);
    uint64_t f1 = qxl_host_push_fill(h1, 0, area, 0x000000bb);
    QXL_WAIT(qxl_host_released(h0, f0) && qxl_host_released(h1, f1));
    g_assert_cmphex(qxl_host_pixel(p0.mem, 32, 8, 7, 7), ==, 0xaa);
    g_assert_cmphex(qxl_host_pixel(p1.mem, 32, 8, 7, 7), ==, 0xbb);

    /* Interface versions: major must match, minor must not be newer. */
    QxlHost *bad = qxl_host_new(2, SPICE_INTERFACE_QXL_MAJOR + 1, SPICE_INTERFACE_QXL_MINOR);
    expect_warning("spice_server_add_interface: 'qxl' interface version 4.3 is not supported: "
                   "plugin 'display' implements 3.3 (major must match, minor must not be newer)");
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(bad)), ==, -1);
    g_test_assert_expected_messages();
    qxl_host_free(bad);
    bad = qxl_host_new(2, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR + 1);
    expect_warning("spice_server_add_interface: 'qxl' interface version 3.4 is not supported: "
                   "plugin 'display' implements 3.3 (major must match, minor must not be newer)");
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(bad)), ==, -1);
    g_test_assert_expected_messages();
    g_assert_cmpuint(qxl_host_stat(bad, QXL_STAT_GET_INIT_INFO), ==, 0);
    g_assert_cmpuint(qxl_host_stat(bad, QXL_STAT_ATTACHE_WORKER), ==, 0);
    qxl_host_free(bad);

    /* An older minor is accepted. */
    QxlHost *old = qxl_host_new(2, SPICE_INTERFACE_QXL_MAJOR, 0);
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(old)), ==, 0);
    QXL_WAIT(qxl_host_stat(old, QXL_STAT_GET_COMMAND) > 0);
    g_assert_true(qxl_host_worker_thread(old) != t0 && qxl_host_worker_thread(old) != t1);
    device_remove(old);

    /* The same instance twice, an id already in use, an id out of range. */
    expect_warning("spice_server_add_interface('qxl'): this instance is already added");
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h0)), ==, -1);
    g_test_assert_expected_messages();
    bad = qxl_host_new(1, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    expect_warning("plugin display: channel_register: display channel 1 is already registered");
    expect_refused("a display channel with this id exists already");
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(bad)), ==, -1);
    g_test_assert_expected_messages();
    g_assert_cmpuint(qxl_host_stat(bad, QXL_STAT_ATTACHE_WORKER), ==, 0);
    g_assert_cmpuint(qxl_host_stat(bad, QXL_STAT_GET_COMMAND), ==, 0);
    qxl_host_free(bad);
    bad = qxl_host_new(256, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    expect_refused("QXL instance id must be 0..255");
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(bad)), ==, -1);
    g_test_assert_expected_messages();
    qxl_host_free(bad);

    device_remove(h1);
    device_remove(h0);
    server_down(s);
}

/* ---- 2. async completion ------------------------------------------------------------------ */

/* What the reference's test hosts do in attache_worker, while
 * spice_server_add_interface() runs: memory slot, then the primary. */
static void attach_slot_and_primary(QxlHost *h, void *opaque)
{
    Primary *p = opaque;
    QXLDevMemSlot slot = qxl_host_memslot(h);
    spice_qxl_add_memslot(qxl_host_instance(h), &slot);
    *p = primary_up(h, W, H, false);
}

static void test_entry_points_during_attach(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = qxl_host_new(0, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    Primary p = { 0 };
    qxl_host_on_attach(h, attach_slot_and_primary, &p);
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h)), ==, 0);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_ATTACHE_WORKER), ==, 1);
    g_assert_nonnull(p.mem);
    spice_server_vm_start(s);
    /* Both took effect: a fill through the slot lands on the primary
     * (with the slot or the surface dropped it would be refused). */
    uint64_t id = qxl_host_push_fill(h, 0, rc(0, 0, W, H), 0x00405060);
    QXL_WAIT(qxl_host_released(h, id) == 1);
    QXLRect area = rc(0, 0, W, H);
    QXLRect dirty[1];
    spice_qxl_update_area(qxl_host_instance(h), 0, &area, dirty, 1, 0);
    Model m = model_new(W, H, 0x00405060);
    assert_surface(&m, p.mem, W * 4);
    model_free(&m);
    device_remove(h);
    server_down(s);
}

static void test_no_async_complete(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = qxl_host_new(0, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    qxl_host_without_async_complete(h);
    /* Accepted: only a host that calls *_async entry points needs it. */
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h)), ==, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);
    QXLDevMemSlot slot = qxl_host_memslot(h);
    spice_qxl_add_memslot(q, &slot);
    Primary p = primary_up(h, W, H, false);
    uint64_t id = qxl_host_push_fill(h, 0, rc(0, 0, W, H), 0x00112233);
    QXL_WAIT(qxl_host_released(h, id) == 1);
    /* A host that calls one anyway gets the work done and one warning. */
    expect_warning("plugin display: display 0: an *_async call finished, but the host's QXL "
                   "interface has no async_complete to report it to");
    spice_qxl_flush_surfaces_async(q, 7);
    QXLRect area = rc(0, 0, W, H);
    QXLRect dirty[1];
    spice_qxl_update_area(q, 0, &area, dirty, 1, 0);
    g_test_assert_expected_messages();
    spice_qxl_flush_surfaces_async(q, 8); /* said once */
    spice_qxl_update_area(q, 0, &area, dirty, 1, 0);
    Model m = model_new(W, H, 0x00112233);
    assert_surface(&m, p.mem, W * 4);
    model_free(&m);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_ASYNC_COMPLETE), ==, 0);
    device_remove(h);
    server_down(s);
}

static void test_async_complete(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = qxl_host_new(0, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h)), ==, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);

    QXLDevMemSlot slot = qxl_host_memslot(h);
    spice_qxl_add_memslot_async(q, &slot, 101);
    QXLDevSurfaceCreate create;
    qxl_host_primary(h, W, H, false, 0, &create);
    spice_qxl_create_primary_surface_async(q, 0, &create, 102);
    uint64_t s1 =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 1, 8, 8, 0, 0, NULL));
    QXL_WAIT(qxl_host_handed(h, s1));
    QXLRect area = rc(0, 0, W, H);
    spice_qxl_update_area_async(q, 0, &area, 0, 103);
    spice_qxl_destroy_surface_async(q, 1, 104);
    spice_qxl_flush_surfaces_async(q, 105);
    QXLMonitorsConfig *mc = qxl_host_alloc(h, sizeof(QXLMonitorsConfig) + sizeof(QXLHead));
    mc->count = 1;
    mc->max_allowed = 1;
    mc->heads[0].width = W;
    mc->heads[0].height = H;
    spice_qxl_monitors_config_async(q, qxl_host_phys(h, mc), QXL_HOST_GROUP, 106);
    spice_qxl_gl_draw_async(q, 0, 0, W, H, 107);
    spice_qxl_destroy_primary_surface_async(q, 0, 108);
    spice_qxl_destroy_surfaces_async(q, 109);

    for (uint64_t c = 101; c <= 109; c++) {
        QXL_WAIT(qxl_host_cookie(h, c) > 0);
    }
    qxl_host_pump_for(100);
    for (uint64_t c = 101; c <= 109; c++) {
        g_assert_cmpuint(qxl_host_cookie(h, c), ==, 1);
    }
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_ASYNC_COMPLETE), ==, 9);
    /* update_area_async reported the area through update_area_complete. */
    uint32_t sid = 99, n = 0;
    QXLRect r = qxl_host_last_updated(h, &sid, &n);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_UPDATE_AREA_COMPLETE), ==, 1);
    g_assert_cmpuint(sid, ==, 0);
    g_assert_cmpuint(n, ==, 1);
    g_assert_cmpmem(&r, sizeof(r), &area, sizeof(area));
    g_assert_cmpuint(qxl_host_released(h, s1), ==, 1);

    /* The synchronous forms: done on return, no cookie. */
    spice_qxl_add_memslot(q, &slot);
    spice_qxl_create_primary_surface(q, 0, &create);
    uint64_t s2 =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 2, 8, 8, 0, 0, NULL));
    QXL_WAIT(qxl_host_handed(h, s2));
    QXLRect dirty[3];
    memset(dirty, 0xff, sizeof(dirty));
    spice_qxl_update_area(q, 0, &area, dirty, 3, 0);
    g_assert_cmpmem(&dirty[0], sizeof(QXLRect), &area, sizeof(area));
    g_assert_cmpint(dirty[1].right, ==, 0);
    g_assert_cmpint(dirty[2].bottom, ==, 0);
    spice_qxl_destroy_surface_wait(q, 2);
    g_assert_cmpuint(qxl_host_released(h, s2), ==, 1);
    spice_qxl_destroy_primary_surface(q, 0);
    spice_qxl_destroy_surfaces(q);
    spice_qxl_del_memslot(q, QXL_HOST_GROUP, QXL_HOST_SLOT);
    spice_qxl_reset_memslots(q);
    qxl_host_pump_for(50);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_ASYNC_COMPLETE), ==, 9);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_UPDATE_AREA_COMPLETE), ==, 1);

    /* Async calls that fail still complete, once. All warnings are
     * announced before the first call: the worker logs them. */
    expect_worker("primary surface refused", "invalid surface stride");
    expect_worker("destroy_primary_surface", "there is no primary surface");
    expect_worker("update_area", "no such surface");
    expect_worker("destroy_surface", "no such surface");
    expect_worker("monitors config ignored", "memory slot not in use");
    expect_worker("monitors config ignored", "negative group");
    QXLDevSurfaceCreate bad = create;
    bad.stride = 0;
    spice_qxl_create_primary_surface_async(q, 0, &bad, 110);
    spice_qxl_destroy_primary_surface_async(q, 0, 111);
    spice_qxl_update_area_async(q, 9, &area, 0, 112);
    spice_qxl_destroy_surface_async(q, 9, 113);
    spice_qxl_monitors_config_async(q, qxl_host_phys(h, mc), QXL_HOST_GROUP, 114);
    spice_qxl_monitors_config_async(q, qxl_host_phys(h, mc), -1, 115);
    for (uint64_t c = 110; c <= 115; c++) {
        QXL_WAIT(qxl_host_cookie(h, c) > 0);
    }
    qxl_host_pump_for(50);
    g_test_assert_expected_messages();
    for (uint64_t c = 110; c <= 115; c++) {
        g_assert_cmpuint(qxl_host_cookie(h, c), ==, 1);
    }
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_ASYNC_COMPLETE), ==, 15);
    r = qxl_host_last_updated(h, &sid, &n);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_UPDATE_AREA_COMPLETE), ==, 2);
    g_assert_cmpuint(sid, ==, 9);
    g_assert_cmpuint(n, ==, 0);

    device_remove(h);
    server_down(s);
}

/* ---- 3. rendering ------------------------------------------------------------------------- */

static void test_render_primary(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);
    Primary p = primary_up(h, W, H, false);
    /* A new primary without QXL_SURF_FLAG_KEEP_DATA starts black. */
    Model m = model_new(W, H, 0);
    assert_surface(&m, p.mem, W * 4);

    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    struct {
        QXLRect r;
        uint32_t color;
    } fills[] = {
        { rc(0, 0, W, H), 0x00102030 },
        { rc(5, 3, 20, 11), 0x00ff0000 },
        { rc(-10, -10, 2, 2), 0x0000ff00 },     /* partly above and left of the surface */
        { rc(60, 28, 1000, 1000), 0x000000ff }, /* partly below and right */
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(fills); i++) {
        uint64_t id = qxl_host_push_fill(h, 0, fills[i].r, fills[i].color);
        g_array_append_val(ids, id);
        model_fill(&m, fills[i].r, fills[i].color);
    }
    /* A flat top-down bitmap, a chunked bottom-up one, a part of one. */
    g_autofree uint32_t *a = picture(4, 3, 0x010101);
    g_autofree uint32_t *b = picture(5, 4, 0x204060);
    g_autofree uint32_t *c = picture(6, 6, 0x7f0000);
    struct {
        const uint32_t *px;
        int w, h;
        bool chunked;
        int x, y;
        QXLRect src;
    } copies[] = {
        { a, 4, 3, false, 30, 4, rc(0, 0, 4, 3) },
        { b, 5, 4, true, 40, 10, rc(0, 0, 5, 4) },
        { c, 6, 6, false, 50, 20, rc(2, 1, 5, 4) },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(copies); i++) {
        QXLImage *img = qxl_host_bitmap32(h, (uint32_t)copies[i].w, (uint32_t)copies[i].h,
                                          copies[i].px, copies[i].chunked);
        QXLRect src = copies[i].src;
        QXLRect bbox = rc(copies[i].x, copies[i].y, copies[i].x + src.right - src.left,
                          copies[i].y + src.bottom - src.top);
        uint64_t id = push_draw(h, qxl_host_copy_cmd(h, 0, bbox, img, src));
        g_array_append_val(ids, id);
        model_blit(&m, copies[i].x, copies[i].y, copies[i].px, copies[i].w, src);
    }
    /* A fill clipped to two rectangles. */
    QXLDrawable *clipped = qxl_host_fill_cmd(h, 0, rc(0, 26, 16, 32), 0x00c0c0c0);
    QXLClipRects *cr = qxl_host_alloc(h, sizeof(QXLClipRects) + 2 * sizeof(QXLRect));
    QXLRect clips[2] = { rc(0, 28, 4, 32), rc(8, 26, 12, 30) };
    cr->num_rects = 2;
    cr->chunk.data_size = sizeof(clips);
    memcpy(cr->chunk.data, clips, sizeof(clips));
    clipped->clip.type = SPICE_CLIP_TYPE_RECTS;
    clipped->clip.data = qxl_host_phys(h, cr);
    uint64_t id = push_draw(h, clipped);
    g_array_append_val(ids, id);
    model_fill(&m, clips[0], 0x00c0c0c0);
    model_fill(&m, clips[1], 0x00c0c0c0);
    /* COPY_BITS: (2,2)-(22,12) moved by (+3,+1), overlapping itself. */
    QXLDrawable *bits = qxl_host_drawable(h, 0, QXL_COPY_BITS, rc(5, 3, 25, 13));
    bits->u.copy_bits.src_pos.x = 2;
    bits->u.copy_bits.src_pos.y = 2;
    id = push_draw(h, bits);
    g_array_append_val(ids, id);
    g_autofree uint32_t *snap = g_memdup2(m.px, sizeof(uint32_t) * W * H);
    model_blit(&m, 5, 3, snap, W, rc(2, 2, 22, 12));

    /* A bitmap whose last byte is the last byte of the slot. */
    g_autofree uint32_t *e = picture(4, 4, 0x00aa00);
    QXLImage *img_end = qxl_host_alloc(h, sizeof(QXLImage));
    *img_end = *qxl_host_bitmap32(h, 4, 4, e, false);
    uint8_t *end_data = qxl_host_alloc_at_end(h, 4 * 4 * 4);
    memcpy(end_data, e, 4 * 4 * 4);
    img_end->bitmap.data = qxl_host_phys(h, end_data);
    id = push_draw(h, qxl_host_copy_cmd(h, 0, rc(10, 20, 14, 24), img_end, rc(0, 0, 4, 4)));
    g_array_append_val(ids, id);
    model_blit(&m, 10, 20, e, 4, rc(0, 0, 4, 4));

    for (guint i = 0; i < ids->len; i++) {
        QXL_WAIT(qxl_host_released(h, g_array_index(ids, uint64_t, i)) == 1);
    }
    QXLRect area = rc(0, 0, W, H), dirty[2];
    spice_qxl_update_area(q, 0, &area, dirty, 2, 0);
    g_assert_cmpmem(&dirty[0], sizeof(QXLRect), &area, sizeof(area));
    assert_surface(&m, p.mem, W * 4);
    model_free(&m);
    g_array_free(ids, TRUE);

    /* A bottom-up primary: row 0 is the last row in memory. */
    spice_qxl_destroy_primary_surface(q, 0);
    Primary up = primary_up(h, 16, 8, true);
    qxl_host_push_fill(h, 0, rc(0, 0, 16, 8), 0x00010101);
    uint64_t top = qxl_host_push_fill(h, 0, rc(0, 0, 16, 1), 0x00abcdef);
    QXL_WAIT(qxl_host_released(h, top));
    QXLRect up_area = rc(0, 0, 16, 8);
    spice_qxl_update_area(q, 0, &up_area, NULL, 0, 0);
    uint32_t v;
    memcpy(&v, up.mem + 7 * 64, sizeof(v));
    g_assert_cmphex(v, ==, 0x00abcdef);
    memcpy(&v, up.mem, sizeof(v));
    g_assert_cmphex(v, ==, 0x00010101);

    device_remove(h);
    server_down(s);
}

static void test_render_offscreen(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);
    Primary p = primary_up(h, W, H, false);
    g_autofree uint32_t *pic = picture(W, H, 0x123456);
    Model mp = model_new(W, H, 0);
    uint64_t first =
        push_draw(h, qxl_host_copy_cmd(h, 0, rc(0, 0, W, H), qxl_host_bitmap32(h, W, H, pic, false),
                                       rc(0, 0, W, H)));
    model_blit(&mp, 0, 0, pic, W, rc(0, 0, W, H));

    /* Surface 2 in its own slot memory; drawn on, and copied from and to. */
    uint8_t *data;
    uint64_t create = qxl_host_push(
        h, QXL_CMD_SURFACE,
        qxl_host_surface_create_cmd(h, 2, 32, 16, QXL_SURF_FLAG_KEEP_DATA, 0xcd, &data));
    Model ms = model_new(32, 16, 0xcdcdcdcd);
    uint64_t ids[4];
    ids[0] = qxl_host_push_fill(h, 2, rc(0, 0, 32, 8), 0x00336699);
    model_fill(&ms, rc(0, 0, 32, 8), 0x00336699);
    ids[1] = qxl_host_push_fill(h, 2, rc(4, 4, 12, 12), 0x00445566);
    model_fill(&ms, rc(4, 4, 12, 12), 0x00445566);
    /* Primary (30,4)-(34,7) to surface 2 at (20,10). */
    ids[2] = push_draw(h, qxl_host_copy_cmd(h, 2, rc(20, 10, 24, 13),
                                            qxl_host_surface_image(h, 0, W, H), rc(30, 4, 34, 7)));
    model_blit(&ms, 20, 10, mp.px, W, rc(30, 4, 34, 7));
    /* Surface 2 (2,2)-(10,10) to the primary at (50,20). */
    ids[3] =
        push_draw(h, qxl_host_copy_cmd(h, 0, rc(50, 20, 58, 28),
                                       qxl_host_surface_image(h, 2, 32, 16), rc(2, 2, 10, 10)));
    model_blit(&mp, 50, 20, ms.px, 32, rc(2, 2, 10, 10));
    QXL_WAIT(qxl_host_released(h, first));
    for (int i = 0; i < 4; i++) {
        QXL_WAIT(qxl_host_released(h, ids[i]));
    }
    g_assert_cmpuint(qxl_host_released(h, create), ==, 0);
    QXLRect sarea = rc(0, 0, 32, 16), parea = rc(0, 0, W, H);
    spice_qxl_update_area(q, 2, &sarea, NULL, 0, 0);
    assert_surface(&ms, data, 32 * 4);
    spice_qxl_update_area(q, 0, &parea, NULL, 0, 0);
    assert_surface(&mp, p.mem, W * 4);

    /* Destroying it releases the create command and the destroy command. */
    uint64_t destroy =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_cmd(h, 2, QXL_SURFACE_CMD_DESTROY));
    QXL_WAIT(qxl_host_released(h, destroy));
    g_assert_cmpuint(qxl_host_released(h, create), ==, 1);
    model_free(&ms);
    model_free(&mp);
    device_remove(h);
    server_down(s);
}

/*
 * QXL_SURFACE_CMD_CREATE without QXL_SURF_FLAG_KEEP_DATA: the surface
 * starts cleared, as the reference server does (and as our primary does);
 * with the flag, or when replayed by loadvm, its memory is kept.
 */
static void test_offscreen_create_clears(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    QXLInstance *q = qxl_host_instance(h);
    QXLRect area = rc(0, 0, 8, 8);

    /* Replayed by loadvm (VM not running yet): kept. */
    uint8_t *replayed;
    QXLSurfaceCmd *c3 = qxl_host_surface_create_cmd(h, 3, 8, 8, 0, 0x5a, &replayed);
    QXLCommandExt ext = { .cmd = { .data = qxl_host_phys(h, c3), .type = QXL_CMD_SURFACE },
                          .group_id = QXL_HOST_GROUP };
    qxl_host_mark_handed(h, qxl_host_cmd_id(c3));
    spice_qxl_loadvm_commands(q, &ext, 1);
    spice_qxl_update_area(q, 3, &area, NULL, 0, 0);
    Model kept = model_new(8, 8, 0x5a5a5a5a);
    assert_surface(&kept, replayed, 32);

    spice_server_vm_start(s);
    uint8_t *keep, *fresh;
    qxl_host_push(h, QXL_CMD_SURFACE,
                  qxl_host_surface_create_cmd(h, 4, 8, 8, QXL_SURF_FLAG_KEEP_DATA, 0x5a, &keep));
    uint64_t id =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 5, 8, 8, 0, 0x5a, &fresh));
    QXL_WAIT(qxl_host_handed(h, id));
    spice_qxl_update_area(q, 4, &area, NULL, 0, 0);
    assert_surface(&kept, keep, 32);
    spice_qxl_update_area(q, 5, &area, NULL, 0, 0);
    Model cleared = model_new(8, 8, 0);
    assert_surface(&cleared, fresh, 32);
    model_free(&kept);
    model_free(&cleared);
    device_remove(h);
    server_down(s);
}

/* ---- 4. releases ---------------------------------------------------------------------- */

static void test_release_once(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);
    primary_up(h, W, H, false);

    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t id;
    for (int i = 0; i < 10; i++) {
        id = qxl_host_push_fill(h, 0, rc(i, i, i + 10, i + 10), 0x00010000u * (uint32_t)i);
        g_array_append_val(ids, id);
    }
    uint64_t create =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 3, 16, 16, 0, 0, NULL));
    id = qxl_host_push_fill(h, 3, rc(0, 0, 16, 16), 0x00ffffff);
    g_array_append_val(ids, id);
    QXLCursorCmd *set = qxl_host_cursor_cmd(h, QXL_CURSOR_SET);
    set->u.set.visible = 1;
    set->u.set.shape = qxl_host_phys(h, qxl_host_cursor_shape(h, 32, 32));
    id = qxl_host_push_cursor(h, set);
    g_array_append_val(ids, id);
    QXLCursorCmd *move = qxl_host_cursor_cmd(h, QXL_CURSOR_MOVE);
    move->u.position.x = 10;
    move->u.position.y = 20;
    id = qxl_host_push_cursor(h, move);
    g_array_append_val(ids, id);
    id = qxl_host_push_cursor(h, qxl_host_cursor_cmd(h, QXL_CURSOR_HIDE));
    g_array_append_val(ids, id);
    QXLUpdateCmd *upd = qxl_host_cmd_alloc(h, sizeof(QXLUpdateCmd));
    upd->area = rc(0, 0, W, H);
    upd->update_id = 77;
    id = qxl_host_push(h, QXL_CMD_UPDATE, upd);
    g_array_append_val(ids, id);
    static const char hello[] = "hello from the guest";
    QXLMessage *msg = qxl_host_cmd_alloc(h, sizeof(QXLMessage) + sizeof(hello));
    memcpy(msg->data, hello, sizeof(hello));
    id = qxl_host_push(h, QXL_CMD_MESSAGE, msg);
    g_array_append_val(ids, id);
    id = qxl_host_push(h, QXL_CMD_NOP, qxl_host_cmd_alloc(h, sizeof(QXLReleaseInfo)));
    g_array_append_val(ids, id);

    for (guint i = 0; i < ids->len; i++) {
        QXL_WAIT(qxl_host_released(h, g_array_index(ids, uint64_t, i)) > 0);
    }
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_NOTIFY_UPDATE), ==, 1);
    g_assert_cmpuint(qxl_host_last_update_id(h), ==, 77);
    /* The surface keeps its create command until it goes. */
    g_assert_cmpuint(qxl_host_released(h, create), ==, 0);
    qxl_host_check_releases(h, false);
    spice_qxl_destroy_surfaces(q);
    g_assert_cmpuint(qxl_host_released(h, create), ==, 1);

    /* destroy_primary leaves off-screen surfaces; destroy_surfaces takes them. */
    primary_up(h, W, H, false);
    uint64_t create4 =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 4, 8, 8, 0, 0, NULL));
    QXL_WAIT(qxl_host_handed(h, create4));
    spice_qxl_destroy_primary_surface(q, 0);
    g_assert_cmpuint(qxl_host_released(h, create4), ==, 0);
    spice_qxl_destroy_surfaces(q);
    g_assert_cmpuint(qxl_host_released(h, create4), ==, 1);

    qxl_host_pump_for(100);
    qxl_host_check_releases(h, true);
    g_array_free(ids, TRUE);
    device_remove(h);
    server_down(s);
}

/* ---- 5. hostile commands ------------------------------------------------------------------- */

static void test_hostile_drawables(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);
    Primary p = primary_up(h, W, H, false);
    /* Queue everything while stopped: the expected warnings are then all
     * announced before the worker logs any of them, in ring order. */
    spice_server_vm_stop(s);
    const uint32_t gen = 1;
    g_autofree uint32_t *px = picture(4, 4, 0x111111);
    QXLImage *good = qxl_host_bitmap32(h, 4, 4, px, false);
    uint64_t good_off = (uint64_t)((uint8_t *)good - qxl_host_mem(h));
    const char *dropped = "drawing command dropped";
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t id;

    /* Bad addresses of the source image. */
    struct {
        QXLPHYSICAL addr;
        const char *why;
    } addrs[] = {
        { qxl_host_addr(QXL_HOST_SLOT, gen, QXL_HOST_MEM_SIZE + 4096),
          "address range outside its memory slot" },
        { qxl_host_addr(QXL_HOST_SLOT, gen + 1, good_off),
          "memory slot generation mismatch (stale address)" },
        { qxl_host_addr(10, gen, good_off), "memory slot id out of range" },
        { qxl_host_addr(2, gen, good_off), "memory slot not in use" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(addrs); i++) {
        QXLDrawable *d = qxl_host_copy_cmd(h, 0, rc(0, 0, 4, 4), good, rc(0, 0, 4, 4));
        d->u.copy.src_bitmap = addrs[i].addr;
        expect_worker(dropped, addrs[i].why);
        id = push_draw(h, d);
        g_array_append_val(ids, id);
    }

    /* Bitmaps whose stride * height leaves the slot or overflows. */
    struct {
        uint32_t stride, height;
        const char *why;
    } sizes[] = {
        { 0x100000, 64, "address range outside its memory slot" },
        { 0x10000000, 16, "bitmap larger than 2 GiB" },
        { 0x80000000u, 0x80000000u, "bitmap larger than 2 GiB" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        QXLImage *img = qxl_host_alloc(h, sizeof(QXLImage));
        *img = *good;
        img->bitmap.stride = sizes[i].stride;
        img->bitmap.y = img->descriptor.height = sizes[i].height;
        expect_worker(dropped, sizes[i].why);
        id = push_draw(h, qxl_host_copy_cmd(h, 0, rc(0, 0, 4, 4), img, rc(0, 0, 4, 4)));
        g_array_append_val(ids, id);
    }

    /* Chunk chains that loop: one chunk onto itself with data, one
     * without data (only the chain limit stops it), two in a cycle. */
    for (int i = 0; i < 3; i++) {
        QXLImage *img = qxl_host_alloc(h, sizeof(QXLImage));
        *img = *good;
        img->bitmap.flags = QXL_BITMAP_TOP_DOWN;
        QXLDataChunk *a = qxl_host_alloc(h, sizeof(QXLDataChunk) + 16);
        QXLDataChunk *b = qxl_host_alloc(h, sizeof(QXLDataChunk) + 16);
        a->data_size = i == 1 ? 0 : 16;
        b->data_size = 16;
        a->next_chunk = qxl_host_phys(h, i == 2 ? b : a);
        b->next_chunk = qxl_host_phys(h, a);
        img->bitmap.data = qxl_host_phys(h, a);
        expect_worker(dropped, i == 1 ? "data chunk chain too long (a loop?)"
                                      : "data chunks hold more than their data size");
        id = push_draw(h, qxl_host_copy_cmd(h, 0, rc(0, 0, 4, 4), img, rc(0, 0, 4, 4)));
        g_array_append_val(ids, id);
    }
    /* Clip rectangles: a looping chain, too many. */
    for (int i = 0; i < 2; i++) {
        QXLDrawable *d = qxl_host_fill_cmd(h, 0, rc(0, 0, W, H), 0x00ff00ff);
        QXLClipRects *cr = qxl_host_alloc(h, sizeof(QXLClipRects));
        cr->num_rects = i == 0 ? 2 : 100000;
        cr->chunk.next_chunk = qxl_host_phys(h, &cr->chunk);
        d->clip.type = SPICE_CLIP_TYPE_RECTS;
        d->clip.data = qxl_host_phys(h, cr);
        expect_worker(dropped,
                      i == 0 ? "data chunk chain too long (a loop?)" : "too many clip rectangles");
        id = push_draw(h, d);
        g_array_append_val(ids, id);
    }
    /* Bad fields of the drawable itself. */
    QXLDrawable *d = qxl_host_fill_cmd(h, 100, rc(0, 0, 4, 4), 0);
    expect_worker(dropped, "surface id out of range");
    id = push_draw(h, d);
    g_array_append_val(ids, id);
    d = qxl_host_fill_cmd(h, 7, rc(0, 0, 4, 4), 0);
    expect_worker(dropped, "its surface does not exist");
    id = push_draw(h, d);
    g_array_append_val(ids, id);
    d = qxl_host_fill_cmd(h, 0, rc(10, 0, 4, 4), 0);
    expect_worker(dropped, "rectangle with negative size");
    id = push_draw(h, d);
    g_array_append_val(ids, id);
    d = qxl_host_fill_cmd(h, 0, rc(0, 0, 4, 4), 0);
    d->type = 200;
    expect_worker(dropped, "unknown drawing type");
    id = push_draw(h, d);
    g_array_append_val(ids, id);
    d = qxl_host_fill_cmd(h, 0, rc(0, 0, 4, 4), 0);
    d->u.fill.rop_descriptor = 0x8000;
    expect_worker(dropped, "unknown raster operation bits");
    id = push_draw(h, d);
    g_array_append_val(ids, id);

    /* Headers the server cannot read (so cannot release): outside the
     * slot, in a group that does not exist; and one whose release info
     * is the last 8 bytes of the slot (released, the rest unreadable). */
    expect_worker(dropped, "address range outside its memory slot");
    qxl_host_push_raw(h, QXL_CMD_DRAW, qxl_host_addr(QXL_HOST_SLOT, gen, QXL_HOST_MEM_SIZE + 64),
                      QXL_HOST_GROUP);
    expect_worker(dropped, "memory slot group out of range");
    qxl_host_push_raw(h, QXL_CMD_DRAW, qxl_host_phys(h, qxl_host_fill_cmd(h, 0, rc(0, 0, 1, 1), 0)),
                      3);
    QXLReleaseInfo *tail = qxl_host_alloc_at_end(h, sizeof(QXLReleaseInfo));
    tail->id = qxl_host_issue_id(h);
    qxl_host_mark_handed(h, tail->id);
    expect_worker(dropped, "address range outside its memory slot");
    qxl_host_push_raw(h, QXL_CMD_DRAW, qxl_host_phys(h, tail), QXL_HOST_GROUP);

    /* Past 20 warnings the worker goes quiet, and still drops and releases. */
    g_assert_cmpuint(worker_warnings, ==, 20);
    for (int i = 0; i < 5; i++) {
        expect_worker(dropped, "surface id out of range");
        id = push_draw(h, qxl_host_fill_cmd(h, 100 + (uint32_t)i, rc(0, 0, 4, 4), 0));
        g_array_append_val(ids, id);
    }

    /* Still alive and rendering. */
    uint64_t ok = qxl_host_push_fill(h, 0, rc(20, 20, 30, 30), 0x00123456);
    spice_server_vm_start(s);
    QXL_WAIT(qxl_host_released(h, ok));
    g_test_assert_expected_messages();
    for (guint i = 0; i < ids->len; i++) {
        g_assert_cmpuint(qxl_host_released(h, g_array_index(ids, uint64_t, i)), ==, 1);
    }
    g_assert_cmpuint(qxl_host_released(h, tail->id), ==, 1);
    QXLRect area = rc(0, 0, W, H);
    spice_qxl_update_area(q, 0, &area, NULL, 0, 0);
    g_assert_cmphex(qxl_host_pixel(p.mem, W * 4, H, 25, 25), ==, 0x00123456);
    g_assert_cmphex(qxl_host_pixel(p.mem, W * 4, H, 0, 0), ==, 0);
    g_assert_cmphex(qxl_host_pixel(p.mem, W * 4, H, 19, 19), ==, 0);
    g_array_free(ids, TRUE);
    device_remove(h);
    server_down(s);
}

/* Commands were queued while stopped with their warnings announced: run
 * until `last` is released, then check the warnings and stop again. */
static void run_until_released(SpiceServer *s, QxlHost *h, uint64_t last)
{
    spice_server_vm_start(s);
    QXL_WAIT(qxl_host_released(h, last) > 0);
    spice_server_vm_stop(s);
    g_test_assert_expected_messages();
}

/* A surface create command with the given parameters. */
static QXLSurfaceCmd *surface_cmd(QxlHost *h, uint32_t id, uint32_t format, uint32_t w, uint32_t hh,
                                  int32_t stride)
{
    QXLSurfaceCmd *c = qxl_host_surface_cmd(h, id, QXL_SURFACE_CMD_CREATE);
    c->u.surface_create.format = format;
    c->u.surface_create.width = w;
    c->u.surface_create.height = hh;
    c->u.surface_create.stride = stride;
    c->u.surface_create.data = qxl_host_phys(h, qxl_host_alloc(h, 4096));
    return c;
}

static void test_hostile_commands(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);
    Primary p = primary_up(h, W, H, false);
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t id;
    const uint32_t xrgb = SPICE_SURFACE_FMT_32_xRGB;

    struct {
        QXLSurfaceCmd *cmd;
        const char *what, *why;
    } surfaces[] = {
        { surface_cmd(h, 5, xrgb, 0x40000000, 4, 16), "surface command dropped",
          "surface size out of range (1..16384)" },
        { surface_cmd(h, 5, xrgb, 4, 4, INT32_MIN), "surface command dropped",
          "invalid surface stride" },
        { surface_cmd(h, 5, xrgb, 100, 4, 4), "surface command dropped",
          "surface stride smaller than its width needs" },
        { surface_cmd(h, 5, xrgb, 16384, 16384, 65536), "surface command dropped",
          "address range outside its memory slot" },
        { surface_cmd(h, 5000, xrgb, 4, 4, 16), "surface command dropped",
          "surface id out of range" },
        { surface_cmd(h, 5, 77, 4, 4, 16), "surface command dropped", "unknown surface format" },
        { surface_cmd(h, 5, xrgb, 3, 4, 13), "surface not created",
          "the renderer cannot use its format or size" },
        { surface_cmd(h, 5, xrgb, 4, 4, 16), NULL, NULL }, /* valid: surface 5 */
        { surface_cmd(h, 5, xrgb, 4, 4, 16), "surface create dropped",
          "the surface already exists" },
        { qxl_host_surface_cmd(h, 6, QXL_SURFACE_CMD_DESTROY), "surface destroy dropped",
          "the surface does not exist" },
        { qxl_host_surface_cmd(h, 6, 9), "surface command dropped", "unknown surface command" },
    };
    uint64_t create5 = 0;
    spice_server_vm_stop(s);
    for (unsigned i = 0; i < G_N_ELEMENTS(surfaces); i++) {
        if (surfaces[i].what) {
            expect_worker(surfaces[i].what, surfaces[i].why);
        }
        id = qxl_host_push(h, QXL_CMD_SURFACE, surfaces[i].cmd);
        if (surfaces[i].what) {
            g_array_append_val(ids, id);
        } else {
            create5 = id;
        }
    }
    run_until_released(s, h, id);

    /* Cursor commands: too large, unknown type, a size that does not match. */
    for (int i = 0; i < 3; i++) {
        QXLCursorCmd *c = qxl_host_cursor_cmd(h, i == 1 ? 9 : QXL_CURSOR_SET);
        QXLCursor *shape = qxl_host_cursor_shape(h, 8, 8);
        if (i == 0) {
            shape->header.width = 1000;
        } else if (i == 2) {
            shape->data_size = 100;
        }
        c->u.set.shape = qxl_host_phys(h, shape);
        expect_worker("cursor command dropped",
                      i == 0   ? "cursor shape larger than 512x512"
                      : i == 1 ? "unknown cursor command"
                               : "cursor shape data size does not match its size and type");
        id = qxl_host_push_cursor(h, c);
        g_array_append_val(ids, id);
    }
    run_until_released(s, h, id);

    /* Update commands: inverted area, bad surface. */
    for (int i = 0; i < 2; i++) {
        QXLUpdateCmd *u = qxl_host_cmd_alloc(h, sizeof(QXLUpdateCmd));
        u->area = i == 0 ? rc(10, 10, 0, 0) : rc(0, 0, 1, 1);
        u->surface_id = i == 0 ? 0 : 99;
        expect_worker("update command dropped",
                      i == 0 ? "rectangle with negative size" : "surface id out of range");
        id = qxl_host_push(h, QXL_CMD_UPDATE, u);
        g_array_append_val(ids, id);
    }
    /* A message without a terminator that runs to the end of the slot,
     * with bytes that are not text: read up to the slot end, no warning. */
    QXLMessage *m = qxl_host_alloc_at_end(h, 3000);
    for (int i = 0; i < 3000 - (int)sizeof(QXLMessage); i++) {
        m->data[i] = (uint8_t)(i % 7 == 0 ? 0x07 : 'a' + i % 26);
    }
    uint64_t msg = qxl_host_issue_id(h);
    m->release_info.id = msg;
    qxl_host_mark_handed(h, msg);
    qxl_host_push_raw(h, QXL_CMD_MESSAGE, qxl_host_phys(h, m), QXL_HOST_GROUP);
    /* An unknown command type. */
    expect_worker("command dropped", "unknown command type");
    id = qxl_host_push(h, 42, qxl_host_cmd_alloc(h, sizeof(QXLDrawable)));
    g_array_append_val(ids, id);

    /* Still alive: a fill on the primary and one on surface 5. */
    uint64_t ok5 = qxl_host_push_fill(h, 5, rc(0, 0, 4, 4), 0x00777777);
    uint64_t ok = qxl_host_push_fill(h, 0, rc(0, 0, 4, 4), 0x00654321);
    run_until_released(s, h, ok);
    for (guint i = 0; i < ids->len; i++) {
        g_assert_cmpuint(qxl_host_released(h, g_array_index(ids, uint64_t, i)), ==, 1);
    }
    g_assert_cmpuint(qxl_host_released(h, msg), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, ok5), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, create5), ==, 0);
    QXLRect area = rc(0, 0, W, H);
    spice_qxl_update_area(q, 0, &area, NULL, 0, 0);
    g_assert_cmphex(qxl_host_pixel(p.mem, W * 4, H, 3, 3), ==, 0x00654321);
    g_array_free(ids, TRUE);
    device_remove(h);
    server_down(s);
}

/*
 * Boxes as wide as int32 allows: valid (ordered) boxes the renderer clips
 * to the surface. Nothing about them may overflow (undefined behaviour
 * that UBSan reports): the fill paints the rows it covers, the copy bits
 * whose source lies far outside the surface copies nothing.
 */
static void test_hostile_huge_coordinates(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    QXLInstance *q = qxl_host_instance(h);
    Primary p = primary_up(h, W, H, false);
    uint64_t fill = qxl_host_push_fill(h, 0, rc(INT32_MIN, 0, INT32_MAX, 8), 0x00a1b2c3);
    QXLDrawable *bits = qxl_host_drawable(h, 0, QXL_COPY_BITS, rc(INT32_MIN, 8, 8, 16));
    uint64_t copy = push_draw(h, bits);
    QXL_WAIT(qxl_host_released(h, fill) && qxl_host_released(h, copy));
    QXLRect area = rc(0, 0, W, H);
    spice_qxl_update_area(q, 0, &area, NULL, 0, 0);
    Model m = model_new(W, H, 0);
    model_fill(&m, rc(0, 0, W, 8), 0x00a1b2c3);
    assert_surface(&m, p.mem, W * 4);
    model_free(&m);
    device_remove(h);
    server_down(s);
}

/* ---- 6. vm stop / start ---------------------------------------------------------------- */

/* While stopped, the worker does not read the rings, whatever wakes it;
 * resume(s, q) restarts it and everything queued is processed. */
static void check_stopped(QxlHost *h, Primary *p, uint32_t color, uint64_t cookie,
                          void (*resume)(SpiceServer *s, QXLInstance *q), SpiceServer *s)
{
    QXLInstance *q = qxl_host_instance(h);
    guint calls = qxl_host_stat(h, QXL_STAT_GET_COMMAND);
    guint cursor_calls = qxl_host_stat(h, QXL_STAT_GET_CURSOR_COMMAND);
    guint releases = qxl_host_stat(h, QXL_STAT_RELEASE);
    uint64_t last = 0;
    for (int i = 0; i < 5; i++) {
        last = qxl_host_push_fill(h, 0, rc(0, i, W, i + 1), color);
    }
    QXLCursorCmd *move = qxl_host_cursor_cmd(h, QXL_CURSOR_MOVE);
    uint64_t cursor = qxl_host_push_cursor(h, move);
    spice_qxl_wakeup(q);
    spice_qxl_oom(q);
    /* Async calls still complete while stopped. */
    QXLRect area = rc(0, 0, W, H);
    spice_qxl_update_area_async(q, 0, &area, 0, cookie);
    spice_qxl_flush_surfaces_async(q, cookie + 1);
    QXL_WAIT(qxl_host_cookie(h, cookie + 1) == 1);
    qxl_host_pump_for(300);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_GET_COMMAND), ==, calls);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_GET_CURSOR_COMMAND), ==, cursor_calls);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_RELEASE), ==, releases);
    g_assert_cmpuint(qxl_host_queued(h), ==, 6);
    g_assert_cmpuint(qxl_host_cookie(h, cookie), ==, 1);

    resume(s, q);
    QXL_WAIT(qxl_host_released(h, last) && qxl_host_released(h, cursor));
    g_assert_cmpuint(qxl_host_queued(h), ==, 0);
    spice_qxl_update_area(q, 0, &area, NULL, 0, 0);
    g_assert_cmphex(qxl_host_pixel(p->mem, W * 4, H, W - 1, 4), ==, color);
    g_assert_cmphex(qxl_host_pixel(p->mem, W * 4, H, 0, 0), ==, color);
}

static void resume_vm(SpiceServer *s, QXLInstance *q)
{
    (void)q;
    spice_server_vm_start(s);
    spice_server_vm_start(s); /* twice: no effect */
}

static void resume_qxl(SpiceServer *s, QXLInstance *q)
{
    (void)s;
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    spice_qxl_start(q);
    G_GNUC_END_IGNORE_DEPRECATIONS
}

static void test_vm_stop_start(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    QXLInstance *q = qxl_host_instance(h);
    spice_server_vm_start(s);
    Primary p = primary_up(h, W, H, false);
    QXL_WAIT(qxl_host_stat(h, QXL_STAT_GET_COMMAND) > 0);

    spice_server_vm_stop(s);
    spice_server_vm_stop(s); /* twice: no effect */
    check_stopped(h, &p, 0x00aa0000, 201, resume_vm, s);

    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    spice_qxl_stop(q);
    G_GNUC_END_IGNORE_DEPRECATIONS
    check_stopped(h, &p, 0x0000bb00, 203, resume_qxl, s);

    device_remove(h);
    server_down(s);
}

/* ---- 7. the other entry points ------------------------------------------------------------ */

static void test_other_entry_points(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    QXLInstance *q = qxl_host_instance(h);
    /* loadvm: the VM is not running yet when QEMU replays the commands. */
    Primary p = primary_up(h, W, H, false);
    QXLSurfaceCmd *c3 = qxl_host_surface_create_cmd(h, 3, 8, 8, 0, 0x5a, NULL);
    QXLDrawable *f0 = qxl_host_fill_cmd(h, 0, rc(0, 0, 8, 8), 0x00a0b0c0);
    QXLDrawable *f3 = qxl_host_fill_cmd(h, 3, rc(0, 0, 4, 4), 0x00010203);
    void *cmds[] = { c3, f0, f3 };
    uint32_t types[] = { QXL_CMD_SURFACE, QXL_CMD_DRAW, QXL_CMD_DRAW };
    QXLCommandExt ext[3];
    for (int i = 0; i < 3; i++) {
        memset(&ext[i], 0, sizeof(ext[i]));
        ext[i].cmd.data = qxl_host_phys(h, cmds[i]);
        ext[i].cmd.type = types[i];
        ext[i].group_id = QXL_HOST_GROUP;
        qxl_host_mark_handed(h, qxl_host_cmd_id(cmds[i]));
    }
    spice_qxl_loadvm_commands(q, ext, 3);
    g_assert_cmpuint(qxl_host_released(h, qxl_host_cmd_id(f0)), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, qxl_host_cmd_id(f3)), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, qxl_host_cmd_id(c3)), ==, 0);
    QXLRect area = rc(0, 0, 8, 8);
    spice_qxl_update_area(q, 0, &area, NULL, 0, 0);
    g_assert_cmphex(qxl_host_pixel(p.mem, W * 4, H, 7, 7), ==, 0x00a0b0c0);
    g_assert_cmphex(qxl_host_pixel(p.mem, W * 4, H, 8, 8), ==, 0);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_GET_COMMAND), ==, 0);
    spice_server_vm_start(s);

    /* oom: the worker processes what it can and asks for a flush. */
    spice_qxl_oom(q);
    QXL_WAIT(qxl_host_stat(h, QXL_STAT_FLUSH_RESOURCES) >= 1);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_ASYNC_COMPLETE), ==, 0);
    spice_qxl_reset_cursor(q);
    spice_qxl_reset_image_cache(q);
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    spice_qxl_set_max_monitors(q, 1);
    G_GNUC_END_IGNORE_DEPRECATIONS
    QXLMonitorsConfig *mc = qxl_host_alloc(h, sizeof(QXLMonitorsConfig) + 2 * sizeof(QXLHead));
    mc->count = 2;
    mc->heads[0].width = mc->heads[1].width = W / 2;
    mc->heads[0].height = mc->heads[1].height = H;
    mc->heads[1].x = W / 2;
    spice_qxl_monitors_config_async(q, qxl_host_phys(h, mc), QXL_HOST_GROUP, 301);
    spice_qxl_set_device_info(q, "pci/0000/02.0", 0, 1);
    spice_qxl_driver_unload(q);
    for (int i = 0; i < 100; i++) {
        spice_qxl_wakeup(q);
    }
    uint64_t fill = qxl_host_push_fill(h, 0, rc(8, 8, 16, 16), 0x00102030);
    QXL_WAIT(qxl_host_released(h, fill) && qxl_host_cookie(h, 301));

    /* destroy_surface_wait releases the surface's create command. */
    spice_qxl_destroy_surface_wait(q, 3);
    g_assert_cmpuint(qxl_host_released(h, qxl_host_cmd_id(c3)), ==, 1);
    expect_worker("destroy_surface", "no such surface");
    spice_qxl_destroy_surface_wait(q, 3);
    g_test_assert_expected_messages();
    /* destroy_surfaces: every surface, every create command. */
    uint64_t c4 =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 4, 8, 8, 0, 0, NULL));
    uint64_t c5 =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 5, 8, 8, 0, 0, NULL));
    QXL_WAIT(qxl_host_handed(h, c5));
    spice_qxl_destroy_surfaces(q);
    g_assert_cmpuint(qxl_host_released(h, c4), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, c5), ==, 1);
    expect_worker("update_area", "no such surface");
    spice_qxl_update_area(q, 0, &area, NULL, 0, 0);
    g_test_assert_expected_messages();

    /* Memslots the host gets wrong are refused. */
    QXLDevMemSlot wrong = qxl_host_memslot(h);
    wrong.slot_id = QXL_HOST_N_SLOTS;
    expect_worker("add_memslot refused", "memory slot group or id out of range");
    spice_qxl_add_memslot(q, &wrong);
    wrong = qxl_host_memslot(h);
    wrong.virt_end = wrong.virt_start - 1;
    expect_worker("add_memslot refused", "memory slot ends before it starts");
    spice_qxl_add_memslot(q, &wrong);
    wrong = qxl_host_memslot(h);
    wrong.generation = 1u << QXL_HOST_GEN_BITS;
    expect_worker("add_memslot refused", "memory slot generation does not fit the generation bits");
    spice_qxl_add_memslot(q, &wrong);
    expect_worker("del_memslot refused", "memory slot group or id out of range");
    spice_qxl_del_memslot(q, 1, QXL_HOST_SLOT);
    g_test_assert_expected_messages();

    /* del_memslot: commands in the slot can no longer be read. */
    p = primary_up(h, W, H, false);
    spice_qxl_del_memslot(q, QXL_HOST_GROUP, QXL_HOST_SLOT);
    spice_server_vm_stop(s);
    QXLDrawable *lost = qxl_host_fill_cmd(h, 0, rc(0, 0, 4, 4), 0x00ffffff);
    expect_worker("drawing command dropped", "memory slot not in use");
    qxl_host_push_raw(h, QXL_CMD_DRAW, qxl_host_phys(h, lost), QXL_HOST_GROUP);
    spice_server_vm_start(s);
    QXL_WAIT(qxl_host_queued(h) == 0);
    spice_qxl_reset_image_cache(q); /* a round trip: the batch is over */
    g_test_assert_expected_messages();
    QXLDevMemSlot slot = qxl_host_memslot(h);
    spice_qxl_add_memslot(q, &slot);
    fill = qxl_host_push_fill(h, 0, rc(0, 0, 4, 4), 0x00445566);
    QXL_WAIT(qxl_host_released(h, fill));

    /* reset_memslots, then the slot again with generation 2: addresses
     * of generation 1 are stale, in a command header or inside one. */
    QXLImage *old_img = qxl_host_bitmap32(h, 4, 4, (uint32_t[16]){ 0 }, false);
    QXLDrawable *old_hdr = qxl_host_fill_cmd(h, 0, rc(0, 0, 4, 4), 0x00ffffff);
    QXLPHYSICAL old_img_addr = qxl_host_phys(h, old_img), old_hdr_addr = qxl_host_phys(h, old_hdr);
    spice_qxl_destroy_primary_surface(q, 0);
    spice_qxl_reset_memslots(q);
    qxl_host_set_generation(h, 2);
    slot = qxl_host_memslot(h);
    spice_qxl_add_memslot(q, &slot);
    p = primary_up(h, W, H, false);
    spice_server_vm_stop(s);
    QXLDrawable *stale = qxl_host_copy_cmd(h, 0, rc(0, 0, 4, 4), old_img, rc(0, 0, 4, 4));
    stale->u.copy.src_bitmap = old_img_addr;
    expect_worker("drawing command dropped", "memory slot generation mismatch (stale address)");
    uint64_t stale_id = push_draw(h, stale);
    expect_worker("drawing command dropped", "memory slot generation mismatch (stale address)");
    qxl_host_push_raw(h, QXL_CMD_DRAW, old_hdr_addr, QXL_HOST_GROUP);
    fill = qxl_host_push_fill(h, 0, rc(0, 0, 4, 4), 0x00778899);
    spice_server_vm_start(s);
    QXL_WAIT(qxl_host_released(h, fill));
    g_test_assert_expected_messages();
    g_assert_cmpuint(qxl_host_released(h, stale_id), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, qxl_host_cmd_id(old_hdr)), ==, 0);
    QXLRect parea = rc(0, 0, W, H);
    spice_qxl_update_area(q, 0, &parea, NULL, 0, 0);
    g_assert_cmphex(qxl_host_pixel(p.mem, W * 4, H, 3, 3), ==, 0x00778899);

    device_remove(h);
    server_down(s);
}

/* ---- 8. GL ------------------------------------------------------------------------------- */

static bool fd_closed(int fd)
{
    errno = 0;
    return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static void test_gl_refused(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    QXLInstance *q = qxl_host_instance(h);
    spice_server_vm_start(s);
    int fds[2];
    g_assert_cmpint(pipe(fds), ==, 0);
    expect_warning("plugin display: display 0: gl_scanout refused: GL scanout (dma-buf passing to "
                   "a local client) is not supported; use a non-GL display");
    spice_qxl_gl_scanout(q, fds[0], 64, 64, 256, 0x34325258 /* XR24 */, 0);
    g_test_assert_expected_messages();
    g_assert_true(fd_closed(fds[0]));
    /* Again: the fd is still taken and closed (the warning was said once). */
    spice_qxl_gl_scanout(q, fds[1], 64, 64, 256, 0x34325258, 1);
    g_assert_true(fd_closed(fds[1]));
    spice_qxl_gl_scanout(q, -1, 0, 0, 0, 0, 0);
    /* No scanout: gl_draw_async has nothing to draw and completes. */
    spice_qxl_gl_draw_async(q, 0, 0, 64, 64, 401);
    QXL_WAIT(qxl_host_cookie(h, 401) == 1);
    qxl_host_pump_for(50);
    g_assert_cmpuint(qxl_host_cookie(h, 401), ==, 1);
    device_remove(h);
    server_down(s);
}

/* ---- cursor latency ------------------------------------------------------------------ */

/*
 * A cursor command must not wait for the display ring to drain: with a
 * backlog of expensive drawing (full-screen fills of a 1024x1024
 * primary) the cursor ring still gets its turn, as in the reference
 * server, which reads the cursor ring first on every pass.
 */
static void test_cursor_not_starved(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    primary_up(h, 1024, 1024, false);
    spice_server_vm_stop(s);
    uint64_t last = 0;
    for (int i = 0; i < 100; i++) {
        last = qxl_host_push_fill(h, 0, rc(0, 0, 1024, 1024), (uint32_t)i);
    }
    uint64_t cursor = qxl_host_push_cursor(h, qxl_host_cursor_cmd(h, QXL_CURSOR_MOVE));
    gint64 start = g_get_monotonic_time();
    spice_server_vm_start(s);
    QXL_WAIT(qxl_host_released(h, cursor) && qxl_host_released(h, last));
    g_test_message("100 full-screen fills in %" G_GINT64_FORMAT " ms; cursor released as #%u, "
                   "the last fill as #%u",
                   (g_get_monotonic_time() - start) / 1000, qxl_host_release_seq(h, cursor),
                   qxl_host_release_seq(h, last));
    g_assert_cmpuint(qxl_host_release_seq(h, cursor), <, qxl_host_release_seq(h, last));
    device_remove(h);
    server_down(s);
}

/* ---- calls that must see the whole ring --------------------------------------------------- */

/*
 * Warnings the server may or may not give (when a check fails, what
 * follows is logged): counted instead of being fatal.
 */
static gint collected_warnings;

static void count_warning(const gchar *domain, GLogLevelFlags level, const gchar *message,
                          gpointer data)
{
    (void)domain, (void)level, (void)data;
    g_atomic_int_inc(&collected_warnings);
    g_test_message("warning: %s", message);
}

static guint collect_begin(GLogLevelFlags *old_fatal)
{
    g_atomic_int_set(&collected_warnings, 0);
    *old_fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
    return g_log_set_handler(DOMAIN, G_LOG_LEVEL_WARNING, count_warning, NULL);
}

static int collect_end(guint handler, GLogLevelFlags old_fatal)
{
    g_log_remove_handler(DOMAIN, handler);
    g_log_set_always_fatal(old_fatal);
    return g_atomic_int_get(&collected_warnings);
}

/* A running device with a 1024x1024 primary: full-screen fills take long
 * enough that a backlog of them outlasts one batch of the worker. */
/* The side of the busy device's primary: big enough that 200 fills keep
 * the worker busy, small enough that a sanitized build renders them well
 * within the 2 s a flush may take. */
#define BUSY_SIZE 512

static QxlHost *busy_device(SpiceServer *s, Primary *p)
{
    QxlHost *h = device_add(s, 0);
    spice_server_vm_start(s);
    *p = primary_up(h, BUSY_SIZE, BUSY_SIZE, false);
    return h;
}

/* Queue n full-screen fills of colors first.. (the worker starts on them
 * when the VM starts). */
static void queue_fills(SpiceServer *s, QxlHost *h, uint32_t first, int n)
{
    spice_server_vm_stop(s);
    for (int i = 0; i < n; i++) {
        qxl_host_push_fill(h, 0, rc(0, 0, BUSY_SIZE, BUSY_SIZE), first + (uint32_t)i);
    }
    spice_server_vm_start(s);
}

/* update_area: the area with every command queued before the call
 * rendered (the reference flushes the display ring first). */
static void test_update_area_flushes_ring(void)
{
    SpiceServer *s = server_up();
    Primary p;
    QxlHost *h = busy_device(s, &p);
    QXLRect area = rc(0, 0, BUSY_SIZE, BUSY_SIZE);
    queue_fills(s, h, 1, 200);
    spice_qxl_update_area(qxl_host_instance(h), 0, &area, NULL, 0, 0);
    g_test_message("%u commands still queued after update_area", qxl_host_queued(h));
    g_assert_cmphex(qxl_host_pixel(p.mem, BUSY_SIZE * 4, BUSY_SIZE, BUSY_SIZE - 1, BUSY_SIZE - 1),
                    ==, 200);
    QXL_WAIT(qxl_host_queued(h) == 0);
    device_remove(h);
    server_down(s);
}

/* flush_surfaces_async: completes with the rings empty. */
static void test_flush_surfaces_flushes_ring(void)
{
    SpiceServer *s = server_up();
    Primary p;
    QxlHost *h = busy_device(s, &p);
    queue_fills(s, h, 1, 200);
    spice_qxl_flush_surfaces_async(qxl_host_instance(h), 601);
    QXL_WAIT(qxl_host_cookie(h, 601) == 1);
    g_assert_cmpint(qxl_host_queued_at_complete(h, 601), ==, 0);
    QXL_WAIT(qxl_host_queued(h) == 0);
    device_remove(h);
    server_down(s);
}

/* destroy_surfaces: the commands queued before it are processed first, so
 * a surface created there is destroyed (and released) by it, and the
 * drawing queued before it does not land on destroyed surfaces. */
static void test_destroy_surfaces_flushes_ring(void)
{
    SpiceServer *s = server_up();
    Primary p;
    QxlHost *h = busy_device(s, &p);
    spice_server_vm_stop(s);
    for (int i = 0; i < 200; i++) {
        qxl_host_push_fill(h, 0, rc(0, 0, BUSY_SIZE, BUSY_SIZE), (uint32_t)i);
    }
    uint64_t create =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 5, 8, 8, 0, 0, NULL));
    GLogLevelFlags old_fatal;
    guint handler = collect_begin(&old_fatal);
    spice_server_vm_start(s);
    spice_qxl_destroy_surfaces(qxl_host_instance(h));
    guint released_at_return = qxl_host_released(h, create);
    QXL_WAIT(qxl_host_queued(h) == 0);
    spice_qxl_reset_image_cache(qxl_host_instance(h)); /* round trip: the batch is over */
    int warnings = collect_end(handler, old_fatal);
    g_assert_cmpuint(released_at_return, ==, 1);
    g_assert_cmpint(warnings, ==, 0);
    device_remove(h);
    server_down(s);
}

/* ---- 9. removal with work pending -------------------------------------------------------- */

static void test_remove_pending(void)
{
    SpiceServer *s = server_up();
    QxlHost *h = device_add(s, 0), *h2 = device_add(s, 1);
    QXLInstance *q = qxl_host_instance(h);
    spice_server_vm_start(s);
    primary_up(h, W, H, false);
    primary_up(h2, W, H, false);
    uint64_t c1 =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 1, 8, 8, 0, 0, NULL));
    uint64_t c2 =
        qxl_host_push(h, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h, 2, 8, 8, 0, 0, NULL));
    QXL_WAIT(qxl_host_handed(h, c2));

    /* More than a batch, on both rings, then async calls, then remove. */
    for (int i = 0; i < 300; i++) {
        qxl_host_push_fill(h, (uint32_t)(i % 3), rc(0, 0, 8, 8), (uint32_t)i);
        if (i % 10 == 0) {
            qxl_host_push_cursor(h, qxl_host_cursor_cmd(h, QXL_CURSOR_MOVE));
        }
    }
    QXLRect area = rc(0, 0, W, H);
    spice_qxl_update_area_async(q, 0, &area, 0, 501);
    spice_qxl_flush_surfaces_async(q, 502);
    g_assert_cmpint(spice_server_remove_interface(qxl_host_base(h)), ==, 0);
    g_assert_cmpuint(qxl_host_cookie(h, 501), ==, 1);
    g_assert_cmpuint(qxl_host_cookie(h, 502), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, c1), ==, 1);
    g_assert_cmpuint(qxl_host_released(h, c2), ==, 1);
    qxl_host_check_releases(h, true);
    guint calls = qxl_host_stat(h, QXL_STAT_GET_COMMAND);
    guint releases = qxl_host_stat(h, QXL_STAT_RELEASE);
    qxl_host_pump_for(100);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_GET_COMMAND), ==, calls);
    g_assert_cmpuint(qxl_host_stat(h, QXL_STAT_RELEASE), ==, releases);
    g_test_message("%u commands were still queued at removal", qxl_host_queued(h));

    /* The instance is gone: calls on it are refused. */
    expect_warning("spice_qxl_wakeup: the instance was not added (no enabled plugin serves its "
                   "interface?)");
    spice_qxl_wakeup(q);
    g_test_assert_expected_messages();
    expect_warning("spice_server_remove_interface: the instance was never added");
    g_assert_cmpint(spice_server_remove_interface(qxl_host_base(h)), ==, -1);
    g_test_assert_expected_messages();
    qxl_host_free(h);

    /* Destroying the server with an instance still added releases its
     * surfaces too. */
    uint64_t c3 =
        qxl_host_push(h2, QXL_CMD_SURFACE, qxl_host_surface_create_cmd(h2, 3, 8, 8, 0, 0, NULL));
    for (int i = 0; i < 100; i++) {
        qxl_host_push_fill(h2, 0, rc(0, 0, 8, 8), (uint32_t)i);
    }
    QXL_WAIT(qxl_host_handed(h2, c3));
    server_down(s);
    g_assert_cmpuint(qxl_host_released(h2, c3), ==, 1);
    qxl_host_check_releases(h2, true);
    qxl_host_free(h2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* A failed check fails its case and the run goes on, so that one
     * server bug does not hide the others. */
    g_test_set_nonfatal_assertions();
    g_test_add_func("/qxl/add-interface", test_add_interface);
    g_test_add_func("/qxl/async-complete", test_async_complete);
    g_test_add_func("/qxl/entry-points-during-attach", test_entry_points_during_attach);
    g_test_add_func("/qxl/no-async-complete", test_no_async_complete);
    g_test_add_func("/qxl/render/primary", test_render_primary);
    g_test_add_func("/qxl/render/offscreen", test_render_offscreen);
    g_test_add_func("/qxl/render/offscreen-create-clears", test_offscreen_create_clears);
    g_test_add_func("/qxl/release-once", test_release_once);
    g_test_add_func("/qxl/hostile/drawables", test_hostile_drawables);
    g_test_add_func("/qxl/hostile/commands", test_hostile_commands);
    /* Last: in a UBSan build an overflow here ends the run. */
    g_test_add_func("/qxl/hostile/huge-coordinates", test_hostile_huge_coordinates);
    g_test_add_func("/qxl/vm-stop-start", test_vm_stop_start);
    g_test_add_func("/qxl/other-entry-points", test_other_entry_points);
    g_test_add_func("/qxl/gl-refused", test_gl_refused);
    g_test_add_func("/qxl/cursor-not-starved", test_cursor_not_starved);
    g_test_add_func("/qxl/update-area-flushes-ring", test_update_area_flushes_ring);
    g_test_add_func("/qxl/flush-surfaces-flushes-ring", test_flush_surfaces_flushes_ring);
    g_test_add_func("/qxl/destroy-surfaces-flushes-ring", test_destroy_surfaces_flushes_ring);
    g_test_add_func("/qxl/remove-pending", test_remove_pending);
    return g_test_run();
}
