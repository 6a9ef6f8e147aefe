/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * main-channel.c: the MAIN channel (libspice-plugin-main.so).
 *
 * The first channel a client links. It tells the client its session id,
 * the mouse modes and the multimedia clock (INIT), the server's name and
 * UUID, the channels it may open (CHANNELS_LIST, on ATTACH_CHANNELS, and
 * later one entry per channel added), and answers mouse-mode requests.
 * Right after INIT it measures the link with three PINGs (warm-up,
 * latency, 250 KiB of payload for the bit rate), as clients expect.
 *
 * The multimedia clock: INIT carries it minus the client's latency (400
 * ms to start with). While no audio plays ("spice.mm-time"), a latency
 * request that raises it ("spice.mm-latency") sends MULTIMEDIA_TIME again;
 * when audio stops, the latency goes back to 400 ms and MULTIMEDIA_TIME
 * tells the client, as the reference does.
 *
 * The guest agent: the main plugin serves the host's "vdagent" char
 * device and relays it to the client's AGENT_* messages (agent.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <spice/enums.h>
#include <spice/protocol.h>

#include "spice-plugin-wire.h"
#include "spice-plugin.h"

#include "agent.h"

/* Largest client message: room for agent data chunks (the protocol's
 * 4096 + (10 + 1) * 2048 bytes). */
#define MAIN_MAX_MESSAGE    (4096 + 11 * 2048)
#define MM_TIME_DELTA_MS    400
#define NET_TEST_PAYLOAD    (250 * 1024)
#define LOW_BANDWIDTH_BPS   (10 * 1000 * 1000)
#define MAX_LISTED_CHANNELS 256

/* The host-services table, stored once by main_init() (every server hands
 * out the same table); all per-server state hangs off the plugin. */
static const SpiceHostServices *host;

typedef struct MainPlugin {
    SpicePlugin *plugin;
    SpiceChannel *channel;
    SpiceChannelClient *cc; /* the connected client's main channel */
    SpiceTopicSubscription *mouse_mode_sub;
    SpiceTopicSubscription *mm_time_sub;
    SpiceTopicSubscription *mm_latency_sub;
    Agent *agent;
    bool audio_clock;    /* a playback stream runs the client's clock */
    uint32_t mm_latency; /* ms the client plays behind the clock */
} MainPlugin;

typedef enum { NET_TEST_NONE, NET_TEST_WARMUP, NET_TEST_LATENCY, NET_TEST_RATE } NetTestStep;

typedef struct MainClient {
    MainPlugin *mp;
    bool channels_listed;
    NetTestStep net_step;
    uint32_t net_ping_id[3];
    uint64_t latency_us;
    uint64_t bitrate_bps;
    bool link_published; /* spice.client-link, to withdraw */
} MainClient;

static uint32_t session_of(SpiceChannelClient *cc)
{
    return host->client_get_session_id(host->channel_client_get_client(cc));
}

static void send_mouse_mode(MainPlugin *mp, const SpiceMouseModeInfo *info)
{
    uint8_t body[4];
    spice_wire_put_u16(body, (uint16_t)info->supported);
    spice_wire_put_u16(body + 2, (uint16_t)info->current);
    host->channel_client_send(mp->cc, SPICE_MSG_MAIN_MOUSE_MODE, body, sizeof(body));
}

static void send_channels_list(MainPlugin *mp, const SpiceChannelId *ids, uint32_t n)
{
    uint8_t body[4 + 2 * MAX_LISTED_CHANNELS];
    n = n > MAX_LISTED_CHANNELS ? MAX_LISTED_CHANNELS : n;
    spice_wire_put_u32(body, n);
    for (uint32_t i = 0; i < n; i++) {
        body[4 + 2 * i] = ids[i].type;
        body[5 + 2 * i] = ids[i].id;
    }
    host->channel_client_send(mp->cc, SPICE_MSG_MAIN_CHANNELS_LIST, body, 4 + 2 * n);
}

