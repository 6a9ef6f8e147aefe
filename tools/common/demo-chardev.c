/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-chardev.c: the demo host's char devices (see demo-chardev.h).
 */
#include "demo-chardev.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <spice/protocol.h>
#include <sys/socket.h>
#include <sys/un.h>

#define CHUNK 65536

typedef enum { DEV_SOCKET, DEV_ECHO } DevKind;

struct DemoChardev {
    SpiceCharDeviceInstance sin; /* first: the server hands this back */
    SpiceCharDeviceInterface sif;
    SpiceServer *server;
    DevKind kind;
    DemoChardevEmit emit;
    void *opaque;
    char *subtype;
    char *name; /* port name, or NULL */
    char *path; /* socket path */
    bool is_port;
    bool added;
    /* the socket device */
    int listen_fd;
    guint listen_watch;
    int guest_fd;
    guint guest_watch;     /* readable (when in is empty) */
    guint guest_out_watch; /* writable (after a short write) */
    uint8_t in[CHUNK];     /* from the guest, not yet read by the server */
    size_t in_len, in_pos;
    /* the echo port: what the client wrote, to send back */
    uint8_t echo[CHUNK];
    size_t echo_len;
    guint echo_idle;
};

static void say(DemoChardev *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void say(DemoChardev *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *line = g_strdup_printf("chardev: %s %s", d->name ? d->name : d->subtype, what);
    d->emit(line, d->opaque);
}

static DemoChardev *from_sin(SpiceCharDeviceInstance *sin)
{
    return (DemoChardev *)sin;
}

/* ---- the server's side of the device --------------------------------------------- */

static void watch_guest_readable(DemoChardev *d);

static void c_state(SpiceCharDeviceInstance *sin, int connected)
{
    DemoChardev *d = from_sin(sin);
    say(d, "client %s", connected ? "connected" : "disconnected");
}

static gboolean on_guest_writable(int fd, GIOCondition cond, gpointer data)
{
    (void)fd, (void)cond;
    DemoChardev *d = data;
    d->guest_out_watch = 0;
    spice_server_char_device_wakeup(&d->sin);
    return G_SOURCE_REMOVE;
}

static gboolean echo_ready(gpointer data)
{
    DemoChardev *d = data;
    d->echo_idle = 0;
    spice_server_char_device_wakeup(&d->sin);
    return G_SOURCE_REMOVE;
}

/* Server to guest. */
static int c_write(SpiceCharDeviceInstance *sin, const uint8_t *buf, int len)
{
    DemoChardev *d = from_sin(sin);
    if (d->kind == DEV_ECHO) {
        size_t n = MIN((size_t)len, sizeof(d->echo) - d->echo_len);
        memcpy(d->echo + d->echo_len, buf, n);
        d->echo_len += n;
        if (n > 0 && !d->echo_idle) {
            /* Like a guest answering: later, not inside this call. */
            d->echo_idle = g_idle_add(echo_ready, d);
        }
        return (int)n;
    }
    if (d->guest_fd < 0) {
        return len; /* nobody listens: dropped, as QEMU does */
    }
    ssize_t n = send(d->guest_fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return len; /* the guest is leaving; its close is handled there */
        }
        n = 0;
    }
    if (n < len && !d->guest_out_watch) {
        d->guest_out_watch = g_unix_fd_add(d->guest_fd, G_IO_OUT, on_guest_writable, d);
    }
    return (int)n;
}

/* Guest to server. */
static int c_read(SpiceCharDeviceInstance *sin, uint8_t *buf, int len)
{
    DemoChardev *d = from_sin(sin);
    if (d->kind == DEV_ECHO) {
        size_t n = MIN((size_t)len, d->echo_len);
        memcpy(buf, d->echo, n);
        memmove(d->echo, d->echo + n, d->echo_len - n);
        d->echo_len -= n;
        return (int)n;
    }
    size_t n = MIN((size_t)len, d->in_len - d->in_pos);
    memcpy(buf, d->in + d->in_pos, n);
    d->in_pos += n;
    if (d->in_pos == d->in_len) {
        d->in_pos = d->in_len = 0;
        watch_guest_readable(d);
    }
    return (int)n;
}

static void c_event(SpiceCharDeviceInstance *sin, uint8_t event)
{
    say(from_sin(sin), "client event %u", event);
}

/* ---- the guest's side: a unix socket ---------------------------------------------- */

static void guest_gone(DemoChardev *d)
{
    g_clear_handle_id(&d->guest_watch, g_source_remove);
    g_clear_handle_id(&d->guest_out_watch, g_source_remove);
    close(d->guest_fd);
    d->guest_fd = -1;
    d->in_len = d->in_pos = 0;
    say(d, "guest disconnected");
    if (d->is_port) {
        spice_server_port_event(&d->sin, SPICE_PORT_EVENT_CLOSED);
    } else if (d->added) {
        spice_server_remove_interface(&d->sin.base);
        d->added = false;
    }
}

static gboolean on_guest_readable(int fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    DemoChardev *d = data;
    ssize_t n = recv(fd, d->in, sizeof(d->in), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        d->guest_watch = 0;
        guest_gone(d);
        return G_SOURCE_REMOVE;
    }
    d->in_len = (size_t)n;
    d->in_pos = 0;
    /* Nothing more from the guest until the server took this. */
    d->guest_watch = 0;
    spice_server_char_device_wakeup(&d->sin);
    return G_SOURCE_REMOVE;
}

