/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glib-core.h: a SpiceCoreInterface on a GLib main context, the way a host
 * program (QEMU, our demo host, our tests) lends its event loop to the
 * server. Timers and watches run on `context`; channel events may arrive
 * from server threads and are passed to `on_event` (any thread).
 */
#ifndef SPICE_TOOLS_GLIB_CORE_H_
#define SPICE_TOOLS_GLIB_CORE_H_

#include <glib.h>
#include <spice.h>

typedef void (*GlibCoreEventFunc)(int event, SpiceChannelEventInfo *info, void *opaque);

/* One core interface per process: SpiceCoreInterface callbacks carry no
 * context pointer, so the context is remembered here. */
SpiceCoreInterface *glib_core_new(GMainContext *context, GlibCoreEventFunc on_event, void *opaque);
void glib_core_free(SpiceCoreInterface *core);

/* "main:0 127.0.0.1:40000" for an event's channel and peer; g_free it. */
char *glib_core_describe_event(const SpiceChannelEventInfo *info);

#endif /* SPICE_TOOLS_GLIB_CORE_H_ */
