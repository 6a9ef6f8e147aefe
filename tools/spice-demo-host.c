/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-demo-host: a small VDI host for libspicecore, the way QEMU uses
 * the library but without a VM. It runs a GLib main loop, lends it to the
 * server through SpiceCoreInterface, and registers a keyboard, a mouse and
 * a tablet that print every event they receive, one line each:
 *
 *   input: key 0x1e
 *   input: mouse motion dx=5 dy=-3 dz=0 buttons=0x0
 *   input: mouse buttons 0x1
 *   input: tablet position x=100 y=200 buttons=0x0
 *   input: tablet wheel dz=1 buttons=0x0
 *   input: tablet buttons 0x0
 *
 * (the lines of tools/common/demo-devices.h after "input: "). Channel
 * events are printed as "channel: ..." lines. The keyboard keeps lock-key
 * LEDs like a guest would and reports them with spice_server_kbd_leds().
 *
 * With --display desktop (the default) it also has a QXL display
 * (tools/common/demo-display.h): a synthetic desktop drawn with QXL
 * commands, scenes chosen with --scene, and an alpha cursor that follows
 * the tablet (client mouse mode) or the mouse's motion (server mouse
 * mode); F12 hides and shows it; F11 re-creates the primary surface the
 * way a guest's mode set does (the cursor is reset and set again). It
 * prints
 *
 *   display: 1024x768 scenes static,scroll,window,video at 30 fps
 *   frame: stopped after 100 frames        (with --frames 100)
 *   frame: dumped /tmp/ref.ppm             (--dump-frame, or on SIGUSR1)
 *   frame: count 240, 3 ticks skipped      (on SIGUSR2)
 *
 * Unless --no-audio, a sound card plays a sine tone (--tone HZ, 440 by
 * default) through the playback interface and prints
 *
 *   audio: playing a 440 Hz tone
 *   audio: burst 12 at 81234567890       (--tone-bursts MS: when burst
 *                                         12 was handed to put_samples,
 *                                         g_get_monotonic_time() µs)
 *   record: level -10.5 dBFS, 1000.0 Hz   (once per second of what the
 *                                         client's microphone sends)
 *
 * Char devices: an echo port (org.spicecore.echo.0; --echo-port NAME,
 * --no-echo-port) sends back what the client writes, and every
 * --chardev KIND[:NAME]=PATH exposes a char device on a unix socket for a
 * guest-side program (tools/common/demo-chardev.h):
 *
 *   chardev: org.test.0 port device on /tmp/p.sock
 *   chardev: org.test.0 guest connected
 *   chardev: org.test.0 client connected
 *
 * --frame-stamp draws the frame number into the top-left corner of every
 * frame (tools/common/demo-display.h) for tools/spice-bench, which reads
 * it back from a client's picture and asks for the count with SIGUSR2.
 *
 * The dump is the host's own reference of what the screen must show.
 * Image compression stays lossless (no JPEG, no video streams) so a
 * client's picture can be compared with it exactly.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib-unix.h>
#include <glib.h>
#include <spice.h>

#include "common/demo-audio.h"
#include "common/demo-chardev.h"
#include "common/demo-devices.h"
#include "common/demo-display.h"
#include "common/glib-core.h"

#define KEY_F11 0x57
#define KEY_F12 0x58

typedef struct DemoHost {
    SpiceServer *server;
    DemoDevices devices;
    DemoDisplay *display;
    char *dump_path;
    GMainLoop *loop;
    GMutex print_lock;
} DemoHost;

static DemoHost host;

static void say(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* One line per event, whole lines even when server threads print. */
static void say(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *line = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_mutex_lock(&host.print_lock);
    fprintf(stdout, "%s\n", line);
    fflush(stdout);
    g_mutex_unlock(&host.print_lock);
}

/* ---- host glue ------------------------------------------------------------------ */

/* Input lines also drive the display's cursor (F12 its visibility, F11 a
 * new primary surface). */
static void print_input(const char *line, void *opaque)
{
    (void)opaque;
    say("input: %s", line);
    if (!host.display) {
        return;
    }
    int x, y;
    unsigned key;
    if (sscanf(line, "tablet position x=%d y=%d", &x, &y) == 2) {
        demo_display_pointer_position(host.display, x, y);
    } else if (sscanf(line, "mouse motion dx=%d dy=%d", &x, &y) == 2) {
        demo_display_pointer_motion(host.display, x, y);
    } else if (sscanf(line, "key 0x%x", &key) == 1 && key == KEY_F12) {
        demo_display_toggle_cursor(host.display);
    } else if (sscanf(line, "key 0x%x", &key) == 1 && key == KEY_F11) {
        demo_display_recreate_primary(host.display);
    }
}

static void print_frame(const char *line, void *opaque)
{
    (void)opaque;
    say("%s", line);
}

static gboolean on_dump_signal(gpointer opaque)
{
    (void)opaque;
    if (!host.display || !host.dump_path) {
        say("frame: nothing to dump (%s)", host.display ? "no --dump-frame PATH" : "no display");
        return G_SOURCE_CONTINUE;
    }
    g_autoptr(GError) error = NULL;
    if (!demo_display_dump(host.display, host.dump_path, &error)) {
        say("frame: cannot dump: %s", error->message);
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_count_signal(gpointer opaque)
{
    (void)opaque;
    if (!host.display) {
        say("frame: nothing to count (no display)");
        return G_SOURCE_CONTINUE;
    }
    int frames;
    unsigned skipped;
    demo_display_frame_counts(host.display, &frames, &skipped);
    say("frame: count %d, %u ticks skipped", frames, skipped);
    return G_SOURCE_CONTINUE;
}

static void on_channel_event(int event, SpiceChannelEventInfo *info, void *opaque)
{
    static const char *const names[] = { "?", "connected", "initialized", "disconnected" };
    (void)opaque;
    g_autofree char *what = glib_core_describe_event(info);
    say("channel: %s %s", event >= 1 && event <= 3 ? names[event] : "?", what);
}

static gboolean on_signal(gpointer opaque)
{
    (void)opaque;
    g_main_loop_quit(host.loop);
    return G_SOURCE_REMOVE;
}

/* Listen on addr:0 ourselves (spice_server_set_listen_socket_fd) so the
 * kernel picks a free port we can print. */
static int listen_any_port(const char *addr, int *port)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    int family;
    if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        len = sizeof(struct sockaddr_in6);
    } else if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        len = sizeof(struct sockaddr_in);
    } else {
        g_printerr("spice-demo-host: --port 0 needs a numeric --addr, not '%s'\n", addr);
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
        g_printerr("spice-demo-host: cannot listen on %s: %s\n", addr, g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* --tls-channel / --plaintext-channel: "default" is the default, passed
 * as NULL (as QEMU does). */
static bool set_channel_security(SpiceServer *s, const char *option, char **names, int security)
{
    for (int i = 0; names && names[i]; i++) {
        const char *chan = strcmp(names[i], "default") == 0 ? NULL : names[i];
        if (spice_server_set_channel_security(s, chan, security) < 0) {
            g_printerr("spice-demo-host: %s %s: unknown channel\n", option, names[i]);
            return false;
        }
    }
    return true;
}

/* The index of value in the NULL-terminated names (def when value is
 * NULL); -1 with a message naming the choices when it is none of them. */
static int option_choice(const char *option, const char *value, const char *const *names, int def)
{
    if (!value) {
        return def;
    }
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], value) == 0) {
            return i;
        }
    }
    g_autoptr(GString) all = g_string_new(NULL);
    for (int i = 0; names[i]; i++) {
        g_string_append_printf(all, "%s%s", i ? ", " : "", names[i]);
    }
    g_printerr("spice-demo-host: %s: expected one of %s, not '%s'\n", option, all->str, value);
    return -1;
}

