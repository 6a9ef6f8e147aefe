/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-api.c: the public API with bad arguments: interface versions and
 * types, routing to plugins that are absent, entry points on instances
 * that were never added, and the setters' validation.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <spice.h>

#include "common/glib-core.h"
#include "common/test-server.h"

#define DOMAIN "spicecore"

static void kbd_push(SpiceKbdInstance *sin, uint8_t frag)
{
    (void)sin, (void)frag;
}

static uint8_t kbd_leds(SpiceKbdInstance *sin)
{
    (void)sin;
    return 0;
}

static SpiceKbdInterface kbd_iface = {
    .base = { SPICE_INTERFACE_KEYBOARD, "test", SPICE_INTERFACE_KEYBOARD_MAJOR,
              SPICE_INTERFACE_KEYBOARD_MINOR },
    .push_scan_freg = kbd_push,
    .get_leds = kbd_leds,
};

static void check_versions(TestServer *ts, void *opaque)
{
    (void)opaque;
    SpiceServer *s = test_server_get(ts);
    SpiceKbdInstance kbd = { { &kbd_iface.base }, NULL };

    kbd_iface.base.major_version = 2;
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_add_interface: 'keyboard' interface version 2.1 is not "
                          "supported: plugin 'inputs' implements 1.1 (major must match, minor "
                          "must not be newer)");
    g_assert_cmpint(spice_server_add_interface(s, &kbd.base), ==, -1);
    g_test_assert_expected_messages();
    g_assert_null(kbd.st);

    kbd_iface.base.major_version = 1;
    kbd_iface.base.minor_version = 2;
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*version 1.2 is not supported*");
    g_assert_cmpint(spice_server_add_interface(s, &kbd.base), ==, -1);
    g_test_assert_expected_messages();

    /* An older minor is accepted. */
    kbd_iface.base.minor_version = 0;
    g_assert_cmpint(spice_server_add_interface(s, &kbd.base), ==, 0);
    g_assert_nonnull(kbd.st);
    g_assert_cmpint(spice_server_kbd_leds(&kbd, 2), ==, 0);

    /* Twice the same instance. */
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_add_interface('keyboard'): this instance is already added");
    g_assert_cmpint(spice_server_add_interface(s, &kbd.base), ==, -1);
    g_test_assert_expected_messages();

    /* A second keyboard: the plugin refuses it. */
    SpiceKbdInstance kbd2 = { { &kbd_iface.base }, NULL };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "plugin inputs: a keyboard is already "
                          "attached");
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_add_interface: plugin 'inputs' refused the 'keyboard' "
                          "instance: *");
    g_assert_cmpint(spice_server_add_interface(s, &kbd2.base), ==, -1);
    g_test_assert_expected_messages();

    g_assert_cmpint(spice_server_remove_interface(&kbd.base), ==, 0);
    g_assert_null(kbd.st);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_remove_interface: the instance was never added");
    g_assert_cmpint(spice_server_remove_interface(&kbd.base), ==, -1);
    g_test_assert_expected_messages();
    kbd_iface.base.minor_version = SPICE_INTERFACE_KEYBOARD_MINOR;
}

static void test_interface_versions(void)
{
    TestServerConfig cfg = { .no_keyboard = true };
    TestServer *ts = test_server_start(&cfg);
    test_server_call(ts, check_versions, NULL);
    test_server_stop(ts);
}

