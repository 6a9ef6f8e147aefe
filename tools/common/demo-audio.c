/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-audio.c: the demo sound card (see demo-audio.h). A GLib timer ticks
 * every 10 ms; each tick hands the server as many 10 ms frames as the
 * clock says are due, so the tone keeps its pitch whatever the timer's
 * jitter. Without a client the server lends no buffer, and the tone's
 * clock restarts when one comes. With bursts the tone sounds for the first
 * half of every period and is silent for the second; the moment each
 * burst's first frame was handed to put_samples is printed (tools/spice-bench
 * measures latency with it).
 */
#include "demo-audio.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#define TICK_MS 10

#define RECORD_TICK_MS 20

struct DemoAudio {
    SpicePlaybackInstance sin;
    SpiceRecordInstance rec;
    DemoAudioEmit emit;
    void *opaque;
    guint record_timer;
    uint32_t record_rate;
    int16_t second[48000 * 2]; /* left channel of up to one second, 2x room */
    uint32_t second_len;
    double hz;
    uint32_t rate;
    double phase; /* radians */
    int64_t start_us;
    uint64_t frames_sent; /* sample frames since start_us */
    guint timer;
    uint32_t burst_ms; /* 0: a steady tone */
    uint64_t bursts;   /* bursts started */
};

static const SpiceRecordInterface record_interface = {
    .base = { .type = SPICE_INTERFACE_RECORD,
              .description = "demo recorder",
              .major_version = SPICE_INTERFACE_RECORD_MAJOR,
              .minor_version = SPICE_INTERFACE_RECORD_MINOR },
};

static const SpicePlaybackInterface playback_interface = {
    .base = { .type = SPICE_INTERFACE_PLAYBACK,
              .description = "demo tone",
              .major_version = SPICE_INTERFACE_PLAYBACK_MAJOR,
              .minor_version = SPICE_INTERFACE_PLAYBACK_MINOR },
};

DemoAudio *demo_audio_new(double hz, DemoAudioEmit emit, void *opaque)
{
    DemoAudio *a = g_new0(DemoAudio, 1);
    a->sin.base.sif = &playback_interface.base;
    a->rec.base.sif = &record_interface.base;
    a->emit = emit;
    a->opaque = opaque;
    a->hz = hz;
    a->rate = 48000;
    return a;
}

SpiceBaseInstance *demo_audio_playback_base(DemoAudio *a)
{
    return &a->sin.base;
}

static void fill(DemoAudio *a, uint32_t *samples, uint32_t n)
{
    double step = 2 * G_PI * a->hz / a->rate;
    for (uint32_t i = 0; i < n; i++) {
        int16_t v = (int16_t)lrint(sin(a->phase) * 0.3 * 32767);
        uint16_t u = (uint16_t)v;
        samples[i] = (uint32_t)u | ((uint32_t)u << 16); /* left, right */
        a->phase += step;
        if (a->phase > 2 * G_PI) {
            a->phase -= 2 * G_PI;
        }
    }
}

void demo_audio_set_bursts(DemoAudio *a, uint32_t period_ms)
{
    a->burst_ms = period_ms;
}

/* With bursts: where the frame starting at sample frame `at` lies in its
 * period (-1: silent, 0: a burst starts, 1: within a burst). */
static int burst_state(const DemoAudio *a, uint64_t at)
{
    uint64_t period = (uint64_t)a->burst_ms * a->rate / 1000;
    uint64_t in = at % period;
    return in >= period / 2 ? -1 : in < 1 ? 0 : 1;
}

static gboolean on_tick(gpointer data)
{
    DemoAudio *a = data;
    int64_t now = g_get_monotonic_time();
    uint64_t due = (uint64_t)(now - a->start_us) * a->rate / G_USEC_PER_SEC;
    while (a->frames_sent < due) {
        uint32_t *samples = NULL;
        uint32_t n = 0;
        spice_server_playback_get_buffer(&a->sin, &samples, &n);
        if (!samples || n == 0) {
            /* Nobody listens (or every buffer is out): start the clock
             * again when someone does. */
            a->start_us = now;
            a->frames_sent = 0;
            break;
        }
        int burst = a->burst_ms ? burst_state(a, a->frames_sent) : 1;
        if (burst < 0) {
            memset(samples, 0, n * sizeof(*samples));
        } else {
            if (burst == 0) {
                a->phase = 0;
            }
            fill(a, samples, n);
        }
        int64_t put_us = g_get_monotonic_time();
        spice_server_playback_put_samples(&a->sin, samples);
        a->frames_sent += n;
        if (burst == 0) {
            char line[64];
            g_snprintf(line, sizeof(line),
                       "audio: burst %" G_GUINT64_FORMAT " at %" G_GINT64_FORMAT, a->bursts++,
                       put_us);
            a->emit(line, a->opaque);
        }
    }
    return G_SOURCE_CONTINUE;
}

