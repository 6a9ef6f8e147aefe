/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * topics.c: the topic board (see topics.h and "Topics" in spice-plugin.h).
 *
 * A publish copies the payload once into a reference-counted block and
 * queues one delivery per active subscription on the subscription's loop
 * (event_loop_invoke without waiting). A delivery runs the callback only
 * if the subscription is still active when it gets there, which is what
 * makes topic_unsubscribe() on the loop's thread final: deliveries still
 * queued find it inactive. Queuing from one thread keeps that thread's
 * publishing order per loop.
 */
#include "topics.h"

#include <errno.h>
#include <string.h>

#include "plugin-host.h"

typedef struct TopicValue {
    SpicePlugin *publisher; /* NULL: the core; compared, never dereferenced */
    GBytes *payload;
} TopicValue;

typedef struct Topic {
    char *name;
    GHashTable *values; /* key (GUINT_TO_POINTER) -> TopicValue* */
    GList *subs;        /* SpiceTopicSubscription*, in subscription order */
} Topic;

/*
 * References: one for the handle (the subscriber's, dropped by
 * topic_unsubscribe() or, for a plugin, after its deinit()), one while it
 * is on its topic's list, one per queued delivery. Being on the list is
 * what "active" means; the handle stays valid after the core took it off
 * (plugin unload, loop_free), so a later topic_unsubscribe() is safe.
 */
struct SpiceTopicSubscription {
    gint refs;
    gint active;
    bool unsubscribed; /* the handle's reference is gone (under the lock) */
    TopicBoard *board;
    SpicePlugin *plugin; /* NULL: the core */
    Topic *topic;        /* owned by the board, lives as long as it */
    EventLoop *loop;
    SpiceTopicFunc func;
    TopicCoreFunc core_func;
    void *opaque;
};

struct TopicBoard {
    SpiceServer *server;
    GMutex lock;
    GHashTable *topics; /* name -> Topic* */
    GList *handles;     /* every subscription whose handle is still held */
};

typedef struct Delivery {
    SpiceTopicSubscription *sub;
    uint32_t key;
    GBytes *payload; /* NULL: withdrawn */
} Delivery;

/* ---- names and payloads ------------------------------------------------------------ */

bool topic_name_valid(const char *name)
{
    if (!name || !name[0] || strlen(name) > SPICE_TOPIC_NAME_MAX) {
        return false;
    }
    for (const char *c = name; *c; c++) {
        if (!g_ascii_islower(*c) && !g_ascii_isdigit(*c) && *c != '.' && *c != '-' && *c != '_') {
            return false;
        }
    }
    return true;
}

const char *topic_payload_problem(const void *payload, uint32_t size)
{
    if (!payload) {
        return size ? "payload NULL with a size" : NULL;
    }
    if (size < sizeof(uint32_t)) {
        return "payload smaller than its size member";
    }
    if (size > SPICE_TOPIC_PAYLOAD_MAX) {
        return "payload larger than SPICE_TOPIC_PAYLOAD_MAX";
    }
    uint32_t declared;
    memcpy(&declared, payload, sizeof(declared));
    if (declared < sizeof(uint32_t) || declared > size) {
        return "the payload's size member is below 4 or above the size given";
    }
    return NULL;
}

/* ---- the board ---------------------------------------------------------------------- */

static void value_free(gpointer data)
{
    TopicValue *v = data;
    g_bytes_unref(v->payload);
    g_free(v);
}

static void topic_free(gpointer data)
{
    Topic *t = data;
    g_hash_table_unref(t->values);
    g_list_free(t->subs); /* the subscriptions are released first */
    g_free(t->name);
    g_free(t);
}

TopicBoard *topic_board_new(SpiceServer *s)
{
    TopicBoard *b = g_new0(TopicBoard, 1);
    b->server = s;
    g_mutex_init(&b->lock);
    b->topics = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, topic_free);
    return b;
}

static void sub_unref(SpiceTopicSubscription *sub)
{
    if (g_atomic_int_dec_and_test(&sub->refs)) {
        g_free(sub);
    }
}

/* Under the lock. */
static Topic *topic_lookup(TopicBoard *b, const char *name, bool create)
{
    Topic *t = g_hash_table_lookup(b->topics, name);
    if (!t && create) {
        t = g_new0(Topic, 1);
        t->name = g_strdup(name);
        t->values = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, value_free);
        g_hash_table_insert(b->topics, t->name, t);
    }
    return t;
}

/* Under the lock: take the subscription off its topic. */
static void sub_detach(SpiceTopicSubscription *sub)
{
    if (g_atomic_int_compare_and_exchange(&sub->active, 1, 0)) {
        sub->topic->subs = g_list_remove(sub->topic->subs, sub);
        sub_unref(sub);
    }
}

typedef bool (*SubMatch)(const SpiceTopicSubscription *sub, const void *data);

/* Under the lock: take every subscription that matches off its topic;
 * returns how many. */