static void send_init(MainPlugin *mp, SpiceChannelClient *cc)
{
    uint32_t supported;
    uint32_t current = host->mouse_mode_get(mp->plugin, &supported);
    uint8_t body[32];
    spice_wire_put_u32(body, host->client_get_session_id(host->channel_client_get_client(cc)));
    spice_wire_put_u32(
        body + 4, (uint32_t)host->server_get_int(mp->plugin, SPICE_SERVER_INT_DISPLAY_CHANNELS));
    spice_wire_put_u32(body + 8, supported);
    spice_wire_put_u32(body + 12, current);
    spice_wire_put_u32(body + 16, agent_device_present(mp->agent));
    spice_wire_put_u32(body + 20, AGENT_CLIENT_TOKENS);
    spice_wire_put_u32(body + 24, host->mm_time(mp->plugin) - mp->mm_latency);
    spice_wire_put_u32(body + 28,
                       (uint32_t)host->server_get_int(mp->plugin, SPICE_SERVER_INT_QXL_RAM_SIZE));
    host->channel_client_send(cc, SPICE_MSG_MAIN_INIT, body, sizeof(body));

    if (host->channel_client_test_cap(cc, SPICE_MAIN_CAP_NAME_AND_UUID)) {
        const char *name = host->server_get_name(mp->plugin);
        if (name) {
            size_t len = strlen(name) + 1;
            if (len > 4096) {
                len = 4096;
            }
            uint8_t msg[4 + 4096];
            spice_wire_put_u32(msg, (uint32_t)len);
            memcpy(msg + 4, name, len);
            msg[4 + len - 1] = '\0';
            host->channel_client_send(cc, SPICE_MSG_MAIN_NAME, msg, 4 + (uint32_t)len);
        }
        uint8_t uuid[16];
        if (host->server_get_uuid(mp->plugin, uuid)) {
            host->channel_client_send(cc, SPICE_MSG_MAIN_UUID, uuid, sizeof(uuid));
        }
    }
}

static void send_mm_time(MainPlugin *mp)
{
    uint8_t body[4];
    spice_wire_put_u32(body, host->mm_time(mp->plugin) - mp->mm_latency);
    host->channel_client_send(mp->cc, SPICE_MSG_MAIN_MULTI_MEDIA_TIME, body, sizeof(body));
}

static void start_net_test(MainPlugin *mp, SpiceChannelClient *cc, MainClient *mc)
{
    /* Over a unix socket bandwidth is not a question worth asking. */
    if (host->channel_client_get_family(cc) == AF_UNIX) {
        return;
    }
    mc->net_step = NET_TEST_WARMUP;
    mc->net_ping_id[0] = host->channel_client_ping(cc, 0);
    mc->net_ping_id[1] = host->channel_client_ping(cc, 0);
    mc->net_ping_id[2] = host->channel_client_ping(cc, NET_TEST_PAYLOAD);
}

static int main_connect(SpiceChannel *channel, SpiceChannelClient *cc);
static void main_disconnect(SpiceChannel *channel, SpiceChannelClient *cc);
static int main_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                               uint32_t size);
static void main_pong_cb(SpiceChannelClient *cc, uint32_t ping_id, uint64_t rtt_us);
static void main_produce(SpiceChannelClient *cc);

static const SpiceChannelOps main_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = main_connect,
    .disconnect = main_disconnect,
    .handle_message = main_handle_message,
    .pong = main_pong_cb,
    .produce = main_produce,
};

static const SpiceChannelCap main_caps[] = {
    { SPICE_MAIN_CAP_NAME_AND_UUID, "NAME_AND_UUID" },
    { SPICE_MAIN_CAP_AGENT_CONNECTED_TOKENS, "AGENT_CONNECTED_TOKENS" },
};

