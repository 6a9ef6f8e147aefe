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

#include "common/demo-devices.h"
#include "common/glib-core.h"

typedef struct DemoHost {
    SpiceServer *server;
    DemoDevices devices;
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

static void print_input(const char *line, void *opaque)
{
    (void)opaque;
    say("input: %s", line);
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
    spice_server_set_exit_on_disconnect(host.server, exit_on_disconnect);
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
    spice_server_vm_start(host.server);

    if (unix_path) {
        say("spice-demo-host: listening on unix:%s", unix_path);
        say("connect with: remote-viewer spice+unix://%s", unix_path);
    } else {
        bool v6 = strchr(addr, ':') != NULL;
        g_autofree char *shown = g_strconcat(v6 ? "[" : "", addr, v6 ? "]" : "", NULL);
        say("spice-demo-host: listening on %s:%d", shown, port);
        say("connect with: remote-viewer spice://%s:%d%s", shown, port,
            password ? "  (it will ask for the password)" : "");
    }

    g_unix_signal_add(SIGINT, on_signal, NULL);
    g_unix_signal_add(SIGTERM, on_signal, NULL);
    g_main_loop_run(host.loop);

    say("spice-demo-host: shutting down");
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
    if (listen_fd >= 0) {
        close(listen_fd);
    }
    glib_core_free(core);
    g_main_loop_unref(host.loop);
    return 0;
}
