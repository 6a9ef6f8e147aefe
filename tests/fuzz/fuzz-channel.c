/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-channel.c: client messages into a live channel of a real server
 * (main + inputs plugins loaded from the build tree).
 *
 * Built once per target:
 *   FUZZ_CHANNEL   channel type the client is connected to
 *   FUZZ_MSG_TYPE  if defined, the input is the body of one message of
 *                  this type; otherwise it is the raw byte stream the
 *                  client sends (mini headers, several messages, junk)
 *   FUZZ_AGENT     main channel: AGENT_START is sent first, so AGENT_DATA
 *                  bodies reach the agent relay's checks
 *   FUZZ_AGENT_MSG  with FUZZ_AGENT: the input is the body of one
 *                  VDAgentMessage of this type (VD_AGENT_MONITORS_CONFIG:
 *                  the server's own monitors config parser), sent under a
 *                  header that tells its size, in AGENT_DATA chunks of at
 *                  most VD_AGENT_MAX_DATA_SIZE
 *   FUZZ_AGENT_DEVICE  the input is what the guest agent writes on the
 *                  vdagent char device (chunks), to a started client
 *   FUZZ_RECORD_MODE  for the record channel: MODE (this audio mode) and
 *                  START_MARK are sent first, so DATA bodies reach the
 *                  decoder (SPICE_AUDIO_DATA_MODE_OPUS: the Opus path)
 *   FUZZ_DISPLAY   the display channel of a demo QXL device (its primary
 *                  surface created, no frames drawn): the display plugin
 *                  moves each client to the device's worker thread, so the
 *                  bytes are fed there (the fuzzer's thread waits), and
 *                  the client is torn down there before the next input
 *
 * The host's core interface here records timers and watches but never
 * fires them: the fuzzer drives the channel by feeding bytes directly.
 *
 * A port char device (org.fuzz.0, PORT channel 0) is added too: its
 * write() takes 0, a few or all of the bytes offered, in turn, and read()
 * returns a few bytes every other call, so the port plugin's partial
 * writes, its paused input and its reads all run.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>
#include <spice/vd_agent.h>

#include "channel-client.h"
#include "client.h"
#ifdef FUZZ_DISPLAY
#include "common/demo-display.h"
#endif
#include "registry.h"
#include "server.h"
#include "stream.h"
#include "spice-plugin-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct SpiceTimer {
    SpiceTimerFunc func;
    void *opaque;
};

struct SpiceWatch {
    int fd;
};

static SpiceTimer *stub_timer_add(SpiceTimerFunc func, void *opaque)
{
    SpiceTimer *t = g_new0(SpiceTimer, 1);
    t->func = func;
    t->opaque = opaque;
    return t;
}

static void stub_timer_start(SpiceTimer *t, uint32_t ms)
{
    (void)t, (void)ms;
}

static void stub_timer_cancel(SpiceTimer *t)
{
    (void)t;
}

static void stub_timer_remove(SpiceTimer *t)
{
    g_free(t);
}

static SpiceWatch *stub_watch_add(int fd, int mask, SpiceWatchFunc func, void *opaque)
{
    (void)mask, (void)func, (void)opaque;
    SpiceWatch *w = g_new0(SpiceWatch, 1);
    w->fd = fd;
    return w;
}

static void stub_watch_update(SpiceWatch *w, int mask)
{
    (void)w, (void)mask;
}

static void stub_watch_remove(SpiceWatch *w)
{
    g_free(w);
}

static SpiceCoreInterface core = {
    .base = { SPICE_INTERFACE_CORE, "fuzz", SPICE_INTERFACE_CORE_MAJOR,
              SPICE_INTERFACE_CORE_MINOR },
    .timer_add = stub_timer_add,
    .timer_start = stub_timer_start,
    .timer_cancel = stub_timer_cancel,
    .timer_remove = stub_timer_remove,
    .watch_add = stub_watch_add,
    .watch_update_mask = stub_watch_update,
    .watch_remove = stub_watch_remove,
};

static void kbd_push(SpiceKbdInstance *sin, uint8_t frag)
{
    (void)sin, (void)frag;
}

static uint8_t kbd_leds(SpiceKbdInstance *sin)
{
    (void)sin;
    return 0;
}

static const SpiceKbdInterface kbd_iface = {
    .base = { SPICE_INTERFACE_KEYBOARD, "fuzz", 1, 1 },
    .push_scan_freg = kbd_push,
    .get_leds = kbd_leds,
};

static void mouse_motion(SpiceMouseInstance *s, int dx, int dy, int dz, uint32_t b)
{
    (void)s, (void)dx, (void)dy, (void)dz, (void)b;
}

static void mouse_buttons(SpiceMouseInstance *s, uint32_t b)
{
    (void)s, (void)b;
}

static const SpiceMouseInterface mouse_iface = {
    .base = { SPICE_INTERFACE_MOUSE, "fuzz", 1, 1 },
    .motion = mouse_motion,
    .buttons = mouse_buttons,
};

static void tablet_size(SpiceTabletInstance *t, int w, int h)
{
    (void)t, (void)w, (void)h;
}

static void tablet_position(SpiceTabletInstance *t, int x, int y, uint32_t b)
{
    (void)t, (void)x, (void)y, (void)b;
}

static void tablet_wheel(SpiceTabletInstance *t, int dz, uint32_t b)
{
    (void)t, (void)dz, (void)b;
}

static void tablet_buttons(SpiceTabletInstance *t, uint32_t b)
{
    (void)t, (void)b;
}

static const SpiceTabletInterface tablet_iface = {
    .base = { SPICE_INTERFACE_TABLET, "fuzz", 1, 1 },
    .set_logical_size = tablet_size,
    .position = tablet_position,
    .wheel = tablet_wheel,
    .buttons = tablet_buttons,
};

static const SpiceRecordInterface record_iface = {
    .base = { SPICE_INTERFACE_RECORD, "fuzz", SPICE_INTERFACE_RECORD_MAJOR,
              SPICE_INTERFACE_RECORD_MINOR },
};

static unsigned port_calls;

static void port_state(SpiceCharDeviceInstance *sin, int connected)
{
    (void)sin, (void)connected;
}

static int port_write(SpiceCharDeviceInstance *sin, const uint8_t *buf, int len)
{
    (void)sin, (void)buf;
    switch (port_calls++ % 3) {
    case 0:
        return 0;
    case 1:
        return len < 7 ? len : 7;
    default:
        return len;
    }
}

static int port_read(SpiceCharDeviceInstance *sin, uint8_t *buf, int len)
{
    (void)sin;
    if (port_calls++ % 2 || len < 5) {
        return 0;
    }
    memcpy(buf, "guest", 5);
    return 5;
}

static void port_event(SpiceCharDeviceInstance *sin, uint8_t event)
{
    (void)sin, (void)event;
}

static const SpiceCharDeviceInterface port_iface = {
    .base = { SPICE_INTERFACE_CHAR_DEVICE, "fuzz", SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
              SPICE_INTERFACE_CHAR_DEVICE_MINOR },
    .state = port_state,
    .write = port_write,
    .read = port_read,
    .event = port_event,
    .flags = SPICE_CHAR_DEVICE_NOTIFY_WRITABLE,
};

static SpiceCharDeviceInstance port = { { &port_iface.base }, "port", NULL, "org.fuzz.0" };

/* The vdagent device: it takes everything; what it reads is agent_in. */
static const uint8_t *agent_in;
static size_t agent_in_len;

static int agent_write(SpiceCharDeviceInstance *sin, const uint8_t *buf, int len)
{
    (void)sin, (void)buf;
    return len;
}

static int agent_read(SpiceCharDeviceInstance *sin, uint8_t *buf, int len)
{
    (void)sin;
    size_t n = agent_in_len < (size_t)len ? agent_in_len : (size_t)len;
    if (n == 0) {
        return 0;
    }
    memcpy(buf, agent_in, n);
    agent_in += n;
    agent_in_len -= n;
    return (int)n;
}

static const SpiceCharDeviceInterface agent_iface = {
    .base = { SPICE_INTERFACE_CHAR_DEVICE, "fuzz", SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
              SPICE_INTERFACE_CHAR_DEVICE_MINOR },
    .state = port_state,
    .write = agent_write,
    .read = agent_read,
    .flags = SPICE_CHAR_DEVICE_NOTIFY_WRITABLE,
};

static SpiceCharDeviceInstance agent = { { &agent_iface.base }, "vdagent", NULL, NULL };

static SpiceServer *server;
#ifdef FUZZ_DISPLAY
static DemoDisplay *display;

static void ignore_line(const char *line, void *opaque)
{
    (void)line, (void)opaque;
}
#endif
static SpiceRecordInstance record = { { &record_iface.base }, NULL };
static SpiceKbdInstance kbd = { { &kbd_iface.base }, NULL };
static SpiceMouseInstance mouse = { { &mouse_iface.base }, NULL };
static SpiceTabletInstance tablet = { { &tablet_iface.base }, NULL };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    g_setenv("SPICE_PLUGIN_CONFIG", "", TRUE);
#ifdef FUZZ_DISPLAY
    g_setenv("SPICE_PLUGIN_ENABLE", "display", TRUE);
#else
    g_setenv("SPICE_PLUGIN_ENABLE", "inputs,record,port", TRUE);
#endif
    /* Client-caused errors are logged at "message" level: keep quiet. */
    g_log_set_handler("spicecore", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                      g_log_default_handler, NULL);
    g_setenv("G_MESSAGES_DEBUG", "", TRUE);
    server = spice_server_new();
    spice_server_set_noauth(server);
    if (spice_server_init(server, &core) != 0) {
        abort();
    }
    spice_server_add_interface(server, &kbd.base);
    spice_server_add_interface(server, &mouse.base);
    spice_server_add_interface(server, &tablet.base);
    spice_server_add_interface(server, &record.base);
    spice_server_set_record_rate(&record, 48000);
    spice_server_record_start(&record);
    spice_server_add_interface(server, &port.base);
    spice_server_port_event(&port, SPICE_PORT_EVENT_OPENED);
    spice_server_add_interface(server, &agent.base);
#ifdef FUZZ_DISPLAY
    DemoDisplayConfig cfg = {
        .width = 160, .height = 120, .scenes = DEMO_SCENE_STATIC, .fps = 30, .frames = 0
    };
    display = demo_display_new(&cfg, ignore_line, NULL);
    if (spice_server_add_interface(server, demo_display_base(display)) != 0) {
        abort();
    }
    demo_display_attach(display);
#endif
    return 0;
}

