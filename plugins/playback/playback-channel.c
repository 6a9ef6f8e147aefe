/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * playback-channel.c: the PLAYBACK channel (libspice-plugin-playback.so).
 *
 * Serves the host's "playback" interface (one instance: QEMU's audio
 * backend or the demo host's tone) and, while that instance is added, one
 * PLAYBACK channel with id 0 (as in the reference, a client is offered
 * playback only when the host has a sound card).
 * The host asks for a frame with spice_server_playback_get_buffer (480
 * stereo S16 samples, 10 ms at 48 kHz, from a pool of three), fills it and
 * hands it back with spice_server_playback_put_samples; each frame is
 * sent as DATA stamped with the multimedia clock, raw or as one Opus
 * packet when the client has the OPUS cap, playback compression is on and
 * the rate is one Opus takes.
 *
 * Messages follow the reference's order: MODE (and VOLUME + MUTE once the
 * host set a volume) when a client connects, START when playback runs
 * (at connect, or on spice_server_playback_start), STOP on stop.
 *
 * The multimedia clock: while a client is played to, the stamps of its
 * DATA run its clock, so the playback plugin says so on "spice.mm-time"
 * (the main channel then stops sending MULTIMEDIA_TIME) and turns the
 * latency requests of "spice.mm-latency" into LATENCY for a client with
 * the LATENCY cap, as the reference does.
 *
 * Flow: a client that cannot take more keeps exactly one pending frame,
 * the newest; older ones are dropped and counted. The host's thread is
 * never blocked and memory never grows. One client at a time: a new one
 * replaces the old.
 *
 * Threads: everything runs on the host's thread. QEMU calls the entry
 * points from its main loop, where the core runs too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <opus.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "spice-plugin-wire.h"
#include "spice-plugin.h"

#include "../common/sound.h"

#define FRAME_SAMPLES    480 /* per channel: 10 ms at 48 kHz */
#define FRAME_POOL       3
#define PLAYBACK_MAX_MSG 1024 /* clients send nothing of their own */
#define OPUS_MAX_PACKET  4000

static const SpiceHostServices *host;

typedef struct Frame {
    uint32_t samples[FRAME_SAMPLES]; /* first: the host gets this pointer */
    bool lent;                       /* between get_buffer and put_samples */
} Frame;

typedef struct Playback Playback;

typedef struct PlaybackClient {
    SpicePlugin *plugin;
    Playback *pb; /* NULL once the client was replaced or its channel went */
    SpiceChannelClient *cc;
    uint16_t mode;     /* SPICE_AUDIO_DATA_MODE_RAW or _OPUS */
    OpusEncoder *opus; /* in Opus mode */
    bool started;      /* sent START (and no STOP since) */
    uint8_t *pending;  /* a DATA body waiting for room, or NULL */
    uint32_t pending_size;
    uint64_t dropped; /* frames dropped because the client was slow */
} PlaybackClient;

struct Playback {
    SpicePlugin *plugin;
    SpiceChannel *channel;
    SpicePlaybackInstance *sin; /* the host's instance, or NULL */
    PlaybackClient *client;     /* the connected client, or NULL */
    bool active;                /* between playback_start and playback_stop */
    uint32_t frequency;
    Frame frames[FRAME_POOL];
    SoundVolume volume;
    bool audio_clock; /* published on "spice.mm-time" */
    SpiceTopicSubscription *latency_sub;
};

/* ---- messages ---------------------------------------------------------------------- */

static void send_mode(PlaybackClient *c)
{
    uint8_t body[6];
    spice_wire_put_u32(body, host->mm_time(c->pb->plugin));
    spice_wire_put_u16(body + 4, c->mode);
    host->channel_client_send(c->cc, SPICE_MSG_PLAYBACK_MODE, body, sizeof(body));
}

static const SoundVolumeMessages volume_messages = {
    .cap = SPICE_PLAYBACK_CAP_VOLUME,
    .volume = SPICE_MSG_PLAYBACK_VOLUME,
    .mute = SPICE_MSG_PLAYBACK_MUTE,
};

static void drop_pending(PlaybackClient *c)
{
    free(c->pending);
    c->pending = NULL;
    c->pending_size = 0;
}

/* Say on "spice.mm-time" whether audio runs the client's clock now. */
static void publish_clock(Playback *pb)
{
    bool audio = pb->client && pb->client->started;
    if (audio == pb->audio_clock) {
        return;
    }
    pb->audio_clock = audio;
    SpiceMmTimeInfo info = { .size = sizeof(info), .audio = audio };
    host->topic_publish(pb->plugin, SPICE_TOPIC_MM_TIME, 0, &info, sizeof(info),
                        SPICE_TOPIC_RETAIN);
}

