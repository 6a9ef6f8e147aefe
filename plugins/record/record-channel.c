/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * record-channel.c: the RECORD channel (libspice-plugin-record.so).
 *
 * Serves the host's "record" interface (one instance: QEMU's audio
 * backend or the demo host's recorder) and, while it is added, one RECORD
 * channel with id 0. The client's microphone arrives as DATA, raw
 * stereo S16 or Opus packets (decoded here), after MODE and START_MARK;
 * it goes into a ring of 8192 stereo samples that the host drains with
 * spice_server_record_get_samples (nothing until the ring is half full at
 * the start, as in the reference; a host that does not drain loses the
 * oldest samples, never memory).
 *
 * Messages to the client follow the reference: VOLUME + MUTE at connect
 * once the host set a volume, START when recording runs (at connect, or
 * on spice_server_record_start), STOP on stop.
 *
 * Bad input: DATA larger than the channel's limit disconnects (the core);
 * DATA before MODE / START_MARK or while not recording, and an Opus packet
 * that does not decode, are dropped with a log line (once per client); a
 * MODE the server cannot decode disconnects, as in the reference.
 *
 * Threads: everything runs on the host's thread.
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

#define RING_SAMPLES     8192 /* stereo samples (32 KiB), as the reference */
#define RECORD_MAX_MSG   (6 + RING_SAMPLES * 4)
#define OPUS_MAX_SAMPLES 5760 /* 120 ms at 48 kHz: the longest Opus frame */

static const SpiceHostServices *host;

typedef struct Record Record;

typedef struct RecordClient {
    SpicePlugin *plugin;
    Record *rec; /* NULL once the client was replaced or its channel went */
    SpiceChannelClient *cc;
    uint16_t mode; /* 0 until the client's MODE */
    bool marked;   /* START_MARK seen */
    bool started;  /* sent START (and no STOP since) */
    OpusDecoder *opus;
    bool dropped_logged; /* said once per client */
} RecordClient;

struct Record {
    SpicePlugin *plugin;
    SpiceChannel *channel;
    SpiceRecordInstance *sin;
    RecordClient *client;
    bool active;
    uint32_t frequency;
    uint32_t ring[RING_SAMPLES];
    uint64_t write_pos; /* samples ever written */
    uint64_t read_pos;  /* samples ever read (or overwritten) */
    SoundVolume volume;
    opus_int16 decoded[OPUS_MAX_SAMPLES * 2];
};

/* ---- messages ---------------------------------------------------------------------- */

static const SoundVolumeMessages volume_messages = {
    .cap = SPICE_RECORD_CAP_VOLUME,
    .volume = SPICE_MSG_RECORD_VOLUME,
    .mute = SPICE_MSG_RECORD_MUTE,
};

static void send_start(RecordClient *c)
{
    uint8_t body[10];
    spice_wire_put_u32(body, SPICE_INTERFACE_RECORD_CHAN);
    spice_wire_put_u16(body + 4, SPICE_AUDIO_FMT_S16);
    spice_wire_put_u32(body + 6, c->rec->frequency);
    host->channel_client_send(c->cc, SPICE_MSG_RECORD_START, body, sizeof(body));
    c->started = true;
}

static void send_stop(RecordClient *c)
{
    host->channel_client_send(c->cc, SPICE_MSG_RECORD_STOP, NULL, 0);
    c->started = false;
}

/* ---- the ring ------------------------------------------------------------------------ */

static void ring_write(Record *rec, const uint8_t *bytes, uint32_t samples)
{
    if (samples > RING_SAMPLES) {
        /* Only the newest fit. */
        bytes += (size_t)(samples - RING_SAMPLES) * 4;
        samples = RING_SAMPLES;
    }
    uint32_t at = (uint32_t)(rec->write_pos % RING_SAMPLES);
    uint32_t first = MIN(samples, RING_SAMPLES - at);
    memcpy(rec->ring + at, bytes, (size_t)first * 4);
    memcpy(rec->ring, bytes + (size_t)first * 4, (size_t)(samples - first) * 4);
    rec->write_pos += samples;
    if (rec->write_pos - rec->read_pos > RING_SAMPLES) {
        rec->read_pos = rec->write_pos - RING_SAMPLES; /* overrun: the oldest go */
    }
}

/* ---- the channel ------------------------------------------------------------------- */

static void drop(RecordClient *c, const char *why)
{
    if (!c->dropped_logged) {
        c->dropped_logged = true;
        host->log(c->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                  "record client: audio dropped: %s (said once per client)", why);
    }
}

