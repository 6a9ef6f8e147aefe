/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sound.h: what the playback and record plugins share, header-only (each
 * plugin is its own .so and links nothing of the other): the rates Opus
 * takes, the host's volume and mute, and the VOLUME / MUTE messages, which
 * have the same layout on both channels under different numbers.
 */
#ifndef SPICE_PLUGINS_COMMON_SOUND_H_
#define SPICE_PLUGINS_COMMON_SOUND_H_

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "spice-plugin-wire.h"
#include "spice-plugin.h"

/* The sample rate both plugins start with and report as best: Opus's. */
#define SOUND_BEST_RATE 48000
/* Largest sample rate a host may set. */
#define SOUND_MAX_RATE            192000
#define SOUND_MAX_VOLUME_CHANNELS 16

/* The host's volume (channels 0: never set) and mute. */
typedef struct SoundVolume {
    uint8_t channels;
    uint16_t volume[SOUND_MAX_VOLUME_CHANNELS];
    uint8_t mute;
} SoundVolume;

/* The message numbers and cap of one channel's VOLUME and MUTE. */
typedef struct SoundVolumeMessages {
    uint32_t cap; /* SPICE_PLAYBACK_CAP_VOLUME, SPICE_RECORD_CAP_VOLUME */
    uint16_t volume;
    uint16_t mute;
} SoundVolumeMessages;

/* Rates Opus encodes and decodes. */
static inline bool sound_opus_rate(uint32_t frequency)
{
    return frequency == 48000 || frequency == 24000 || frequency == 16000 || frequency == 12000 ||
           frequency == 8000;
}

/* Keep the host's volume. false (nothing kept) for more channels than
 * SOUND_MAX_VOLUME_CHANNELS or a missing array. */
static inline bool sound_volume_set(SoundVolume *v, uint8_t channels, const uint16_t *volume)
{
    if (channels > SOUND_MAX_VOLUME_CHANNELS || (channels && !volume)) {
        return false;
    }
    v->channels = channels;
    if (channels) {
        memcpy(v->volume, volume, 2u * channels);
    }
    return true;
}

/* MUTE to a client that has the VOLUME cap. */
static inline void sound_send_mute(const SpiceHostServices *host, SpiceChannelClient *cc,
                                   const SoundVolume *v, const SoundVolumeMessages *msgs)
{
    if (host->channel_client_test_cap(cc, msgs->cap)) {
        host->channel_client_send(cc, msgs->mute, &v->mute, 1);
    }
}

/* VOLUME (u8 n, u16 volume[n]) then MUTE to a client that has the cap. */
static inline void sound_send_volume_mute(const SpiceHostServices *host, SpiceChannelClient *cc,
                                          const SoundVolume *v, const SoundVolumeMessages *msgs)
{
    if (!host->channel_client_test_cap(cc, msgs->cap)) {
        return;
    }
    uint8_t body[1 + 2 * SOUND_MAX_VOLUME_CHANNELS];
    body[0] = v->channels;
    for (uint8_t i = 0; i < v->channels; i++) {
        spice_wire_put_u16(body + 1 + 2 * i, v->volume[i]);
    }
    host->channel_client_send(cc, msgs->volume, body, 1 + 2u * v->channels);
    host->channel_client_send(cc, msgs->mute, &v->mute, 1);
}

#endif /* SPICE_PLUGINS_COMMON_SOUND_H_ */