static unsigned detach_where(TopicBoard *b, SubMatch match, const void *data)
{
    unsigned n = 0;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, b->topics);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        GList *l = ((Topic *)value)->subs;
        while (l) {
            GList *next = l->next;
            SpiceTopicSubscription *sub = l->data;
            if (match(sub, data)) {
                sub_detach(sub);
                n++;
            }
            l = next;
        }
    }
    return n;
}

static bool match_any(const SpiceTopicSubscription *sub, const void *data)
{
    (void)sub, (void)data;
    return true;
}

static bool match_plugin(const SpiceTopicSubscription *sub, const void *plugin)
{
    return sub->plugin == plugin && !sub->core_func;
}

static bool match_loop(const SpiceTopicSubscription *sub, const void *loop)
{
    return sub->loop == loop;
}

void topic_board_free(TopicBoard *b)
{
    if (!b) {
        return;
    }
    g_mutex_lock(&b->lock);
    detach_where(b, match_any, NULL);
    /* The core's own handles (plugins' are gone with their plugins). */
    while (b->handles) {
        SpiceTopicSubscription *sub = b->handles->data;
        b->handles = g_list_delete_link(b->handles, b->handles);
        sub->unsubscribed = true;
        sub_unref(sub);
    }
    g_mutex_unlock(&b->lock);
    /* Deliveries still queued on the host loop hold their own references
     * and the topic name they report lives in the subscription's topic:
     * run them (they find their subscription inactive) before the topics
     * go. */
    if (b->server->loop) {
        event_loop_run_pending(b->server->loop);
    }
    g_hash_table_unref(b->topics);
    g_mutex_clear(&b->lock);
    g_free(b);
}

/* ---- delivery ------------------------------------------------------------------------ */

static void deliver(void *opaque)
{
    Delivery *d = opaque;
    SpiceTopicSubscription *sub = d->sub;
    if (g_atomic_int_get(&sub->active)) {
        gsize size = 0;
        const void *data = d->payload ? g_bytes_get_data(d->payload, &size) : NULL;
        if (sub->core_func) {
            sub->core_func(sub->board->server, sub->topic->name, d->key, data, (uint32_t)size);
        } else {
            sub->func(sub->plugin, sub->topic->name, d->key, data, (uint32_t)size, sub->opaque);
        }
    }
    if (d->payload) {
        g_bytes_unref(d->payload);
    }
    sub_unref(sub);
    g_free(d);
}

/* Under the lock: queue one delivery. */
static void queue_delivery(SpiceTopicSubscription *sub, uint32_t key, GBytes *payload)
{
    Delivery *d = g_new0(Delivery, 1);
    g_atomic_int_inc(&sub->refs);
    d->sub = sub;
    d->key = key;
    d->payload = payload ? g_bytes_ref(payload) : NULL;
    event_loop_invoke(sub->loop, deliver, d, false);
}

int topic_publish(TopicBoard *b, SpicePlugin *plugin, const char *topic, uint32_t key,
                  const void *payload, uint32_t size, uint32_t flags)
{
    const char *problem = !topic_name_valid(topic) ? "bad topic name" : NULL;
    if (!problem) {
        problem = topic_payload_problem(payload, size);
    }
    if (!problem && !payload && !(flags & SPICE_TOPIC_RETAIN)) {
        problem = "an event without a payload";
    }
    if (problem) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING, "topic_publish('%s'): %s; not published",
                        topic ? topic : "(null)", problem);
        return -EINVAL;
    }
    if (plugin && strcmp(topic, SPICE_TOPIC_MOUSE_MODE) == 0) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING,
                        "topic_publish('%s'): only the core publishes it; not published", topic);
        return -EPERM;
    }
    GBytes *bytes = payload ? g_bytes_new(payload, size) : NULL;
    g_mutex_lock(&b->lock);
    Topic *t = topic_lookup(b, topic, true);
    gpointer k = GUINT_TO_POINTER(key);
    int reached = 0;
    bool deliver_it = true;
    if (flags & SPICE_TOPIC_RETAIN) {
        if (bytes) {
            TopicValue *v = g_new0(TopicValue, 1);
            v->publisher = plugin;
            v->payload = g_bytes_ref(bytes);
            g_hash_table_replace(t->values, k, v);
        } else {
            /* Withdrawing what nobody published reaches nobody. */
            deliver_it = g_hash_table_remove(t->values, k);
        }
    }
    for (GList *l = t->subs; l && deliver_it; l = l->next) {
        queue_delivery(l->data, key, bytes);
        reached++;
    }
    g_mutex_unlock(&b->lock);
    if (bytes) {
        g_bytes_unref(bytes);
    }
    return reached;
}

