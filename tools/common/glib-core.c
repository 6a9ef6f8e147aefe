/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glib-core.c: SpiceCoreInterface over GLib.
 */
#include "glib-core.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

static GMainContext *core_context;
static GlibCoreEventFunc core_on_event;
static void *core_opaque;

struct SpiceTimer {
    SpiceTimerFunc func;
    void *opaque;
    GSource *source;
};

struct SpiceWatch {
    GSource source;
    int fd;
    gpointer tag;
    SpiceWatchFunc func;
    void *opaque;
};

static SpiceTimer *timer_add(SpiceTimerFunc func, void *opaque)
{
    SpiceTimer *t = g_new0(SpiceTimer, 1);
    t->func = func;
    t->opaque = opaque;
    return t;
}

static void timer_cancel(SpiceTimer *t)
{
    if (t->source) {
        g_source_destroy(t->source);
        g_source_unref(t->source);
        t->source = NULL;
    }
}

static gboolean timer_fire(gpointer opaque)
{
    SpiceTimer *t = opaque;
    g_source_unref(t->source);
    t->source = NULL;
    t->func(t->opaque);
    return G_SOURCE_REMOVE;
}

static void timer_start(SpiceTimer *t, uint32_t ms)
{
    timer_cancel(t);
    t->source = g_timeout_source_new(ms);
    g_source_set_callback(t->source, timer_fire, t, NULL);
    g_source_attach(t->source, core_context);
}

static void timer_remove(SpiceTimer *t)
{
    timer_cancel(t);
    g_free(t);
}

static GIOCondition to_condition(int mask)
{
    GIOCondition c = 0;
    if (mask & SPICE_WATCH_EVENT_READ) {
        c |= G_IO_IN;
    }
    if (mask & SPICE_WATCH_EVENT_WRITE) {
        c |= G_IO_OUT;
    }
    return c;
}

static gboolean watch_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    SpiceWatch *w = (SpiceWatch *)source;
    GIOCondition cond = g_source_query_unix_fd(source, w->tag);
    int events = 0;
    (void)cb;
    (void)data;
    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
        events |= SPICE_WATCH_EVENT_READ;
    }
    if (cond & G_IO_OUT) {
        events |= SPICE_WATCH_EVENT_WRITE;
    }
    if (events) {
        w->func(w->fd, events, w->opaque);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = { .dispatch = watch_dispatch };

static SpiceWatch *watch_add(int fd, int mask, SpiceWatchFunc func, void *opaque)
{
    SpiceWatch *w = (SpiceWatch *)g_source_new(&watch_funcs, sizeof(SpiceWatch));
    w->fd = fd;
    w->func = func;
    w->opaque = opaque;
    w->tag = g_source_add_unix_fd(&w->source, fd, to_condition(mask));
    g_source_attach(&w->source, core_context);
    return w;
}

static void watch_update_mask(SpiceWatch *w, int mask)
{
    g_source_modify_unix_fd(&w->source, w->tag, to_condition(mask));
}

static void watch_remove(SpiceWatch *w)
{
    g_source_destroy(&w->source);
    g_source_unref(&w->source);
}

static void channel_event(int event, SpiceChannelEventInfo *info)
{
    /* Hosts must find the extended addresses filled in. */
    g_assert(info->flags & SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT);
    if (core_on_event) {
        core_on_event(event, info, core_opaque);
    }
}

SpiceCoreInterface *glib_core_new(GMainContext *context, GlibCoreEventFunc on_event, void *opaque)
{
    SpiceCoreInterface *core = g_new0(SpiceCoreInterface, 1);
    core->base.type = SPICE_INTERFACE_CORE;
    core->base.description = "GLib main loop";
    core->base.major_version = SPICE_INTERFACE_CORE_MAJOR;
    core->base.minor_version = SPICE_INTERFACE_CORE_MINOR;
    core->timer_add = timer_add;
    core->timer_start = timer_start;
    core->timer_cancel = timer_cancel;
    core->timer_remove = timer_remove;
    core->watch_add = watch_add;
    core->watch_update_mask = watch_update_mask;
    core->watch_remove = watch_remove;
    core->channel_event = channel_event;
    core_context = context ? context : g_main_context_default();
    core_on_event = on_event;
    core_opaque = opaque;
    return core;
}

void glib_core_free(SpiceCoreInterface *core)
{
    g_free(core);
}

char *glib_core_describe_event(const SpiceChannelEventInfo *info)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    const struct sockaddr *sa = (const struct sockaddr *)&info->paddr_ext;
    if (info->plen_ext == 0) {
        g_strlcpy(host, "-", sizeof(host));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    } else if (sa->sa_family == AF_UNIX) {
        g_strlcpy(host, "unix", sizeof(host));
    }
    return g_strdup_printf("type=%d id=%d session=%08x peer=%s:%u%s", info->type, info->id,
                           (unsigned)info->connection_id, host, port,
                           info->flags & SPICE_CHANNEL_EVENT_FLAG_TLS ? " tls" : "");
}