int main(int argc, char **argv)
{
    int port = 5900;
    g_autofree char *addr = NULL;
    g_autofree char *unix_path = NULL;
    g_autofree char *password = NULL;
    int ticket_lifetime = 0;
    g_autofree char *enable = NULL;
    g_autofree char *disable = NULL;
    g_autofree char *name = NULL;
    gboolean no_keyboard = FALSE, no_mouse = FALSE, no_tablet = FALSE;
    gboolean exit_on_disconnect = FALSE;
    g_autofree char *display_mode = NULL;
    g_autofree char *scene = NULL;
    g_autofree char *size = NULL;
    int fps = 30, frames = -1;
    gboolean negative_stride = FALSE, no_cursor = FALSE, frame_stamp = FALSE;
    double tone = 440;
    int tone_bursts = 0;
    gboolean no_audio = FALSE, mute = FALSE;
    g_autofree char *volume = NULL;
    g_auto(GStrv) chardev_specs = NULL;
    g_autofree char *echo_port = NULL;
    gboolean no_echo_port = FALSE;
    gboolean disable_copy_paste = FALSE, disable_file_xfer = FALSE;
    int tls_port = 0;
    gboolean sasl = FALSE;
    g_autofree char *sasl_appname = NULL;
    g_autofree char *x509_dir = NULL;
    g_autofree char *x509_key_password = NULL;
    g_autofree char *tls_ciphers = NULL;
    g_auto(GStrv) tls_channels = NULL;
    g_auto(GStrv) plaintext_channels = NULL;
    g_autofree char *image_compression = NULL;
    g_autofree char *zlib_glz = NULL;
    g_autofree char *streaming = NULL;

    GOptionEntry entries[] = {
        { "port", 'p', 0, G_OPTION_ARG_INT, &port, "TCP port (0: any free port)", "PORT" },
        { "addr", 'a', 0, G_OPTION_ARG_STRING, &addr, "Address to listen on (127.0.0.1)", "ADDR" },
        { "unix", 0, 0, G_OPTION_ARG_FILENAME, &unix_path, "Listen on a unix socket instead",
          "PATH" },
        { "password", 0, 0, G_OPTION_ARG_STRING, &password,
          "Require this ticket (default: no authentication)", "PASSWORD" },
        { "ticket-lifetime", 0, 0, G_OPTION_ARG_INT, &ticket_lifetime,
          "Seconds until the ticket expires (0: never)", "SECONDS" },
        { "enable", 0, 0, G_OPTION_ARG_STRING, &enable,
          "Enable exactly these channel plugins (comma list; main is always on)", "LIST" },
        { "disable", 0, 0, G_OPTION_ARG_STRING, &disable, "Disable these channel plugins", "LIST" },
        { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Server name shown to clients", "NAME" },
        { "no-keyboard", 0, 0, G_OPTION_ARG_NONE, &no_keyboard, "Register no keyboard", NULL },
        { "no-mouse", 0, 0, G_OPTION_ARG_NONE, &no_mouse, "Register no mouse", NULL },
        { "no-tablet", 0, 0, G_OPTION_ARG_NONE, &no_tablet,
          "Register no tablet (server mouse mode only)", NULL },
        { "exit-on-disconnect", 0, 0, G_OPTION_ARG_NONE, &exit_on_disconnect,
          "Exit when the client disconnects", NULL },
        { "display", 0, 0, G_OPTION_ARG_STRING, &display_mode,
          "desktop (a QXL display, default) or none", "KIND" },
        { "scene", 0, 0, G_OPTION_ARG_STRING, &scene,
          "Scenes to draw: static,scroll,window,video (default: all of them), console (a text "
          "console) and overlap (a note over the video at times)",
          "LIST" },
        { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Display size (1024x768)", "WxH" },
        { "fps", 0, 0, G_OPTION_ARG_INT, &fps, "Frames per second (30)", "N" },
        { "frames", 0, 0, G_OPTION_ARG_INT, &frames,
          "Stop animating after N frames (default: never)", "N" },
        { "dump-frame", 0, 0, G_OPTION_ARG_FILENAME, &host.dump_path,
          "Write the reference frame (PPM) here once stopped and on SIGUSR1", "PATH" },
        { "negative-stride", 0, 0, G_OPTION_ARG_NONE, &negative_stride,
          "Bottom-up primary surface (negative stride, as QEMU makes it)", NULL },
        { "no-cursor", 0, 0, G_OPTION_ARG_NONE, &no_cursor, "Send no cursor commands", NULL },
        { "tone", 0, 0, G_OPTION_ARG_DOUBLE, &tone, "Play a sine tone of HZ Hertz (440)", "HZ" },
        { "tone-bursts", 0, 0, G_OPTION_ARG_INT, &tone_bursts,
          "Sound the tone for the first half of every MS ms (a multiple of 20) and print when "
          "when each burst was handed to the server (for spice-bench)",
          "MS" },
        { "no-audio", 0, 0, G_OPTION_ARG_NONE, &no_audio, "Register no sound card", NULL },
        { "volume", 0, 0, G_OPTION_ARG_STRING, &volume,
          "Playback volume per channel, as a guest mixer sets it (e.g. 30000,20000)", "V,V" },
        { "mute", 0, 0, G_OPTION_ARG_NONE, &mute, "Mute playback, as a guest mixer does", NULL },
        { "chardev", 0, 0, G_OPTION_ARG_STRING_ARRAY, &chardev_specs,
          "A char device on a unix socket, attached as QEMU attaches a guest's port (kind: "
          "vdagent, usbredir, smartcard, port:NAME); repeatable",
          "KIND[:NAME]=PATH" },
        { "echo-port", 0, 0, G_OPTION_ARG_STRING, &echo_port,
          "Name of the port that echoes what the client writes (org.spicecore.echo.0)", "NAME" },
        { "no-echo-port", 0, 0, G_OPTION_ARG_NONE, &no_echo_port, "Offer no echo port", NULL },
        { "disable-copy-paste", 0, 0, G_OPTION_ARG_NONE, &disable_copy_paste,
          "No clipboard through the guest agent (QEMU's disable-copy-paste)", NULL },
        { "disable-file-xfer", 0, 0, G_OPTION_ARG_NONE, &disable_file_xfer,
          "No file transfer through the guest agent (QEMU's disable-agent-file-xfer)", NULL },
        { "sasl", 0, 0, G_OPTION_ARG_NONE, &sasl,
          "Authenticate with SASL (cyrus-sasl; its configuration is APPNAME.conf)", NULL },
        { "sasl-appname", 0, 0, G_OPTION_ARG_STRING, &sasl_appname, "SASL application name (spice)",
          "APPNAME" },
        { "tls-port", 0, 0, G_OPTION_ARG_INT, &tls_port,
          "Also serve TLS on this port (needs --x509-dir)", "PORT" },
        { "x509-dir", 0, 0, G_OPTION_ARG_FILENAME, &x509_dir,
          "ca-cert.pem, server-cert.pem and server-key.pem, as QEMU's x509-dir", "DIR" },
        { "x509-key-password", 0, 0, G_OPTION_ARG_STRING, &x509_key_password,
          "Password of server-key.pem", "PASSWORD" },
        { "tls-ciphers", 0, 0, G_OPTION_ARG_STRING, &tls_ciphers, "OpenSSL cipher list", "LIST" },
        { "tls-channel", 0, 0, G_OPTION_ARG_STRING_ARRAY, &tls_channels,
          "Serve this channel (main, display, inputs, ..., or default) over TLS only; repeatable",
          "NAME" },
        { "plaintext-channel", 0, 0, G_OPTION_ARG_STRING_ARRAY, &plaintext_channels,
          "Serve this channel without TLS only; repeatable", "NAME" },
        { "image-compression", 0, 0, G_OPTION_ARG_STRING, &image_compression,
          "off, auto_glz (default), auto_lz, quic, glz, lz or lz4, as QEMU's image-compression",
          "MODE" },
        { "streaming-video", 0, 0, G_OPTION_ARG_STRING, &streaming,
          "off (default here: pictures stay lossless), all or filter, as QEMU's streaming-video",
          "MODE" },
        { "zlib-glz-compression", 0, 0, G_OPTION_ARG_STRING, &zlib_glz,
          "never (default here), auto or always, as QEMU's zlib-glz-wan-compression", "WHEN" },
        { "frame-stamp", 0, 0, G_OPTION_ARG_NONE, &frame_stamp,
          "Draw the frame number at the top-left corner of every frame (for spice-bench)", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("- serve a demo SPICE host");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(octx, &argc, &argv, &error)) {
        g_printerr("spice-demo-host: %s\n", error->message);
        return 2;
    }
    if (!addr) {
        addr = g_strdup("127.0.0.1");
    }
    DemoDisplayConfig display_config = {
        .width = 1024,
        .height = 768,
        .negative_stride = negative_stride,
        .cursor = !no_cursor,
        .scenes = DEMO_SCENE_ALL,
        .fps = (unsigned)fps,
        .frames = frames,
        .dump_path = host.dump_path,
        .frame_stamp = frame_stamp,
    };
    bool want_display = !display_mode || strcmp(display_mode, "desktop") == 0;
    if (display_mode && !want_display && strcmp(display_mode, "none") != 0) {
        g_printerr("spice-demo-host: --display: expected desktop or none, not '%s'\n",
                   display_mode);
        return 2;
    }
    if ((scene && !demo_display_parse_scenes(scene, &display_config.scenes, &error)) ||
        (size &&
         !demo_display_parse_size(size, &display_config.width, &display_config.height, &error))) {
        g_printerr("spice-demo-host: %s\n", error->message);
        return 2;
    }
    if (fps < 1 || fps > DEMO_DISPLAY_MAX_FPS) {
        g_printerr("spice-demo-host: --fps: expected 1..%d, not %d\n", DEMO_DISPLAY_MAX_FPS, fps);
        return 2;
    }
    static const char *const modes[] = { "off", "auto_glz", "auto_lz", "quic",
                                         "glz", "lz",       "lz4",     NULL };
    static const char *const whens[] = { "auto", "always", "never", NULL }; /* enum order */
    int mode = option_choice("--image-compression", image_compression, modes, 1);
    int when = option_choice("--zlib-glz-compression", zlib_glz, whens, 2);
    static const char *const streamings[] = { "off", "all", "filter", NULL }; /* enum order */
    int stream_mode = option_choice("--streaming-video", streaming, streamings, 0);
    if (mode < 0 || when < 0 || stream_mode < 0) {
        return 2;
    }
    SpiceImageCompression compression = (SpiceImageCompression)(SPICE_IMAGE_COMPRESSION_OFF + mode);
    spice_wan_compression_t zlib_mode =
        (spice_wan_compression_t)(SPICE_WAN_COMPRESSION_AUTO + when);
    if (enable) {
        g_setenv("SPICE_PLUGIN_ENABLE", enable, TRUE);
    }
    if (disable) {
        g_setenv("SPICE_PLUGIN_DISABLE", disable, TRUE);
    }
    g_mutex_init(&host.print_lock);
    signal(SIGPIPE, SIG_IGN);

    host.loop = g_main_loop_new(NULL, FALSE);
    SpiceCoreInterface *core = glib_core_new(NULL, on_channel_event, NULL);
    host.server = spice_server_new();
    int listen_fd = -1;
    if (unix_path) {
        spice_server_set_addr(host.server, unix_path, SPICE_ADDR_FLAG_UNIX_ONLY);
    } else if (port == 0) {
        listen_fd = listen_any_port(addr, &port);
        if (listen_fd < 0) {
            return 1;
        }
        G_GNUC_BEGIN_IGNORE_DEPRECATIONS
        spice_server_set_listen_socket_fd(host.server, listen_fd);
        G_GNUC_END_IGNORE_DEPRECATIONS
        spice_server_set_addr(host.server, addr, 0); /* where a TLS port listens */
    } else {
        spice_server_set_addr(host.server, addr, 0);
        if (spice_server_set_port(host.server, port) < 0) {
            return 1;
        }
    }
    if (password) {
        if (spice_server_set_ticket(host.server, password, ticket_lifetime, 0, 0) < 0) {
            g_printerr("spice-demo-host: the password is too long\n");
            return 1;
        }
    } else {
        spice_server_set_noauth(host.server);
    }
    if (name) {
        spice_server_set_name(host.server, name);
    }
    if (sasl_appname) {
        spice_server_set_sasl_appname(host.server, sasl_appname);
    }
    if (sasl && spice_server_set_sasl(host.server, 1) < 0) {
        g_printerr("spice-demo-host: --sasl: this library has no SASL\n");
        return 1;
    }
    if (tls_port || x509_dir) {
        if (!tls_port || !x509_dir || unix_path) {
            g_printerr("spice-demo-host: --tls-port and --x509-dir go together, on TCP\n");
            return 2;
        }
        g_autofree char *ca = g_build_filename(x509_dir, "ca-cert.pem", NULL);
        g_autofree char *cert = g_build_filename(x509_dir, "server-cert.pem", NULL);
        g_autofree char *key = g_build_filename(x509_dir, "server-key.pem", NULL);
        if (spice_server_set_tls(host.server, tls_port, ca, cert, key, x509_key_password, NULL,
                                 tls_ciphers) < 0) {
            g_printerr("spice-demo-host: the TLS settings were refused\n");
            return 1;
        }
    }
    if (!set_channel_security(host.server, "--tls-channel", tls_channels,
                              SPICE_CHANNEL_SECURITY_SSL) ||
        !set_channel_security(host.server, "--plaintext-channel", plaintext_channels,
                              SPICE_CHANNEL_SECURITY_NONE)) {
        return 2;
    }
    spice_server_set_exit_on_disconnect(host.server, exit_on_disconnect);
    spice_server_set_agent_copypaste(host.server, !disable_copy_paste);
    spice_server_set_agent_file_xfer(host.server, !disable_file_xfer);
    if (want_display) {
        /* Lossless pictures unless asked otherwise (--streaming-video):
         * the client's screen must equal the reference frame. */
        spice_server_set_jpeg_compression(host.server, SPICE_WAN_COMPRESSION_NEVER);
        spice_server_set_streaming_video(host.server, SPICE_STREAM_VIDEO_OFF + stream_mode);
        spice_server_set_image_compression(host.server, compression);
        spice_server_set_zlib_glz_compression(host.server, zlib_mode);
    }
    if (spice_server_init(host.server, core) < 0) {
        g_printerr("spice-demo-host: spice_server_init failed (see the messages above)\n");
        return 1;
    }
    demo_devices_init(&host.devices, true, print_input, NULL);
    if (!no_keyboard && spice_server_add_interface(host.server, &host.devices.kbd.base) < 0) {
        say("note: no keyboard (the inputs channel is not enabled)");
        no_keyboard = TRUE;
    }
    if (!no_mouse && spice_server_add_interface(host.server, &host.devices.mouse.base) < 0) {
        no_mouse = TRUE;
    }
    if (!no_tablet && spice_server_add_interface(host.server, &host.devices.tablet.base) < 0) {
        no_tablet = TRUE;
    }
    if (want_display) {
        DemoDisplay *display = demo_display_new(&display_config, print_frame, NULL);
        if (spice_server_add_interface(host.server, demo_display_base(display)) < 0) {
            say("note: no display (the display plugin is not enabled)");
            demo_display_free(display);
        } else {
            demo_display_attach(display);
            host.display = display;
        }
    }
    DemoAudio *audio = NULL;
    if (!no_audio) {
        if (tone <= 0 || tone >= 24000) {
            g_printerr("spice-demo-host: --tone %g: not between 0 and 24000 Hz\n", tone);
            return 2;
        }
        if (tone_bursts < 0 || tone_bursts % 20 != 0 || tone_bursts > 60000) {
            g_printerr("spice-demo-host: --tone-bursts %d: expected a multiple of 20 ms up to "
                       "60000\n",
                       tone_bursts);
            return 2;
        }
        audio = demo_audio_new(tone, print_frame, NULL);
        demo_audio_set_bursts(audio, (uint32_t)tone_bursts);
        if (spice_server_add_interface(host.server, demo_audio_playback_base(audio)) < 0) {
            say("note: no sound (the playback plugin is not enabled)");
            g_clear_pointer(&audio, demo_audio_free);
        }
    }
    bool recording = false;
    if (audio) {
        recording = spice_server_add_interface(host.server, demo_audio_record_base(audio)) == 0;
        if (!recording) {
            say("note: no recording (the record plugin is not enabled)");
        }
    }
    GPtrArray *chardevs = g_ptr_array_new_with_free_func((GDestroyNotify)demo_chardev_free);
    for (char **spec = chardev_specs; spec && *spec; spec++) {
        DemoChardev *dev = demo_chardev_new_socket(host.server, *spec, print_frame, NULL, &error);
        if (!dev) {
            g_printerr("spice-demo-host: %s\n", error->message);
            return 2;
        }
        g_ptr_array_add(chardevs, dev);
    }
    if (!no_echo_port) {
        g_ptr_array_add(chardevs, demo_chardev_new_echo(
                                      host.server, echo_port ? echo_port : "org.spicecore.echo.0",
                                      print_frame, NULL));
    }
    for (guint i = 0; i < chardevs->len; i++) {
        if (!demo_chardev_start(g_ptr_array_index(chardevs, i))) {
            say("note: a char device was refused (is the port plugin enabled?)");
        }
    }
    spice_server_vm_start(host.server);
    if (audio) {
        demo_audio_start(audio);
        say("audio: playing a %g Hz tone", tone);
        if (volume && !demo_audio_set_volume(audio, volume)) {
            g_printerr("spice-demo-host: --volume %s: expected 1 to 8 numbers 0..65535\n", volume);
            return 2;
        }
        if (mute) {
            demo_audio_set_mute(audio, true);
        }
        if (recording) {
            demo_audio_record_start(audio);
        }
    }
    if (host.display) {
        g_autofree char *names = demo_display_scene_names(display_config.scenes);
        say("display: %ux%u scenes %s at %d fps", display_config.width, display_config.height,
            names, fps);
        demo_display_start(host.display);
    }

    if (unix_path) {
        say("spice-demo-host: listening on unix:%s", unix_path);
        say("connect with: remote-viewer spice+unix://%s", unix_path);
    } else {
        bool v6 = strchr(addr, ':') != NULL;
        g_autofree char *shown = g_strconcat(v6 ? "[" : "", addr, v6 ? "]" : "", NULL);
        say("spice-demo-host: listening on %s:%d", shown, port);
        if (tls_port) {
            say("spice-demo-host: TLS on %s:%d", shown, tls_port);
            say("connect with: remote-viewer --spice-ca-file=%s/ca-cert.pem "
                "'spice://%s?port=%d&tls-port=%d'%s",
                x509_dir, shown, port, tls_port,
                password ? "  (it will ask for the password)" : "");
        } else {
            say("connect with: remote-viewer spice://%s:%d%s", shown, port,
                password ? "  (it will ask for the password)" : "");
        }
    }

    g_unix_signal_add(SIGINT, on_signal, NULL);
    g_unix_signal_add(SIGTERM, on_signal, NULL);
    g_unix_signal_add(SIGUSR1, on_dump_signal, NULL);
    g_unix_signal_add(SIGUSR2, on_count_signal, NULL);
    g_main_loop_run(host.loop);

    say("spice-demo-host: shutting down");
    /* The display goes first; what the server still holds is freed once
     * the server is gone. */
    demo_display_detach(host.display);
    if (audio) {
        if (recording) {
            demo_audio_record_stop(audio);
            spice_server_remove_interface(demo_audio_record_base(audio));
        }
        demo_audio_stop(audio);
        spice_server_remove_interface(demo_audio_playback_base(audio));
    }
    g_ptr_array_free(chardevs, TRUE);
    if (!no_tablet) {
        spice_server_remove_interface(&host.devices.tablet.base);
    }
    if (!no_mouse) {
        spice_server_remove_interface(&host.devices.mouse.base);
    }
    if (!no_keyboard) {
        spice_server_remove_interface(&host.devices.kbd.base);
    }
    spice_server_destroy(host.server);
    g_clear_pointer(&host.display, demo_display_free);
    demo_audio_free(audio);
    g_clear_pointer(&host.dump_path, g_free);
    if (listen_fd >= 0) {
        close(listen_fd);
    }
    glib_core_free(core);
    g_main_loop_unref(host.loop);
    return 0;
}