static gint compare_keys(gconstpointer a, gconstpointer b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static SpiceTopicSubscription *subscribe(TopicBoard *b, SpicePlugin *plugin, const char *topic,
                                         EventLoop *loop, SpiceTopicFunc func,
                                         TopicCoreFunc core_func, void *opaque)
{
    SpiceTopicSubscription *sub = g_new0(SpiceTopicSubscription, 1);
    sub->refs = 2; /* the handle and the topic's list */
    sub->active = 1;
    sub->board = b;
    sub->plugin = plugin;
    sub->loop = loop ? loop : b->server->loop;
    sub->func = func;
    sub->core_func = core_func;
    sub->opaque = opaque;
    g_mutex_lock(&b->lock);
    Topic *t = topic_lookup(b, topic, true);
    sub->topic = t;
    t->subs = g_list_append(t->subs, sub);
    b->handles = g_list_prepend(b->handles, sub);
    /* The current values first, in key order, before anything published
     * later (the lock orders them). */
    g_autoptr(GArray) keys = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, t->values);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        uint32_t key = GPOINTER_TO_UINT(k);
        g_array_append_val(keys, key);
    }
    g_array_sort(keys, compare_keys);
    for (guint i = 0; i < keys->len; i++) {
        uint32_t key = g_array_index(keys, uint32_t, i);
        TopicValue *v = g_hash_table_lookup(t->values, GUINT_TO_POINTER(key));
        queue_delivery(sub, key, v->payload);
    }
    g_mutex_unlock(&b->lock);
    return sub;
}

SpiceTopicSubscription *topic_subscribe(TopicBoard *b, SpicePlugin *plugin, const char *topic,
                                        EventLoop *loop, SpiceTopicFunc func, void *opaque)
{
    if (!topic_name_valid(topic) || !func) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING, "topic_subscribe('%s'): %s",
                        topic ? topic : "(null)", func ? "bad topic name" : "no callback");
        return NULL;
    }
    return subscribe(b, plugin, topic, loop, func, NULL, opaque);
}

void topic_subscribe_core(TopicBoard *b, const char *topic, TopicCoreFunc func)
{
    subscribe(b, NULL, topic, NULL, NULL, func, NULL);
}

/* Under the lock: give up the handle's reference. */
static void handle_drop(TopicBoard *b, SpiceTopicSubscription *sub)
{
    sub_detach(sub);
    if (!sub->unsubscribed) {
        sub->unsubscribed = true;
        b->handles = g_list_remove(b->handles, sub);
        sub_unref(sub);
    }
}

void topic_unsubscribe(SpiceTopicSubscription *sub)
{
    if (!sub) {
        return;
    }
    TopicBoard *b = sub->board;
    g_mutex_lock(&b->lock);
    handle_drop(b, sub);
    g_mutex_unlock(&b->lock);
}

static void withdraw_values_of(TopicBoard *b, SpicePlugin *plugin);

void topic_board_forget_plugin(TopicBoard *b, SpicePlugin *plugin)
{
    g_mutex_lock(&b->lock);
    /* Facts it published from deinit or from a worker after its release
     * are not true any more either. */
    withdraw_values_of(b, plugin);
    GList *l = b->handles;
    while (l) {
        GList *next = l->next;
        SpiceTopicSubscription *sub = l->data;
        if (sub->plugin == plugin && !sub->core_func) {
            handle_drop(b, sub);
        }
        l = next;
    }
    g_mutex_unlock(&b->lock);
}

int topic_get(TopicBoard *b, const char *topic, uint32_t key, void *payload, uint32_t max)
{
    if (!topic_name_valid(topic)) {
        return -EINVAL;
    }
    int size = -ENOENT;
    g_mutex_lock(&b->lock);
    Topic *t = topic_lookup(b, topic, false);
    TopicValue *v = t ? g_hash_table_lookup(t->values, GUINT_TO_POINTER(key)) : NULL;
    if (v) {
        gsize n;
        const void *data = g_bytes_get_data(v->payload, &n);
        if (payload && max) {
            memcpy(payload, data, MIN(n, (gsize)max));
        }
        size = (int)n;
    }
    g_mutex_unlock(&b->lock);
    return size;
}

/* Under the lock: withdraw every value the plugin published, for the
 * subscribers that remain. */
static void withdraw_values_of(TopicBoard *b, SpicePlugin *plugin)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, b->topics);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        Topic *t = value;
        GHashTableIter vit;
        gpointer k, v;
        g_hash_table_iter_init(&vit, t->values);
        while (g_hash_table_iter_next(&vit, &k, &v)) {
            if (((TopicValue *)v)->publisher != plugin) {
                continue;
            }
            for (GList *l = t->subs; l; l = l->next) {
                queue_delivery(l->data, GPOINTER_TO_UINT(k), NULL);
            }
            g_hash_table_iter_remove(&vit);
        }
    }
}

void topic_board_release_plugin(TopicBoard *b, SpicePlugin *plugin)
{
    g_mutex_lock(&b->lock);
    detach_where(b, match_plugin, plugin);
    withdraw_values_of(b, plugin);
    g_mutex_unlock(&b->lock);
}

unsigned topic_board_release_loop(TopicBoard *b, EventLoop *loop)
{
    g_mutex_lock(&b->lock);
    unsigned n = detach_where(b, match_loop, loop);
    g_mutex_unlock(&b->lock);
    return n;
}
