/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-audio.h: a sound card for host programs without a VM: it plays a
 * sine tone into the server's "playback" interface the way QEMU's audio
 * backend does (get_buffer, fill, put_samples every 10 ms, at the rate
 * the server asks for, stereo S16), and records from the "record"
 * interface (get_samples every 20 ms), reporting once per second of
 * audio received one line
 *
 *   record: level -10.5 dBFS, 1000.0 Hz
 *
 * (the left channel's RMS level and its frequency from zero crossings).
 */
#ifndef SPICE_TOOLS_DEMO_AUDIO_H_
#define SPICE_TOOLS_DEMO_AUDIO_H_

#include <stdbool.h>
#include <stdint.h>

#include <spice.h>

typedef struct DemoAudio DemoAudio;

typedef void (*DemoAudioEmit)(const char *line, void *opaque);

/* A tone of hz Hertz (amplitude 0.3 of full scale); record lines go to
 * emit. */
DemoAudio *demo_audio_new(double hz, DemoAudioEmit emit, void *opaque);
/* What to pass to spice_server_add_interface() for the recorder. */
SpiceBaseInstance *demo_audio_record_base(DemoAudio *a);
/* After the record interface was added: set its rate and start. */
void demo_audio_record_start(DemoAudio *a);
void demo_audio_record_stop(DemoAudio *a);
/* What to pass to spice_server_add_interface(). */
SpiceBaseInstance *demo_audio_playback_base(DemoAudio *a);
/* Before demo_audio_start: the tone for the first half of every period_ms
 * (a multiple of 20 ms: whole frames in each half), silence for the
 * second; each burst prints "audio: burst N at T" (T:
 * g_get_monotonic_time() in µs just before its first frame went to
 * put_samples). 0: a steady tone. */
void demo_audio_set_bursts(DemoAudio *a, uint32_t period_ms);
/* After the interface was added: set the rate and start playing. */
void demo_audio_start(DemoAudio *a);
/* "30000,20000": one volume per channel (1..8 values, 0..65535), as a
 * guest's mixer sets it. False if the text is not such a list. */
bool demo_audio_set_volume(DemoAudio *a, const char *list);
void demo_audio_set_mute(DemoAudio *a, bool mute);
/* Stop playing (before spice_server_remove_interface). */
void demo_audio_stop(DemoAudio *a);
void demo_audio_free(DemoAudio *a);

#endif /* SPICE_TOOLS_DEMO_AUDIO_H_ */
