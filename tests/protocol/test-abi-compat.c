/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-abi-compat.c: plugins built for older ABI minors on this server,
 * next to our 1.3 plugins and a real QXL device (qxl-host.c):
 *
 *  - old (tests/fixtures, ABI 1.0) declares the 1.0 sizes and fills every
 *    member past them and every reserved slot with garbage: with displays
 *    and cursors publishing, the core never reads any of it (a read would
 *    crash the test);
 *  - v12 (ABI 1.2) hears the display plugin's topics as 1.2 events, and
 *    the events it publishes reach 1.3 subscribers (the cursor plugin, the
 *    core) as topics; it never hears its own.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <spice/enums.h>

#include "common/glib-core.h"
#include "qxl-host.h"
#include "registry.h"
#include "server.h"
#include "topics.h"

static GPtrArray *said; /* messages of domain spicecore */

static void on_message(const gchar *domain, GLogLevelFlags level, const gchar *message,
                       gpointer data)
{
    (void)domain, (void)level, (void)data;
    g_ptr_array_add(said, g_strdup(message));
}

static bool heard(const char *text)
{
    for (guint i = 0; i < said->len; i++) {
        if (strcmp(g_ptr_array_index(said, i), text) == 0) {
            return true;
        }
    }
    return false;
}

#define WAIT_FOR(cond)                                                       \
    do {                                                                     \
        gint64 end_ = g_get_monotonic_time() + QXL_HOST_TIMEOUT_MS * 1000ll; \
        while (!(cond) && g_get_monotonic_time() < end_) {                   \
            qxl_host_pump();                                                 \
        }                                                                    \
        g_assert_true(cond);                                                 \
    } while (0)

static void test_old_and_v12(void)
{
    said = g_ptr_array_new_with_free_func(g_free);
    guint handler = g_log_set_handler("spicecore", G_LOG_LEVEL_MESSAGE, on_message, NULL);
    g_setenv("SPICE_PLUGIN_PATH", FIXTURE_DIR, TRUE);
    g_setenv("SPICE_PLUGIN_ENABLE", "main,display,cursor,old,v12", TRUE);
    SpiceCoreInterface *core = glib_core_new(g_main_context_default(), NULL, NULL);
    SpiceServer *s = spice_server_new();
    g_assert_cmpint(spice_server_init(s, core), ==, 0);
    g_unsetenv("SPICE_PLUGIN_ENABLE");
    g_unsetenv("SPICE_PLUGIN_PATH");
    g_assert_true(heard("plugin v12: v12: host provides ABI 1.5"));
    /* The 1.0 plugin's channel is there, and its char device (a 1.0
     * interface class with garbage past its size) is routed to it. */
    g_assert_nonnull(registry_find(s, 201, 0));
    static const SpiceCharDeviceInterface char_iface = {
        .base = { SPICE_INTERFACE_CHAR_DEVICE, "char", SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
                  SPICE_INTERFACE_CHAR_DEVICE_MINOR },
    };
    SpiceCharDeviceInstance dev = { { &char_iface.base }, "fixture-old", NULL, NULL };
    g_assert_cmpint(spice_server_add_interface(s, &dev.base), ==, 0);
    g_assert_cmpint(spice_server_remove_interface(&dev.base), ==, 0);

    QxlHost *h = qxl_host_new(0, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
    g_assert_cmpint(spice_server_add_interface(s, qxl_host_base(h)), ==, 0);
    QXLInstance *q = qxl_host_instance(h);
    QXLDevMemSlot slot = qxl_host_memslot(h);
    spice_qxl_add_memslot(q, &slot);
    spice_server_vm_start(s);
    QXLDevSurfaceCreate create;
    qxl_host_primary(h, 64, 32, false, 0, &create);
    spice_qxl_create_primary_surface(q, 0, &create);

    /* Topics of the display plugin, heard as 1.2 events. */
    g_autofree char *added =
        g_strdup_printf("plugin v12: v12: event %u display 0 size %zu",
                        SPICE_PLUGIN_EVENT_DISPLAY_ADDED, sizeof(SpiceDisplayInfo));
    g_autofree char *primary =
        g_strdup_printf("plugin v12: v12: event %u display 0 size %zu", SPICE_PLUGIN_EVENT_PRIMARY,
                        sizeof(SpicePrimaryInfo));
    WAIT_FOR(heard(added) && heard(primary));

    /* Its own 1.2 events, seen by 1.3 subscribers as the display topic:
     * the cursor plugin made a cursor channel for display 9. */
    WAIT_FOR(registry_find(s, SPICE_CHANNEL_CURSOR, 9) != NULL);
    SpiceDisplayInfo info = { 0 };
    /* The 1.2 payload: it ends before 1.4's client_monitors_config, and
     * readers see that in its size member. */
    g_assert_cmpint(topic_get(s->topics, SPICE_TOPIC_DISPLAY, 9, &info, sizeof(info)), ==,
                    offsetof(SpiceDisplayInfo, client_monitors_config));
    g_assert_false(SPICE_PAYLOAD_HAS(&info, SpiceDisplayInfo, client_monitors_config));
    g_assert_cmpuint(info.ram_size, ==, 1234);
    /* Removing a display nobody announced changes nothing. */
    g_assert_cmpint(topic_get(s->topics, SPICE_TOPIC_DISPLAY, 8, NULL, 0), ==, -ENOENT);
    g_assert_null(registry_find(s, SPICE_CHANNEL_CURSOR, 8));

    /* A cursor command: the cursor topic, as event 4. */
    QXLCursorCmd *cmd = qxl_host_cursor_cmd(h, QXL_CURSOR_SET);
    cmd->u.set.visible = 1;
    cmd->u.set.shape = qxl_host_phys(h, qxl_host_cursor_shape(h, 8, 8));
    uint64_t id = qxl_host_push_cursor(h, cmd);
    WAIT_FOR(qxl_host_released(h, id) == 1);
    g_autofree char *cursor =
        g_strdup_printf("plugin v12: v12: event %u display 0 size %zu", SPICE_PLUGIN_EVENT_CURSOR,
                        sizeof(SpiceCursorEvent) + 8 * 8 * 4);
    WAIT_FOR(heard(cursor));

    /* The display goes: DISPLAY_REMOVED. */
    spice_qxl_destroy_primary_surface(q, 0);
    g_assert_cmpint(spice_server_remove_interface(qxl_host_base(h)), ==, 0);
    g_autofree char *removed = g_strdup_printf("plugin v12: v12: event %u display 0 size 0",
                                               SPICE_PLUGIN_EVENT_DISPLAY_REMOVED);
    WAIT_FOR(heard(removed));
    WAIT_FOR(registry_find(s, SPICE_CHANNEL_CURSOR, 0) == NULL);

    /* Never its own events back. */
    g_autofree char *own =
        g_strdup_printf("plugin v12: v12: event %u display 9 size %zu",
                        SPICE_PLUGIN_EVENT_DISPLAY_ADDED, sizeof(SpiceDisplayInfo));
    g_assert_false(heard(own));

    spice_server_destroy(s);
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    glib_core_free(core);
    qxl_host_free(h);
    g_log_remove_handler("spicecore", handler);
    g_ptr_array_unref(said);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/abi-compat/old-and-v12", test_old_and_v12);
    return g_test_run();
}