static void drain(int fd)
{
    uint8_t buf[65536];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

#ifdef FUZZ_DISPLAY
typedef struct FeedJob {
    SpiceChannelClient *cc;
    const uint8_t *data;
    size_t size;
    int peer; /* the client's end of the socket, drained as we go */
} FeedJob;

/* On the worker's thread: the input in uneven pieces, then goodbye. */
static void feed_on_worker(void *opaque)
{
    FeedJob *job = opaque;
    size_t pos = 0;
    while (pos < job->size) {
        size_t n = 1 + (job->data[pos] % 97);
        n = n > job->size - pos ? job->size - pos : n;
        channel_client_feed(job->cc, job->data + pos, n);
        pos += n;
        drain(job->peer);
    }
    channel_client_disconnect(job->cc, "fuzz iteration done");
}

static void nothing(void *opaque)
{
    (void)opaque;
}

/* The client's loop once the display plugin's move has arrived. */
static EventLoop *moved_loop(SpiceChannelClient *cc)
{
    for (int i = 0; i < 100000; i++) {
        EventLoop *loop = channel_client_loop(cc);
        if (loop != server->loop) {
            return loop;
        }
        g_usleep(100);
    }
    g_error("the display client never reached the worker");
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        abort();
    }
    SpiceChannel *channel = registry_find(server, FUZZ_CHANNEL, 0);
    SpiceClient *client = server->client;
    if (FUZZ_CHANNEL == SPICE_CHANNEL_MAIN || !client) {
        client = client_new(server);
    }
    ChannelClientParams params = { .stream = stream_new(sv[0]) };
    params.info = g_new0(SpiceChannelEventInfo, 1);
    params.common_caps = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    uint32_t common = 1u << SPICE_COMMON_CAP_MINI_HEADER;
    g_array_append_val(params.common_caps, common);
    params.caps = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    uint32_t caps = ~0u;
    g_array_append_val(params.caps, caps);
    if (channel_client_create(server, channel, client, &params)) {
        SpiceChannelClient *cc = g_ptr_array_index(client->ccs, client->ccs->len - 1);
        channel_client_ref(cc);
#ifdef FUZZ_RECORD_MODE
        uint8_t prefix[6 + 6 + 6 + 4];
        spice_wire_put_u16(prefix, SPICE_MSGC_RECORD_MODE);
        spice_wire_put_u32(prefix + 2, 6);
        spice_wire_put_u32(prefix + 6, 0);
        spice_wire_put_u16(prefix + 10, FUZZ_RECORD_MODE);
        spice_wire_put_u16(prefix + 12, SPICE_MSGC_RECORD_START_MARK);
        spice_wire_put_u32(prefix + 14, 4);
        spice_wire_put_u32(prefix + 18, 0);
        channel_client_feed(cc, prefix, sizeof(prefix));
#endif
#if defined(FUZZ_AGENT) || defined(FUZZ_AGENT_DEVICE)
        /* A fresh agent each time: one that broke the rules stays ignored. */
        spice_server_remove_interface(&agent.base);
        spice_server_add_interface(server, &agent.base);
        uint8_t start[6 + 4];
        spice_wire_put_u16(start, SPICE_MSGC_MAIN_AGENT_START);
        spice_wire_put_u32(start + 2, 4);
        spice_wire_put_u32(start + 6, 0xffffffffu);
        channel_client_feed(cc, start, sizeof(start));
#endif
#ifdef FUZZ_AGENT_DEVICE
        agent_in = data;
        agent_in_len = size;
        spice_server_char_device_wakeup(&agent);
        drain(sv[1]);
        agent_in_len = 0;
#elif defined(FUZZ_AGENT_MSG)
        uint8_t *body = g_malloc(20 + size);
        spice_wire_put_u32(body, VD_AGENT_PROTOCOL);
        spice_wire_put_u32(body + 4, FUZZ_AGENT_MSG);
        spice_wire_put_u32(body + 8, 0);
        spice_wire_put_u32(body + 12, 0);
        spice_wire_put_u32(body + 16, (uint32_t)size);
        memcpy(body + 20, data, size);
        for (size_t pos = 0; pos < 20 + size; pos += VD_AGENT_MAX_DATA_SIZE) {
            size_t n = MIN(20 + size - pos, (size_t)VD_AGENT_MAX_DATA_SIZE);
            uint8_t hdr[6];
            spice_wire_put_u16(hdr, SPICE_MSGC_MAIN_AGENT_DATA);
            spice_wire_put_u32(hdr + 2, (uint32_t)n);
            channel_client_feed(cc, hdr, sizeof(hdr));
            channel_client_feed(cc, body + pos, n);
            drain(sv[1]);
        }
        g_free(body);
#elif defined(FUZZ_DISPLAY)
        FeedJob job = { cc, data, size, sv[1] };
        EventLoop *loop = moved_loop(cc);
        event_loop_invoke(loop, feed_on_worker, &job, true);
        /* The teardown it asked for runs next on that loop. */
        event_loop_invoke(loop, nothing, NULL, true);
#elif defined(FUZZ_MSG_TYPE)
        uint8_t *msg = g_malloc(6 + size);
        spice_wire_put_u16(msg, FUZZ_MSG_TYPE);
        spice_wire_put_u32(msg + 2, (uint32_t)size);
        memcpy(msg + 6, data, size);
        channel_client_feed(cc, msg, 6 + size);
        g_free(msg);
#else
        /* Feed in uneven pieces to exercise partial headers and bodies. */
        size_t pos = 0;
        while (pos < size) {
            size_t n = 1 + (data[pos] % 97);
            n = n > size - pos ? size - pos : n;
            channel_client_feed(cc, data + pos, n);
            pos += n;
            drain(sv[1]);
            /* The device became writable, or has more. */
            spice_server_char_device_wakeup(&port);
        }
#endif
        drain(sv[1]);
#ifndef FUZZ_DISPLAY
        channel_client_disconnect(cc, "fuzz iteration done");
#endif
        channel_client_unref(cc);
    }
    event_loop_run_pending(server->loop);
    if (FUZZ_CHANNEL == SPICE_CHANNEL_MAIN && server->client) {
        client_destroy(server->client, "fuzz iteration done");
        event_loop_run_pending(server->loop);
    }
    close(sv[1]);
    return 0;
}