static const SpiceChannelClass main_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_MAIN,
    .name = "main",
    .flags = 0,
    .max_message_size = MAIN_MAX_MESSAGE,
    .caps = main_caps,
    .n_caps = sizeof(main_caps) / sizeof(main_caps[0]),
    .ops = &main_ops,
};

static MainPlugin *plugin_state(SpiceChannel *channel)
{
    return host->channel_get_data(channel);
}

static MainClient *client_state(SpiceChannelClient *cc)
{
    return host->channel_client_get_data(cc);
}

static int main_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    MainPlugin *mp = plugin_state(channel);
    MainClient *mc = calloc(1, sizeof(*mc));
    if (!mc) {
        return -ENOMEM;
    }
    mc->mp = mp;
    host->channel_client_set_data(cc, mc);
    mp->cc = cc;
    /* A new session starts from the default; its streams ask for more. */
    mp->mm_latency = MM_TIME_DELTA_MS;
    send_init(mp, cc);
    agent_client_connected(mp->agent, cc);
    start_net_test(mp, cc, mc);
    return 0;
}

static void main_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    MainPlugin *mp = plugin_state(channel);
    if (mp->cc == cc) {
        mp->cc = NULL;
        agent_client_disconnected(mp->agent);
    }
    MainClient *mc = client_state(cc);
    if (mc && mc->link_published) {
        host->topic_publish(mp->plugin, SPICE_TOPIC_CLIENT_LINK, session_of(cc), NULL, 0,
                            SPICE_TOPIC_RETAIN);
    }
    free(mc);
    host->channel_client_set_data(cc, NULL);
}

static void main_pong_cb(SpiceChannelClient *cc, uint32_t ping_id, uint64_t rtt_us)
{
    MainClient *mc = client_state(cc);
    MainPlugin *mp = mc->mp;
    if (mc->net_step == NET_TEST_NONE) {
        return;
    }
    if (ping_id == mc->net_ping_id[0]) {
        mc->net_step = NET_TEST_LATENCY;
    } else if (ping_id == mc->net_ping_id[1]) {
        mc->latency_us = rtt_us;
        mc->net_step = NET_TEST_RATE;
    } else if (ping_id == mc->net_ping_id[2]) {
        uint64_t transfer_us = rtt_us > mc->latency_us ? rtt_us - mc->latency_us : 1;
        mc->bitrate_bps = (uint64_t)NET_TEST_PAYLOAD * 8 * 1000000 / transfer_us;
        mc->net_step = NET_TEST_NONE;
        host->log(mp->plugin, SPICE_PLUGIN_LOG_INFO,
                  "network test: latency %.3f ms, bit rate %.1f Mbit/s (%s bandwidth)",
                  mc->latency_us / 1000.0, mc->bitrate_bps / 1e6,
                  mc->bitrate_bps < LOW_BANDWIDTH_BPS ? "low" : "high");
        SpiceClientLinkInfo link = { .size = sizeof(link),
                                     .low_bandwidth = mc->bitrate_bps < LOW_BANDWIDTH_BPS,
                                     .latency_us = mc->latency_us,
                                     .bitrate_bps = mc->bitrate_bps };
        host->topic_publish(mp->plugin, SPICE_TOPIC_CLIENT_LINK, session_of(cc), &link,
                            sizeof(link), SPICE_TOPIC_RETAIN);
        mc->link_published = true;
    }
}

static void main_produce(SpiceChannelClient *cc)
{
    agent_client_produce(client_state(cc)->mp->agent);
}