static void check_unserved(TestServer *ts, void *opaque)
{
    (void)opaque;
    SpiceServer *s = test_server_get(ts);

    static const SpiceBaseInterface unknown = { "teleporter", "?", 1, 0 };
    SpiceKbdInstance odd = { { &unknown }, NULL };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_add_interface: unknown interface type 'teleporter'");
    g_assert_cmpint(spice_server_add_interface(s, &odd.base), ==, -1);
    g_test_assert_expected_messages();

    static const QXLInterface qxl_iface = {
        .base = { SPICE_INTERFACE_QXL, "qxl", SPICE_INTERFACE_QXL_MAJOR,
                  SPICE_INTERFACE_QXL_MINOR },
    };
    QXLInstance qxl = { { &qxl_iface.base }, 0, NULL };
    /* The display plugin serves QXL but refuses an interface without callbacks. */
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "plugin display: QXL instance refused: the QXL interface lacks a "
                          "required callback (get_init_info, get_command or release_resource)");
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_add_interface: plugin 'display' refused the 'qxl' "
                          "instance: *");
    g_assert_cmpint(spice_server_add_interface(s, &qxl.base), ==, -1);
    g_test_assert_expected_messages();

    /* Entry points on the refused instance fail loudly, once each. */
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_qxl_wakeup: the instance was not added (no enabled plugin "
                          "serves its interface?)");
    spice_qxl_wakeup(&qxl);
    spice_qxl_wakeup(&qxl);
    g_test_assert_expected_messages();
    int fds[2];
    g_assert_cmpint(pipe(fds), ==, 0);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "spice_qxl_gl_scanout: *");
    spice_qxl_gl_scanout(&qxl, fds[0], 1, 1, 4, 0, 0);
    g_test_assert_expected_messages();
    g_assert_cmpint(fcntl(fds[0], F_GETFD), ==, -1); /* the fd was closed */
    close(fds[1]);

    /* An instance that was never added: the audio entry points fail
     * loudly and return their "nothing" values. */
    static const SpiceRecordInterface rec_iface = {
        .base = { SPICE_INTERFACE_RECORD, "rec", SPICE_INTERFACE_RECORD_MAJOR,
                  SPICE_INTERFACE_RECORD_MINOR },
    };
    SpiceRecordInstance rec = { { &rec_iface.base }, NULL };
    uint32_t samples[4] = { 1, 2, 3, 4 };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "spice_server_record_get_samples: *");
    g_assert_cmpuint(spice_server_record_get_samples(&rec, samples, 4), ==, 0);
    g_test_assert_expected_messages();

    static const SpiceCharDeviceInterface char_iface = {
        .base = { SPICE_INTERFACE_CHAR_DEVICE, "char", SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
                  SPICE_INTERFACE_CHAR_DEVICE_MINOR },
    };
    SpiceCharDeviceInstance card = { { &char_iface.base }, "smartcard", NULL, NULL };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "*no enabled plugin serves the 'char_device:smartcard' interface*");
    g_assert_cmpint(spice_server_add_interface(s, &card.base), ==, -1);
    g_test_assert_expected_messages();
    SpiceCharDeviceInstance nosub = { { &char_iface.base }, NULL, NULL, NULL };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_add_interface: char device without a subtype");
    g_assert_cmpint(spice_server_add_interface(s, &nosub.base), ==, -1);
    g_test_assert_expected_messages();

    /* The migration interface is kept by the core. */
    static const SpiceMigrateInterface mig_iface = {
        .base = { SPICE_INTERFACE_MIGRATION, "mig", SPICE_INTERFACE_MIGRATION_MAJOR,
                  SPICE_INTERFACE_MIGRATION_MINOR },
    };
    SpiceMigrateInstance mig = { { &mig_iface.base }, NULL };
    g_assert_cmpint(spice_server_add_interface(s, &mig.base), ==, 0);
    g_assert_cmpint(spice_server_remove_interface(&mig.base), ==, 0);

    SpiceKbdInstance never = { { &kbd_iface.base }, NULL };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "spice_server_kbd_leds: *");
    g_assert_cmpint(spice_server_kbd_leds(&never, 1), ==, -1);
    g_test_assert_expected_messages();
}

static void test_unserved_interfaces(void)
{
    TestServer *ts = test_server_start(NULL);
    test_server_call(ts, check_unserved, NULL);
    test_server_stop(ts);
}

/* A disabled plugin is named in the warning, from the search path, not
 * from a list in the core. */
static void check_disabled_display(TestServer *ts, void *opaque)
{
    (void)opaque;
    SpiceServer *s = test_server_get(ts);
    static const QXLInterface qxl_iface = {
        .base = { SPICE_INTERFACE_QXL, "qxl", SPICE_INTERFACE_QXL_MAJOR,
                  SPICE_INTERFACE_QXL_MINOR },
    };
    QXLInstance qxl = { { &qxl_iface.base }, 0, NULL };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_add_interface: no enabled plugin serves the 'qxl' "
                          "interface (installed but not loaded: *display (disabled by "
                          "SPICE_PLUGIN_DISABLE)*); 'spice-plugin-list --serves qxl' names the "
                          "plugins that do");
    g_assert_cmpint(spice_server_add_interface(s, &qxl.base), ==, -1);
    g_test_assert_expected_messages();
}

static void test_disabled_plugin_named(void)
{
    TestServerConfig cfg = { .plugin_disable = "display" };
    TestServer *ts = test_server_start(&cfg);
    test_server_call(ts, check_disabled_display, NULL);
    test_server_stop(ts);
}

