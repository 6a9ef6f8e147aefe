/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glz-sessions.h: the GLZ dictionary of each client session (see
 * glz-sessions.c). Any thread.
 */
#ifndef SPICE_DISPLAY_GLZ_SESSIONS_H_
#define SPICE_DISPLAY_GLZ_SESSIONS_H_

#include <stdint.h>

#include "image-codec.h"

typedef struct GlzSessions GlzSessions;
typedef struct GlzSession GlzSession;

GlzSessions *glz_sessions_new(void);
/* After every session was left. */
void glz_sessions_free(GlzSessions *gs);

/* A display channel of the session starts using GLZ with the client's
 * window size (pixels). Returns the session, to leave exactly once. */
GlzSession *glz_sessions_join(GlzSessions *gs, uint32_t session_id, uint64_t window_pixels);
/* The channel is gone: the session uses no GLZ any more (NULL is a
 * no-op). */
void glz_sessions_leave(GlzSessions *gs, GlzSession *s);

/* The dictionary to encode with, or NULL when the session may not use
 * GLZ (a window of 0, a channel of it lost, out of memory). */
GlzDictionary *glz_session_dictionary(GlzSession *s);

#endif /* SPICE_DISPLAY_GLZ_SESSIONS_H_ */