static int main_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                               uint32_t size)
{
    MainClient *mc = client_state(cc);
    MainPlugin *mp = mc->mp;
    SpiceWireReader r = spice_wire_reader(body, size);

    switch (type) {
    case SPICE_MSGC_MAIN_ATTACH_CHANNELS: {
        SpiceChannelId ids[MAX_LISTED_CHANNELS];
        uint32_t n = host->channel_list(mp->plugin, ids, MAX_LISTED_CHANNELS);
        send_channels_list(mp, ids, n);
        mc->channels_listed = true;
        return 0;
    }
    case SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST: {
        uint16_t mode = spice_wire_u16(&r);
        if (r.error) {
            host->log(mp->plugin, SPICE_PLUGIN_LOG_MESSAGE, "malformed MOUSE_MODE_REQUEST");
            return -EINVAL;
        }
        if (host->mouse_mode_request(mp->plugin, mode) < 0) {
            host->log(mp->plugin, SPICE_PLUGIN_LOG_INFO,
                      "client asked for mouse mode %u, which is not available now", mode);
        }
        return 0;
    }
    case SPICE_MSGC_MAIN_CLIENT_INFO:
        (void)spice_wire_u64(&r);
        if (r.error) {
            host->log(mp->plugin, SPICE_PLUGIN_LOG_MESSAGE, "malformed CLIENT_INFO");
            return -EINVAL;
        }
        return 0;
    case SPICE_MSGC_MAIN_AGENT_START:
    case SPICE_MSGC_MAIN_AGENT_TOKEN:
    case SPICE_MSGC_MAIN_AGENT_DATA: {
        int rc = agent_client_message(mp->agent, type, body, size);
        if (rc == -EINVAL) {
            host->log(mp->plugin, SPICE_PLUGIN_LOG_MESSAGE, "malformed agent message %u", type);
        }
        return rc;
    }
    case SPICE_MSGC_MAIN_MIGRATE_CONNECTED:
    case SPICE_MSGC_MAIN_MIGRATE_CONNECT_ERROR:
    case SPICE_MSGC_MAIN_MIGRATE_END:
    case SPICE_MSGC_MAIN_MIGRATE_DST_DO_SEAMLESS:
    case SPICE_MSGC_MAIN_MIGRATE_CONNECTED_SEAMLESS:
        host->log(mp->plugin, SPICE_PLUGIN_LOG_INFO,
                  "migration message %u ignored: no migration is in progress", type);
        return 0;
    case SPICE_MSGC_MAIN_QUALITY_INDICATOR:
        return 0;
    default:
        return -ENOTSUP;
    }
}

static void main_server_event(SpicePlugin *plugin, const SpiceServerEvent *ev)
{
    MainPlugin *mp = host->get_data(plugin);
    if (!mp || !mp->cc) {
        return;
    }
    switch (ev->type) {
    case SPICE_SERVER_EVENT_CHANNEL_ADDED: {
        MainClient *mc = client_state(mp->cc);
        if (mc->channels_listed) {
            SpiceChannelId id = { host->channel_get_type(ev->channel),
                                  host->channel_get_id(ev->channel) };
            if (id.type != SPICE_CHANNEL_MAIN) {
                send_channels_list(mp, &id, 1);
            }
        }
        break;
    }
    default:
        break;
    }
}

/* The core's mouse mode changed: tell the client. */
static void on_mouse_mode(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                          uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)key, (void)size;
    MainPlugin *mp = opaque;
    const SpiceMouseModeInfo *info = payload;
    if (mp->cc && info && SPICE_PAYLOAD_HAS(info, SpiceMouseModeInfo, supported)) {
        send_mouse_mode(mp, info);
    }
}

/* Audio started or stopped running the clients' clocks. */
static void on_mm_time(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                       uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)key, (void)size;
    MainPlugin *mp = opaque;
    const SpiceMmTimeInfo *info = payload;
    bool audio = info && SPICE_PAYLOAD_HAS(info, SpiceMmTimeInfo, audio) && info->audio;
    if (mp->audio_clock && !audio) {
        mp->mm_latency = MM_TIME_DELTA_MS;
        if (mp->cc) {
            send_mm_time(mp);
        }
    }
    mp->audio_clock = audio;
}