static void send_start(PlaybackClient *c)
{
    uint8_t body[14];
    spice_wire_put_u32(body, SPICE_INTERFACE_PLAYBACK_CHAN);
    spice_wire_put_u16(body + 4, SPICE_AUDIO_FMT_S16);
    spice_wire_put_u32(body + 6, c->pb->frequency);
    spice_wire_put_u32(body + 10, host->mm_time(c->pb->plugin));
    host->channel_client_send(c->cc, SPICE_MSG_PLAYBACK_START, body, sizeof(body));
    c->started = true;
    publish_clock(c->pb);
}

static void send_stop(PlaybackClient *c)
{
    drop_pending(c);
    host->channel_client_send(c->cc, SPICE_MSG_PLAYBACK_STOP, NULL, 0);
    c->started = false;
    publish_clock(c->pb);
}

/* DATA: u32 time, then the samples (raw) or one Opus packet. Returns the
 * body (malloc) or NULL after disconnecting the client. */
static uint8_t *data_body(PlaybackClient *c, const uint32_t *samples, uint32_t *size)
{
    uint8_t *body;
    if (c->mode == SPICE_AUDIO_DATA_MODE_OPUS) {
        body = malloc(4 + OPUS_MAX_PACKET);
        if (!body) {
            return NULL;
        }
        opus_int32 n = opus_encode(c->opus, (const opus_int16 *)samples, FRAME_SAMPLES, body + 4,
                                   OPUS_MAX_PACKET);
        if (n < 0) {
            host->log(c->pb->plugin, SPICE_PLUGIN_LOG_WARNING, "Opus encoding failed: %s",
                      opus_strerror(n));
            free(body);
            host->channel_client_disconnect(c->cc, "audio encoding failed");
            return NULL;
        }
        *size = 4 + (uint32_t)n;
    } else {
        *size = 4 + FRAME_SAMPLES * 4;
        body = malloc(*size);
        if (!body) {
            return NULL;
        }
        memcpy(body + 4, samples, FRAME_SAMPLES * 4);
    }
    spice_wire_put_u32(body, host->mm_time(c->pb->plugin));
    return body;
}

/* ---- the channel ------------------------------------------------------------------- */

static bool choose_opus(PlaybackClient *c)
{
    Playback *pb = c->pb;
    if (!host->server_get_int(pb->plugin, SPICE_SERVER_INT_PLAYBACK_COMPRESSION) ||
        !host->channel_client_test_cap(c->cc, SPICE_PLAYBACK_CAP_OPUS) ||
        !sound_opus_rate(pb->frequency)) {
        return false;
    }
    int err = 0;
    c->opus = opus_encoder_create((opus_int32)pb->frequency, SPICE_INTERFACE_PLAYBACK_CHAN,
                                  OPUS_APPLICATION_AUDIO, &err);
    if (!c->opus) {
        host->log(pb->plugin, SPICE_PLUGIN_LOG_WARNING, "no Opus encoder (%s): sending raw audio",
                  opus_strerror(err));
        return false;
    }
    return true;
}

static void client_free(PlaybackClient *c)
{
    if (c->dropped) {
        host->log(c->plugin, SPICE_PLUGIN_LOG_INFO,
                  "playback client gone; %" G_GUINT64_FORMAT " frames were dropped for it",
                  c->dropped);
    }
    drop_pending(c);
    if (c->opus) {
        opus_encoder_destroy(c->opus);
    }
    free(c);
}

static int playback_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    Playback *pb = host->channel_get_data(channel);
    if (pb->client) {
        /* One client per sound channel: the newest wins. */
        host->channel_client_disconnect(pb->client->cc, "replaced by a new playback client");
        pb->client->pb = NULL;
        pb->client = NULL;
        publish_clock(pb);
    }
    PlaybackClient *c = calloc(1, sizeof(*c));
    if (!c) {
        return -ENOMEM;
    }
    c->plugin = pb->plugin;
    c->pb = pb;
    c->cc = cc;
    c->mode = choose_opus(c) ? SPICE_AUDIO_DATA_MODE_OPUS : SPICE_AUDIO_DATA_MODE_RAW;
    host->channel_client_set_data(cc, c);
    pb->client = c;
    send_mode(c);
    if (pb->volume.channels) {
        sound_send_volume_mute(host, cc, &pb->volume, &volume_messages);
    }
    if (pb->active) {
        send_start(c);
    }
    return 0;
}

static void playback_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    (void)channel;
    PlaybackClient *c = host->channel_client_get_data(cc);
    if (c->pb && c->pb->client == c) {
        c->pb->client = NULL;
        publish_clock(c->pb);
    }
    client_free(c);
}