static int handle_mode(RecordClient *c, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    (void)spice_wire_u32(&r); /* time */
    uint16_t mode = spice_wire_u16(&r);
    if (r.error) {
        host->log(c->plugin, SPICE_PLUGIN_LOG_MESSAGE, "record client: short MODE");
        return -EINVAL;
    }
    if (mode == SPICE_AUDIO_DATA_MODE_RAW) {
        c->mode = mode;
        return 0;
    }
    Record *rec = c->rec;
    if (mode != SPICE_AUDIO_DATA_MODE_OPUS || !rec || !sound_opus_rate(rec->frequency)) {
        host->log(c->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                  "record client: audio mode %u is not one this server offered", mode);
        return -EINVAL;
    }
    if (!c->opus) {
        int err = 0;
        c->opus =
            opus_decoder_create((opus_int32)rec->frequency, SPICE_INTERFACE_RECORD_CHAN, &err);
        if (!c->opus) {
            host->log(c->plugin, SPICE_PLUGIN_LOG_WARNING, "no Opus decoder: %s",
                      opus_strerror(err));
            return -ENOMEM;
        }
    }
    c->mode = mode;
    return 0;
}

static int handle_data(RecordClient *c, const uint8_t *body, uint32_t size)
{
    Record *rec = c->rec;
    if (size < 4) {
        host->log(c->plugin, SPICE_PLUGIN_LOG_MESSAGE, "record client: short DATA");
        return -EINVAL;
    }
    if (!rec || !c->started) {
        drop(c, "DATA while not recording");
        return 0;
    }
    if (!c->mode || !c->marked) {
        drop(c, "DATA before MODE and START_MARK");
        return 0;
    }
    const uint8_t *data = body + 4;
    uint32_t n = size - 4;
    if (c->mode == SPICE_AUDIO_DATA_MODE_RAW) {
        ring_write(rec, data, n / 4);
        return 0;
    }
    int samples = opus_decode(c->opus, data, (opus_int32)n, rec->decoded, OPUS_MAX_SAMPLES, 0);
    if (samples < 0) {
        drop(c, "an Opus packet that does not decode");
        return 0;
    }
    ring_write(rec, (const uint8_t *)rec->decoded, (uint32_t)samples);
    return 0;
}

static int record_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                                 uint32_t size)
{
    RecordClient *c = host->channel_client_get_data(cc);
    switch (type) {
    case SPICE_MSGC_RECORD_DATA:
        return handle_data(c, body, size);
    case SPICE_MSGC_RECORD_MODE:
        return handle_mode(c, body, size);
    case SPICE_MSGC_RECORD_START_MARK:
        if (size < 4) {
            host->log(c->plugin, SPICE_PLUGIN_LOG_MESSAGE, "record client: short START_MARK");
            return -EINVAL;
        }
        c->marked = true;
        return 0;
    default:
        return -ENOTSUP;
    }
}

static void client_free(RecordClient *c)
{
    if (c->opus) {
        opus_decoder_destroy(c->opus);
    }
    free(c);
}

static int record_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    Record *rec = host->channel_get_data(channel);
    if (rec->client) {
        /* One client per sound channel: the newest wins. */
        host->channel_client_disconnect(rec->client->cc, "replaced by a new record client");
        rec->client->rec = NULL;
        rec->client = NULL;
    }
    RecordClient *c = calloc(1, sizeof(*c));
    if (!c) {
        return -ENOMEM;
    }
    c->plugin = rec->plugin;
    c->rec = rec;
    c->cc = cc;
    host->channel_client_set_data(cc, c);
    rec->client = c;
    if (rec->volume.channels) {
        sound_send_volume_mute(host, cc, &rec->volume, &volume_messages);
    }
    if (rec->active) {
        rec->read_pos = rec->write_pos = 0;
        send_start(c);
    }
    return 0;
}

static void record_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    (void)channel;
    RecordClient *c = host->channel_client_get_data(cc);
    if (c->rec && c->rec->client == c) {
        c->rec->client = NULL;
    }
    client_free(c);
}

static const SpiceChannelOps record_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = record_connect,
    .disconnect = record_disconnect,
    .handle_message = record_handle_message,
};

static const SpiceChannelCap record_caps[] = {
    { SPICE_RECORD_CAP_VOLUME, "VOLUME" },
    /* Withdrawn while the host's rate is one Opus does not take. */
    { SPICE_RECORD_CAP_OPUS, "OPUS" },
};

static const SpiceChannelClass record_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_RECORD,
    .name = "record",
    .max_message_size = RECORD_MAX_MSG,
    .caps = record_caps,
    .n_caps = G_N_ELEMENTS(record_caps),
    .ops = &record_ops,
};

/* ---- the "record" interface's entry points ------------------------------------------- */

static void e_start(void *data)
{
    Record *rec = data;
    rec->active = true;
    rec->read_pos = rec->write_pos = 0;
    if (rec->client && !rec->client->started) {
        send_start(rec->client);
    }
}

static void e_stop(void *data)
{
    Record *rec = data;
    rec->active = false;
    if (rec->client && rec->client->started) {
        send_stop(rec->client);
    }
}