static void watch_guest_readable(DemoChardev *d)
{
    if (d->guest_fd >= 0 && !d->guest_watch) {
        d->guest_watch =
            g_unix_fd_add(d->guest_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_guest_readable, d);
    }
}

static gboolean on_guest_connect(int fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    DemoChardev *d = data;
    int g = accept(fd, NULL, NULL);
    if (g < 0) {
        return G_SOURCE_CONTINUE;
    }
    if (d->guest_fd >= 0) {
        close(g); /* one guest at a time, as one virtio-serial port */
        return G_SOURCE_CONTINUE;
    }
    d->guest_fd = g;
    say(d, "guest connected");
    if (d->is_port) {
        spice_server_port_event(&d->sin, SPICE_PORT_EVENT_OPENED);
    } else if (spice_server_add_interface(d->server, &d->sin.base) == 0) {
        d->added = true;
    } else {
        say(d, "refused by the server");
    }
    watch_guest_readable(d);
    return G_SOURCE_CONTINUE;
}

/* ---- creation --------------------------------------------------------------------- */

static DemoChardev *chardev_new(SpiceServer *server, const char *subtype, const char *name,
                                DemoChardevEmit emit, void *opaque)
{
    DemoChardev *d = g_new0(DemoChardev, 1);
    d->server = server;
    d->emit = emit;
    d->opaque = opaque;
    d->subtype = g_strdup(subtype);
    d->name = g_strdup(name);
    d->is_port = strcmp(subtype, "port") == 0;
    d->listen_fd = d->guest_fd = -1;
    d->sif.base.type = SPICE_INTERFACE_CHAR_DEVICE;
    d->sif.base.description = "demo char device";
    d->sif.base.major_version = SPICE_INTERFACE_CHAR_DEVICE_MAJOR;
    d->sif.base.minor_version = SPICE_INTERFACE_CHAR_DEVICE_MINOR;
    d->sif.state = c_state;
    d->sif.write = c_write;
    d->sif.read = c_read;
    d->sif.event = c_event;
    d->sif.flags = SPICE_CHAR_DEVICE_NOTIFY_WRITABLE;
    d->sin.base.sif = &d->sif.base;
    d->sin.subtype = d->subtype;
    d->sin.portname = d->name;
    return d;
}

DemoChardev *demo_chardev_new_echo(SpiceServer *server, const char *name, DemoChardevEmit emit,
                                   void *opaque)
{
    DemoChardev *d = chardev_new(server, "port", name, emit, opaque);
    d->kind = DEV_ECHO;
    return d;
}

DemoChardev *demo_chardev_new_socket(SpiceServer *server, const char *spec, DemoChardevEmit emit,
                                     void *opaque, GError **error)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "--chardev %s: expected KIND[:NAME]=SOCKETPATH", spec);
        return NULL;
    }
    g_autofree char *head = g_strndup(spec, (gsize)(eq - spec));
    char *colon = strchr(head, ':');
    const char *name = NULL;
    if (colon) {
        *colon = '\0';
        name = colon + 1;
    }
    static const char *const kinds[] = { "vdagent", "usbredir", "smartcard", "port" };
    bool known = false;
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        known = known || strcmp(head, kinds[i]) == 0;
    }
    if (!known) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "--chardev %s: unknown kind '%s' (vdagent, usbredir, smartcard or port)", spec,
                    head);
        return NULL;
    }
    if ((strcmp(head, "port") == 0) != (name && *name)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "--chardev %s: a port needs a name (port:NAME=PATH), other kinds have none",
                    spec);
        return NULL;
    }
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(eq + 1) >= sizeof(addr.sun_path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "--chardev %s: the socket path is too long", spec);
        return NULL;
    }
    strcpy(addr.sun_path, eq + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(addr.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
                    "--chardev %s: cannot listen on %s: %s", spec, addr.sun_path,
                    g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    DemoChardev *d = chardev_new(server, head, name, emit, opaque);
    d->kind = DEV_SOCKET;
    d->path = g_strdup(addr.sun_path);
    d->listen_fd = fd;
    return d;
}

bool demo_chardev_start(DemoChardev *d)
{
    if (d->kind == DEV_SOCKET) {
        d->listen_watch = g_unix_fd_add(d->listen_fd, G_IO_IN, on_guest_connect, d);
        say(d, "%s device on %s", d->subtype, d->path);
    }
    if (!d->is_port) {
        return true;
    }
    if (spice_server_add_interface(d->server, &d->sin.base) < 0) {
        return false;
    }
    d->added = true;
    if (d->kind == DEV_ECHO) {
        /* Its "guest" is always there. */
        spice_server_port_event(&d->sin, SPICE_PORT_EVENT_OPENED);
        say(d, "echo port");
    }
    return true;
}

void demo_chardev_free(DemoChardev *d)
{
    if (!d) {
        return;
    }
    if (d->added) {
        spice_server_remove_interface(&d->sin.base);
    }
    g_clear_handle_id(&d->listen_watch, g_source_remove);
    g_clear_handle_id(&d->guest_watch, g_source_remove);
    g_clear_handle_id(&d->guest_out_watch, g_source_remove);
    g_clear_handle_id(&d->echo_idle, g_source_remove);
    if (d->guest_fd >= 0) {
        close(d->guest_fd);
    }
    if (d->listen_fd >= 0) {
        close(d->listen_fd);
        unlink(d->path);
    }
    g_free(d->subtype);
    g_free(d->name);
    g_free(d->path);
    g_free(d);
}