static int playback_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                                   uint32_t size)
{
    (void)cc, (void)type, (void)body, (void)size;
    /* Clients send nothing of their own on this channel. */
    return -ENOTSUP;
}

/* The client can take more: the pending (newest) frame goes. */
static void playback_produce(SpiceChannelClient *cc)
{
    PlaybackClient *c = host->channel_client_get_data(cc);
    if (c->pending) {
        uint8_t *body = c->pending;
        c->pending = NULL;
        host->channel_client_send_owned(cc, SPICE_MSG_PLAYBACK_DATA, body, c->pending_size, free);
        c->pending_size = 0;
    }
}

static const SpiceChannelOps playback_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = playback_connect,
    .disconnect = playback_disconnect,
    .handle_message = playback_handle_message,
    .produce = playback_produce,
};

static const SpiceChannelCap playback_caps[] = {
    { SPICE_PLAYBACK_CAP_VOLUME, "VOLUME" },
    /* Withdrawn while the host's rate is one Opus does not take. */
    { SPICE_PLAYBACK_CAP_OPUS, "OPUS" },
};

static const SpiceChannelClass playback_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_PLAYBACK,
    .name = "playback",
    .max_message_size = PLAYBACK_MAX_MSG,
    .caps = playback_caps,
    .n_caps = G_N_ELEMENTS(playback_caps),
    .ops = &playback_ops,
};

/* ---- the "playback" interface's entry points ----------------------------------------- */

static void e_start(void *data)
{
    Playback *pb = data;
    pb->active = true;
    if (pb->client && !pb->client->started) {
        send_start(pb->client);
    }
}

static void e_stop(void *data)
{
    Playback *pb = data;
    pb->active = false;
    if (pb->client && pb->client->started) {
        send_stop(pb->client);
    }
}

static void e_get_buffer(void *data, uint32_t **samples, uint32_t *num_samples)
{
    Playback *pb = data;
    *samples = NULL;
    *num_samples = 0;
    /* As the reference: no client, nobody to play to. */
    if (!pb->client) {
        return;
    }
    for (unsigned i = 0; i < FRAME_POOL; i++) {
        if (!pb->frames[i].lent) {
            pb->frames[i].lent = true;
            *samples = pb->frames[i].samples;
            *num_samples = FRAME_SAMPLES;
            return;
        }
    }
}

static void e_put_samples(void *data, uint32_t *samples)
{
    Playback *pb = data;
    Frame *frame = NULL;
    for (unsigned i = 0; i < FRAME_POOL && !frame; i++) {
        if (samples == pb->frames[i].samples && pb->frames[i].lent) {
            frame = &pb->frames[i];
        }
    }
    if (!frame) {
        host->log(pb->plugin, SPICE_PLUGIN_LOG_WARNING,
                  "playback_put_samples: not a buffer from playback_get_buffer; ignored");
        return;
    }
    frame->lent = false;
    PlaybackClient *c = pb->client;
    if (!c || !c->started) {
        return;
    }
    uint32_t size;
    uint8_t *body = data_body(c, samples, &size);
    if (!body) {
        return;
    }
    if (!c->pending && host->channel_client_can_send(c->cc)) {
        host->channel_client_send_owned(c->cc, SPICE_MSG_PLAYBACK_DATA, body, size, free);
        return;
    }
    /* A slow client gets the newest audio: the older pending frame goes. */
    if (c->pending) {
        c->dropped++;
        free(c->pending);
    }
    c->pending = body;
    c->pending_size = size;
    host->channel_client_want_produce(c->cc);
}

static void e_set_volume(void *data, uint8_t nchannels, uint16_t *volume)
{
    Playback *pb = data;
    if (!sound_volume_set(&pb->volume, nchannels, volume)) {
        host->log(pb->plugin, SPICE_PLUGIN_LOG_WARNING,
                  "playback_set_volume: %u channels (at most %u); ignored", nchannels,
                  SOUND_MAX_VOLUME_CHANNELS);
        return;
    }
    if (pb->client && nchannels) {
        sound_send_volume_mute(host, pb->client->cc, &pb->volume, &volume_messages);
    }
}

static void e_set_mute(void *data, uint8_t mute)
{
    Playback *pb = data;
    pb->volume.mute = mute;
    if (pb->client) {
        sound_send_mute(host, pb->client->cc, &pb->volume, &volume_messages);
    }
}

static uint32_t e_get_best_rate(void *data)
{
    (void)data;
    return SOUND_BEST_RATE;
}

