/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * display.h: what every part of the display plugin shares.
 *
 *   display-plugin.c  plugin descriptor, the "qxl" interface; wires each
 *                     QXL instance's worker to its DISPLAY channel
 *   qxl-worker.c/.h   one worker thread per QXL instance: the spice_qxl_*
 *                     entry points, memory slots, surfaces, command
 *                     processing and rendering
 *   display-output.h  how the worker tells the channel what changed, and
 *                     what the channel may read and report back
 *   display-channel.c the DISPLAY channel: one DisplayClient per
 *                     connected client, fed from per-client dirty regions
 *   glz-sessions.c/.h the GLZ dictionary of each client session, shared
 *                     by its display channels
 *
 * Threads: the entry points run on the host's thread (QEMU's vCPU or main
 * thread) and hand work to the worker with loop_invoke; the surfaces and
 * the display clients are touched only on the worker thread.
 */
#ifndef SPICE_DISPLAY_DISPLAY_H_
#define SPICE_DISPLAY_DISPLAY_H_

#include "spice-plugin.h"

/* The host-services table (one per process; see spice-plugin.h). */
extern const SpiceHostServices *display_host;

typedef struct GlzSessions GlzSessions;
/* The plugin's GLZ dictionaries, by session (display-plugin.c). */
GlzSessions *display_glz_sessions(SpicePlugin *plugin);
/* Whether the session's network test found a slow link (any thread). */
bool display_low_bandwidth(SpicePlugin *plugin, uint32_t session_id);
/* The bit rate it measured, 0 when no test ran (any thread). */
uint64_t display_link_bitrate(SpicePlugin *plugin, uint32_t session_id);

#endif /* SPICE_DISPLAY_DISPLAY_H_ */