static uint32_t e_get_samples(void *data, uint32_t *samples, uint32_t bufsize)
{
    Record *rec = data;
    /* As the reference: nothing without a client, and nothing until the
     * ring is half full at the start, so the host does not underrun. */
    if (!rec->client || !samples || rec->write_pos < RING_SAMPLES / 2) {
        return 0;
    }
    uint32_t n = (uint32_t)MIN(rec->write_pos - rec->read_pos, (uint64_t)bufsize);
    uint32_t at = (uint32_t)(rec->read_pos % RING_SAMPLES);
    uint32_t first = MIN(n, RING_SAMPLES - at);
    memcpy(samples, rec->ring + at, (size_t)first * 4);
    memcpy(samples + first, rec->ring, (size_t)(n - first) * 4);
    rec->read_pos += n;
    return n;
}

static void e_set_volume(void *data, uint8_t nchannels, uint16_t *volume)
{
    Record *rec = data;
    if (!sound_volume_set(&rec->volume, nchannels, volume)) {
        host->log(rec->plugin, SPICE_PLUGIN_LOG_WARNING,
                  "record_set_volume: %u channels (at most %u); ignored", nchannels,
                  SOUND_MAX_VOLUME_CHANNELS);
        return;
    }
    if (rec->client && nchannels) {
        sound_send_volume_mute(host, rec->client->cc, &rec->volume, &volume_messages);
    }
}

static void e_set_mute(void *data, uint8_t mute)
{
    Record *rec = data;
    rec->volume.mute = mute;
    if (rec->client) {
        sound_send_mute(host, rec->client->cc, &rec->volume, &volume_messages);
    }
}

static uint32_t e_get_best_rate(void *data)
{
    (void)data;
    return SOUND_BEST_RATE;
}

static void e_set_rate(void *data, uint32_t frequency)
{
    Record *rec = data;
    if (frequency == 0 || frequency > SOUND_MAX_RATE) {
        host->log(rec->plugin, SPICE_PLUGIN_LOG_WARNING,
                  "set_record_rate: %u Hz is not a sample rate; keeping %u", frequency,
                  rec->frequency);
        return;
    }
    rec->frequency = frequency;
    host->channel_set_cap(rec->channel, SPICE_RECORD_CAP_OPUS, sound_opus_rate(frequency));
}

static const SpiceRecordEntries record_entries = {
    .size = sizeof(SpiceRecordEntries),
    .start = e_start,
    .stop = e_stop,
    .get_samples = e_get_samples,
    .set_volume = e_set_volume,
    .set_mute = e_set_mute,
    .get_best_rate = e_get_best_rate,
    .set_rate = e_set_rate,
};

static int record_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **data)
{
    Record *rec = host->get_data(plugin);
    if (rec->sin) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING,
                  "a second record instance is refused: one is served");
        return -EBUSY;
    }
    rec->channel = host->channel_register(plugin, &record_class, 0, rec);
    if (!rec->channel) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "cannot register the record channel");
        return -EEXIST;
    }
    rec->frequency = SOUND_BEST_RATE; /* Opus-capable: the class's OPUS cap holds */
    rec->sin = (SpiceRecordInstance *)sin;
    rec->active = false;
    rec->read_pos = rec->write_pos = 0;
    *data = rec;
    return 0;
}

static void record_remove(SpicePlugin *plugin, SpiceBaseInstance *sin, void *data)
{
    (void)plugin, (void)sin;
    Record *rec = data;
    if (rec->client) {
        rec->client->rec = NULL;
        rec->client = NULL;
    }
    host->channel_unregister(rec->channel);
    rec->channel = NULL;
    rec->sin = NULL;
    rec->active = false;
    memset(&rec->volume, 0, sizeof(rec->volume));
}

static const SpiceInterfaceClass record_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_RECORD,
    .major = SPICE_INTERFACE_RECORD_MAJOR,
    .minor = SPICE_INTERFACE_RECORD_MINOR,
    .add = record_add,
    .remove = record_remove,
    .entries = &record_entries,
};

/* ---- plugin ------------------------------------------------------------------------- */

static int record_init(SpicePlugin *plugin, const SpiceHostServices *services)
{
    host = services;
    Record *rec = calloc(1, sizeof(*rec));
    if (!rec) {
        host->set_error(plugin, "out of memory");
        return -ENOMEM;
    }
    rec->plugin = plugin;
    host->set_data(plugin, rec);
    return 0;
}

static void record_deinit(SpicePlugin *plugin)
{
    free(host->get_data(plugin));
    host->set_data(plugin, NULL);
}

static const SpiceChannelClass *const record_channels[] = { &record_class, NULL };
static const SpiceInterfaceClass *const record_interfaces[] = { &record_iface, NULL };

SPICE_PLUGIN_DEFINE(record, .version = "0.1.0", .license = "LGPL-2.1-or-later",
                    .description = "Record channel: audio from the client to the host, raw or "
                                   "Opus",
                    .origin = "spicecore", .channels = record_channels,
                    .interfaces = record_interfaces, .init = record_init, .deinit = record_deinit)