/* spice_server_set_video_codecs and get_video_codecs as the reference
 * answers them (Debian's 0.15.1, probed with the same calls): the list is
 * empty until set; an entry is encoder:codec; at least one entry must be
 * taken or the call fails and the list stays; unknown encoders and
 * codecs are warned about and skipped. Ours has no GStreamer encoders. */
static void expect_codecs(SpiceServer *s, const char *want)
{
    const char *codecs = spice_server_get_video_codecs(s);
    g_assert_cmpstr(codecs, ==, want);
    spice_server_free_video_codecs(s, codecs);
}

static void check_video_codecs(SpiceServer *s)
{
    expect_codecs(s, "");
    g_assert_cmpint(spice_server_set_video_codecs(s, "spice:mjpeg"), ==, 0);
    expect_codecs(s, "spice:mjpeg");
    static const char *const refused[][2] = {
        { "foo:mjpeg", "*unknown video encoder foo*" },
        { "spice:foo", "*unknown video codec foo*" },
        { "garbage", "*invalid encoder:codec value at garbage*" },
        { "spice: mjpeg", "*invalid encoder:codec value at spice: mjpeg*" },
        { "gstreamer:h264", "*unsupported video encoder gstreamer*" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, refused[i][1]);
        g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*no video codec taken*");
        g_assert_cmpint(spice_server_set_video_codecs(s, refused[i][0]), ==, -1);
        g_test_assert_expected_messages();
    }
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*no video codec taken*");
    g_assert_cmpint(spice_server_set_video_codecs(s, ";;"), ==, -1);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*no video codec taken*");
    g_assert_cmpint(spice_server_set_video_codecs(s, ""), ==, -1);
    expect_codecs(s, "spice:mjpeg");
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*unknown video encoder foo*");
    g_assert_cmpint(spice_server_set_video_codecs(s, "spice:mjpeg;foo:bar"), ==, 0);
    g_assert_cmpint(spice_server_set_video_codecs(s, "spice:vp8;;spice:mjpeg"), ==, 0);
    expect_codecs(s, "spice:vp8;spice:mjpeg");
    g_assert_cmpint(spice_server_set_video_codecs(s, "auto"), ==, 0);
    expect_codecs(s, "spice:mjpeg");
}

static void test_setters(void)
{
    SpiceServer *s = spice_server_new();
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING,
                          "spice_server_set_port: -1 is not a port "
                          "number");
    g_assert_cmpint(spice_server_set_port(s, -1), ==, -1);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*65536 is not a port number");
    g_assert_cmpint(spice_server_set_port(s, 65536), ==, -1);
    g_assert_cmpint(spice_server_set_port(s, 5999), ==, 0);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*password longer than 60 characters");
    char longpw[62];
    memset(longpw, 'a', 61);
    longpw[61] = 0;
    g_assert_cmpint(spice_server_set_ticket(s, longpw, 0, 0, 0), ==, -1);
    longpw[60] = 0;
    g_assert_cmpint(spice_server_set_ticket(s, longpw, 0, 0, 0), ==, 0);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*invalid value 99");
    g_assert_cmpint(spice_server_set_image_compression(s, 99), ==, -1);
    g_assert_cmpint(spice_server_set_image_compression(s, SPICE_IMAGE_COMPRESSION_LZ4), ==, 0);
    g_assert_cmpint(spice_server_get_image_compression(s), ==, SPICE_IMAGE_COMPRESSION_LZ4);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*invalid value 0");
    g_assert_cmpint(spice_server_set_jpeg_compression(s, SPICE_WAN_COMPRESSION_INVALID), ==, -1);
    g_assert_cmpint(spice_server_set_zlib_glz_compression(s, SPICE_WAN_COMPRESSION_NEVER), ==, 0);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*unknown channel 'bogus'");
    g_assert_cmpint(spice_server_set_channel_security(s, "bogus", 1), ==, -1);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*unknown channel 'default'");
    g_assert_cmpint(spice_server_set_channel_security(s, "default", 3), ==, -1);
    g_assert_cmpint(spice_server_set_channel_security(s, NULL, 3), ==, 0); /* the default */
    g_assert_cmpint(spice_server_set_channel_security(s, "inputs", 1), ==, 0);
#ifdef HAVE_SASL
    g_assert_cmpint(spice_server_set_sasl(s, 1), ==, 0);
#else
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*SASL*not supported*");
    g_assert_cmpint(spice_server_set_sasl(s, 1), ==, -1);