/* A stream needs the client to play further behind the clock. */
static void on_mm_latency(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                          uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)size;
    MainPlugin *mp = opaque;
    const SpiceMmLatencyRequest *req = payload;
    if (mp->audio_clock || !mp->cc || !req ||
        !SPICE_PAYLOAD_HAS(req, SpiceMmLatencyRequest, latency_ms) ||
        key != host->client_get_session_id(host->channel_client_get_client(mp->cc))) {
        return;
    }
    if (req->latency_ms > mp->mm_latency) {
        mp->mm_latency = req->latency_ms;
        send_mm_time(mp);
    }
}

/* ---- the "char_device" interface, subtype "vdagent" -------------------------------- */

static void e_agent_wakeup(void *data)
{
    agent_device_wakeup(data);
}

static const SpiceCharDeviceEntries agent_entries = {
    .size = sizeof(SpiceCharDeviceEntries),
    .wakeup = e_agent_wakeup,
};

static int vdagent_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **data)
{
    MainPlugin *mp = host->get_data(plugin);
    int rc = agent_device_add(mp->agent, (SpiceCharDeviceInstance *)sin);
    *data = mp->agent;
    return rc;
}

static void vdagent_remove(SpicePlugin *plugin, SpiceBaseInstance *sin, void *data)
{
    (void)plugin, (void)sin;
    agent_device_remove(data);
}

static const SpiceInterfaceClass vdagent_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_CHAR_DEVICE,
    .subtype = "vdagent",
    .major = SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
    .minor = SPICE_INTERFACE_CHAR_DEVICE_MINOR,
    .add = vdagent_add,
    .remove = vdagent_remove,
    .entries = &agent_entries,
};

static int main_init(SpicePlugin *plugin, const SpiceHostServices *services)
{
    host = services;
    if (!SPICE_HOST_HAS(host, topic_subscribe)) {
        host->set_error(plugin, "needs plugin ABI 1.3 (topics)");
        return -ENOTSUP;
    }
    MainPlugin *mp = calloc(1, sizeof(*mp));
    if (!mp) {
        host->set_error(plugin, "out of memory");
        return -ENOMEM;
    }
    mp->plugin = plugin;
    mp->agent = agent_new(plugin, host);
    if (!mp->agent) {
        host->set_error(plugin, "out of memory");
        free(mp);
        return -ENOMEM;
    }
    mp->channel = host->channel_register(plugin, &main_class, 0, mp);
    if (!mp->channel) {
        host->set_error(plugin, "cannot register the main channel");
        agent_free(mp->agent);
        free(mp);
        return -EEXIST;
    }
    mp->mm_latency = MM_TIME_DELTA_MS;
    mp->mouse_mode_sub =
        host->topic_subscribe(plugin, SPICE_TOPIC_MOUSE_MODE, NULL, on_mouse_mode, mp);
    mp->mm_time_sub = host->topic_subscribe(plugin, SPICE_TOPIC_MM_TIME, NULL, on_mm_time, mp);
    mp->mm_latency_sub =
        host->topic_subscribe(plugin, SPICE_TOPIC_MM_LATENCY, NULL, on_mm_latency, mp);
    host->set_data(plugin, mp);
    return 0;
}

static void main_deinit(SpicePlugin *plugin)
{
    MainPlugin *mp = host->get_data(plugin);
    host->topic_unsubscribe(mp->mouse_mode_sub);
    host->topic_unsubscribe(mp->mm_time_sub);
    host->topic_unsubscribe(mp->mm_latency_sub);
    agent_free(mp->agent);
    free(mp);
    host->set_data(plugin, NULL);
}

static const SpiceChannelClass *const main_channels[] = { &main_class, NULL };
static const SpiceInterfaceClass *const main_interfaces[] = { &vdagent_iface, NULL };

SPICE_PLUGIN_DEFINE(main, .version = "0.1.0", .license = "LGPL-2.1-or-later",
                    .description = "Main channel: session, channel list, mouse modes, guest agent",
                    .origin = "spicecore", .channels = main_channels, .interfaces = main_interfaces,
                    .init = main_init, .deinit = main_deinit, .server_event = main_server_event)
