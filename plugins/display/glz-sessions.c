/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glz-sessions.c: one GLZ dictionary per client session, shared by the
 * session's display channels (which run on their own worker threads).
 *
 * spice-gtk keeps one GLZ window per session whatever the number of
 * display channels, so image ids must be unique across them: the
 * dictionary (its ids and its window) is the session's. It stays while a
 * display channel of the session is connected.
 *
 * The client frees nothing from its window while an id is missing, and
 * stalls on a copy from an id it never got. A display channel that
 * closes while its session lives on may have lost images on the way: from
 * then on the session uses no GLZ (its channels send LZ or LZ4), and a
 * display channel that reconnects to it gets none either. Sessions are
 * remembered that way until a bounded number of later ones replaced them.
 */
#include <glib.h>

#include "glz-sessions.h"

#define REMEMBERED_SESSIONS 64

struct GlzSession {
    uint32_t id;
    int users;           /* under GlzSessions.lock */
    gint stopped;        /* atomic: no more GLZ for this session */
    GlzDictionary *dict; /* while users > 0 */
};

struct GlzSessions {
    GMutex lock;
    GHashTable *by_id; /* session id -> GlzSession* */
    GQueue idle;       /* ids of sessions without users, oldest first */
};

GlzSessions *glz_sessions_new(void)
{
    GlzSessions *gs = g_new0(GlzSessions, 1);
    g_mutex_init(&gs->lock);
    gs->by_id = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    g_queue_init(&gs->idle);
    return gs;
}

void glz_sessions_free(GlzSessions *gs)
{
    if (!gs) {
        return;
    }
    g_hash_table_unref(gs->by_id);
    g_queue_clear(&gs->idle);
    g_mutex_clear(&gs->lock);
    g_free(gs);
}

GlzSession *glz_sessions_join(GlzSessions *gs, uint32_t session_id, uint64_t window_pixels)
{
    g_mutex_lock(&gs->lock);
    GlzSession *s = g_hash_table_lookup(gs->by_id, GUINT_TO_POINTER(session_id));
    if (!s) {
        s = g_new0(GlzSession, 1);
        s->id = session_id;
        g_hash_table_insert(gs->by_id, GUINT_TO_POINTER(session_id), s);
    } else if (s->users == 0) {
        g_queue_remove(&gs->idle, GUINT_TO_POINTER(session_id));
    }
    s->users++;
    if (!s->dict && !g_atomic_int_get(&s->stopped)) {
        /* The first channel's window size stands for the session. */
        s->dict = glz_dictionary_new(window_pixels);
        if (!s->dict) {
            g_atomic_int_set(&s->stopped, 1);
        }
    }
    g_mutex_unlock(&gs->lock);
    return s;
}

void glz_sessions_leave(GlzSessions *gs, GlzSession *s)
{
    if (!s) {
        return;
    }
    g_mutex_lock(&gs->lock);
    g_atomic_int_set(&s->stopped, 1);
    if (--s->users == 0) {
        glz_dictionary_unref(s->dict);
        s->dict = NULL;
        g_queue_push_tail(&gs->idle, GUINT_TO_POINTER(s->id));
        while (gs->idle.length > REMEMBERED_SESSIONS) {
            uint32_t old = GPOINTER_TO_UINT(g_queue_pop_head(&gs->idle));
            g_hash_table_remove(gs->by_id, GUINT_TO_POINTER(old));
        }
    }
    g_mutex_unlock(&gs->lock);
}

GlzDictionary *glz_session_dictionary(GlzSession *s)
{
    /* s->dict is set before the first user gets s and cleared only after
     * the last left: stable for any user. */
    return s && !g_atomic_int_get(&s->stopped) ? s->dict : NULL;
}
