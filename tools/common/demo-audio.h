/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-audio.h: a sound card for host programs without a VM: it plays a
 * sine tone into the server's "playback" interface the way QEMU's audio
 * backend does (get_buffer, fill, put_samples every 10 ms, at the rate
 * the server asks for, stereo S16).
 */
#ifndef SPICE_TOOLS_DEMO_AUDIO_H_
#define SPICE_TOOLS_DEMO_AUDIO_H_

#include <stdbool.h>

#include <spice.h>

typedef struct DemoAudio DemoAudio;

/* A tone of hz Hertz (amplitude 0.3 of full scale). */
DemoAudio *demo_audio_new(double hz);
/* What to pass to spice_server_add_interface(). */
SpiceBaseInstance *demo_audio_playback_base(DemoAudio *a);
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