static void e_set_rate(void *data, uint32_t frequency)
{
    Playback *pb = data;
    if (frequency == 0 || frequency > SOUND_MAX_RATE) {
        host->log(pb->plugin, SPICE_PLUGIN_LOG_WARNING,
                  "set_playback_rate: %u Hz is not a sample rate; keeping %u", frequency,
                  pb->frequency);
        return;
    }
    pb->frequency = frequency;
    /* Clients that link from now on may choose Opus. */
    host->channel_set_cap(pb->channel, SPICE_PLAYBACK_CAP_OPUS, sound_opus_rate(frequency));
}

static const SpicePlaybackEntries playback_entries = {
    .size = sizeof(SpicePlaybackEntries),
    .start = e_start,
    .stop = e_stop,
    .get_buffer = e_get_buffer,
    .put_samples = e_put_samples,
    .set_volume = e_set_volume,
    .set_mute = e_set_mute,
    .get_best_rate = e_get_best_rate,
    .set_rate = e_set_rate,
};

static int playback_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **data)
{
    Playback *pb = host->get_data(plugin);
    if (pb->sin) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING,
                  "a second playback instance is refused: one is served");
        return -EBUSY;
    }
    pb->channel = host->channel_register(plugin, &playback_class, 0, pb);
    if (!pb->channel) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "cannot register the playback channel");
        return -EEXIST;
    }
    /* Until the host sets a rate: the reference's default, Opus-capable
     * (the class's OPUS cap holds). */
    pb->frequency = SOUND_BEST_RATE;
    pb->sin = (SpicePlaybackInstance *)sin;
    pb->active = false;
    *data = pb;
    return 0;
}

static void playback_remove(SpicePlugin *plugin, SpiceBaseInstance *sin, void *data)
{
    (void)plugin, (void)sin;
    Playback *pb = data;
    if (pb->client) {
        /* Its client goes with the channel. */
        pb->client->pb = NULL;
        pb->client = NULL;
        publish_clock(pb);
    }
    host->channel_unregister(pb->channel);
    pb->channel = NULL;
    pb->sin = NULL;
    pb->active = false;
    memset(&pb->volume, 0, sizeof(pb->volume));
    memset(pb->frames, 0, sizeof(pb->frames));
}

static const SpiceInterfaceClass playback_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_PLAYBACK,
    .major = SPICE_INTERFACE_PLAYBACK_MAJOR,
    .minor = SPICE_INTERFACE_PLAYBACK_MINOR,
    .add = playback_add,
    .remove = playback_remove,
    .entries = &playback_entries,
};

/* ---- plugin ------------------------------------------------------------------------- */

/* A stream needs a client to play further behind the clock: while audio
 * runs that client's clock, LATENCY tells it. */
static void on_mm_latency(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                          uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)size;
    Playback *pb = opaque;
    const SpiceMmLatencyRequest *req = payload;
    PlaybackClient *c = pb->client;
    if (!c || !c->started || !req || !SPICE_PAYLOAD_HAS(req, SpiceMmLatencyRequest, latency_ms) ||
        key != host->client_get_session_id(host->channel_client_get_client(c->cc)) ||
        !host->channel_client_test_cap(c->cc, SPICE_PLAYBACK_CAP_LATENCY)) {
        return;
    }
    uint8_t body[4];
    spice_wire_put_u32(body, req->latency_ms);
    host->channel_client_send(c->cc, SPICE_MSG_PLAYBACK_LATENCY, body, sizeof(body));
}

static int playback_init(SpicePlugin *plugin, const SpiceHostServices *services)
{
    host = services;
    if (!SPICE_HOST_HAS(host, topic_subscribe)) {
        host->set_error(plugin, "needs plugin ABI 1.3 (topics)");
        return -ENOTSUP;
    }
    Playback *pb = calloc(1, sizeof(*pb));
    if (!pb) {
        host->set_error(plugin, "out of memory");
        return -ENOMEM;
    }
    pb->plugin = plugin;
    pb->latency_sub =
        host->topic_subscribe(plugin, SPICE_TOPIC_MM_LATENCY, NULL, on_mm_latency, pb);
    host->set_data(plugin, pb);
    return 0;
}

static void playback_deinit(SpicePlugin *plugin)
{
    Playback *pb = host->get_data(plugin);
    host->topic_unsubscribe(pb->latency_sub);
    free(pb);
    host->set_data(plugin, NULL);
}

static const SpiceChannelClass *const playback_channels[] = { &playback_class, NULL };
static const SpiceInterfaceClass *const playback_interfaces[] = { &playback_iface, NULL };

SPICE_PLUGIN_DEFINE(playback, .version = "0.1.0", .license = "LGPL-2.1-or-later",
                    .description = "Playback channel: audio from the host to the client, raw or "
                                   "Opus",
                    .origin = "spicecore", .channels = playback_channels,
                    .interfaces = playback_interfaces, .init = playback_init,
                    .deinit = playback_deinit)