void demo_audio_start(DemoAudio *a)
{
    /* What QEMU's audio backend does. */
    a->rate = spice_server_get_best_playback_rate(&a->sin);
    spice_server_set_playback_rate(&a->sin, a->rate);
    spice_server_playback_start(&a->sin);
    a->start_us = g_get_monotonic_time();
    a->frames_sent = 0;
    a->timer = g_timeout_add(TICK_MS, on_tick, a);
}

bool demo_audio_set_volume(DemoAudio *a, const char *list)
{
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    uint16_t volume[8];
    guint n = g_strv_length(parts);
    if (n == 0 || n > G_N_ELEMENTS(volume)) {
        return false;
    }
    for (guint i = 0; i < n; i++) {
        guint64 v;
        if (!g_ascii_string_to_unsigned(parts[i], 10, 0, 65535, &v, NULL)) {
            return false;
        }
        volume[i] = (uint16_t)v;
    }
    spice_server_playback_set_volume(&a->sin, (uint8_t)n, volume);
    return true;
}

void demo_audio_set_mute(DemoAudio *a, bool mute)
{
    spice_server_playback_set_mute(&a->sin, mute);
}

void demo_audio_stop(DemoAudio *a)
{
    if (a->timer) {
        g_source_remove(a->timer);
        a->timer = 0;
        spice_server_playback_stop(&a->sin);
    }
}

SpiceBaseInstance *demo_audio_record_base(DemoAudio *a)
{
    return &a->rec.base;
}

/* One second of the left channel: its RMS level and frequency. */
static void report_second(DemoAudio *a)
{
    double sum = 0;
    uint32_t rises = 0, first = 0, last = 0;
    for (uint32_t i = 0; i < a->second_len; i++) {
        double v = a->second[i];
        sum += v * v;
        if (i > 0 && a->second[i - 1] < 0 && a->second[i] >= 0) {
            if (rises == 0) {
                first = i;
            }
            last = i;
            rises++;
        }
    }
    double rms = sqrt(sum / a->second_len) / 32768.0;
    double level = rms > 0 ? 20 * log10(rms) : -120;
    double hz = rises > 1 ? (rises - 1) * (double)a->record_rate / (last - first) : 0;
    char line[96];
    g_snprintf(line, sizeof(line), "record: level %.1f dBFS, %.1f Hz", level, hz);
    a->emit(line, a->opaque);
    a->second_len = 0;
}

static gboolean on_record_tick(gpointer data)
{
    DemoAudio *a = data;
    uint32_t buf[4800];
    uint32_t n;
    while ((n = spice_server_record_get_samples(&a->rec, buf, G_N_ELEMENTS(buf))) > 0) {
        for (uint32_t i = 0; i < n; i++) {
            a->second[a->second_len++] = (int16_t)(uint16_t)(buf[i] & 0xffff);
            if (a->second_len >= a->record_rate) {
                report_second(a);
            }
        }
    }
    return G_SOURCE_CONTINUE;
}

void demo_audio_record_start(DemoAudio *a)
{
    a->record_rate = spice_server_get_best_record_rate(NULL);
    if (a->record_rate == 0 || a->record_rate > 48000) {
        a->record_rate = 48000;
    }
    spice_server_set_record_rate(&a->rec, a->record_rate);
    spice_server_record_start(&a->rec);
    a->record_timer = g_timeout_add(RECORD_TICK_MS, on_record_tick, a);
}

void demo_audio_record_stop(DemoAudio *a)
{
    if (a->record_timer) {
        g_source_remove(a->record_timer);
        a->record_timer = 0;
        spice_server_record_stop(&a->rec);
    }
}

void demo_audio_free(DemoAudio *a)
{
    if (a) {
        g_clear_handle_id(&a->record_timer, g_source_remove);
        g_clear_handle_id(&a->timer, g_source_remove);
        g_free(a);
    }
}