#endif
    g_assert_cmpint(spice_server_set_sasl(s, 0), ==, 0);
    /* The files are read at spice_server_init; here only what the
     * reference checks: a port in range and the three files. */
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*a port, a CA file*");
    g_assert_cmpint(spice_server_set_tls(s, 5901, NULL, NULL, NULL, NULL, NULL, NULL), ==, -1);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*a port, a CA file*");
    g_assert_cmpint(spice_server_set_tls(s, 0, "ca", "cert", "key", NULL, NULL, NULL), ==, -1);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*port 70000 out of range*");
    g_assert_cmpint(spice_server_set_tls(s, 70000, "ca", "cert", "key", NULL, NULL, NULL), ==, -1);
    g_assert_cmpint(spice_server_set_tls(s, 5901, "ca", "cert", "key", NULL, NULL, NULL), ==, 0);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*invalid value 9");
    g_assert_cmpint(spice_server_set_streaming_video(s, 9), ==, -1);
    g_assert_cmpint(spice_server_set_streaming_video(s, SPICE_STREAM_VIDEO_OFF), ==, 0);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*only 0.6 compatibility*");
    g_assert_cmpint(spice_server_set_compat_version(s, SPICE_COMPAT_VERSION_0_4), ==, -1);
    g_assert_cmpint(spice_server_set_compat_version(s, SPICE_COMPAT_VERSION_0_6), ==, 0);
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*unknown renderer 'gl'*");
    g_assert_cmpint(spice_server_add_renderer(s, "gl"), ==, -1);
    g_assert_cmpint(spice_server_add_renderer(s, "sw"), ==, 0);
    G_GNUC_END_IGNORE_DEPRECATIONS
    g_assert_cmpint(spice_get_current_compat_version(), ==, SPICE_COMPAT_VERSION_0_6);
    g_assert_cmpint(spice_server_set_agent_mouse(s, 0), ==, 0);
    g_assert_cmpint(spice_server_set_playback_compression(s, 0), ==, 0);
    check_video_codecs(s);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*call spice_server_init() first");
    SpiceKbdInstance kbd = { { &kbd_iface.base }, NULL };
    g_assert_cmpint(spice_server_add_interface(s, &kbd.base), ==, -1);
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*migration*not supported*");
    g_assert_cmpint(spice_server_migrate_connect(s, "127.0.0.1", 1, 2, NULL), ==, -1);
    g_test_assert_expected_messages();
    const char **subtypes = spice_server_char_device_recognized_subtypes();
    g_assert_cmpstr(subtypes[0], ==, "vdagent");
    g_assert_cmpstr(subtypes[2], ==, "usbredir");
    g_assert_null(subtypes[3]);
    spice_server_destroy(s);
}

static void test_init_errors(void)
{
    SpiceServer *s = spice_server_new();
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_CRITICAL, "*core interface is NULL*");
    g_assert_cmpint(spice_server_init(s, NULL), ==, -1);
    SpiceCoreInterface core = { .base = { SPICE_INTERFACE_CORE, "x", 2, 0 } };
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*core interface version 2.0*");
    g_assert_cmpint(spice_server_init(s, &core), ==, -1);
    core.base.major_version = 1;
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "*lacks timer or watch functions*");
    g_assert_cmpint(spice_server_init(s, &core), ==, -1);
    g_test_assert_expected_messages();
    spice_server_destroy(s);
    spice_server_destroy(NULL);
}

/* A host may exit() while its server lives and link keys are being made
 * in the background (QEMU does when a device fails to realize): the
 * process must still exit cleanly. The server stays reachable from a
 * global, so leak checkers do not count it. */
static SpiceServer *exiting_server;

static void test_exit_without_destroy(void)
{
    if (g_test_subprocess()) {
        exiting_server = spice_server_new();
        spice_server_set_port(exiting_server, 0);
        if (spice_server_init(exiting_server, glib_core_new(NULL, NULL, NULL)) != 0) {
            exit(2);
        }
        exit(0); /* keys are being made right now */
    }
    for (int i = 0; i < 5; i++) {
        g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed();
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_setenv("SPICE_PLUGIN_CONFIG", "", TRUE);
    g_test_add_func("/api/interface-versions", test_interface_versions);
    g_test_add_func("/api/unserved-interfaces", test_unserved_interfaces);
    g_test_add_func("/api/disabled-plugin-named", test_disabled_plugin_named);
    g_test_add_func("/api/setters", test_setters);
    g_test_add_func("/api/init-errors", test_init_errors);
    g_test_add_func("/api/exit-without-destroy", test_exit_without_destroy);
    return g_test_run();
}
