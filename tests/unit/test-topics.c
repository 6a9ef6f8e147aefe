/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-topics.c: the topic board of a real server (plugin ABI 1.3): retained
 * values and their withdrawal, events, delivery order and thread, the end
 * of a subscription, bad names and payloads, what happens to a plugin's
 * subscriptions and values when it goes, and the first-party topics the
 * core and the display plugin publish.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "common/glib-core.h"
#include "plugin-host.h"
#include "server.h"
#include "topics.h"

typedef struct Fact {
    uint32_t size;
    uint32_t value;
} Fact;

typedef struct Seen {
    GMutex lock;
    GArray *keys;   /* uint32_t */
    GArray *values; /* uint32_t; UINT32_MAX for a withdrawal */
    GThread *thread;
} Seen;

static SpiceCoreInterface *core;

static SpiceServer *server_up(void)
{
    core = glib_core_new(g_main_context_default(), NULL, NULL);
    SpiceServer *s = spice_server_new();
    g_setenv("SPICE_PLUGIN_ENABLE", "main", TRUE);
    g_assert_cmpint(spice_server_init(s, core), ==, 0);
    g_unsetenv("SPICE_PLUGIN_ENABLE");
    return s;
}

static void server_down(SpiceServer *s)
{
    spice_server_destroy(s);
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    glib_core_free(core);
}

static void pump(void)
{
    for (int i = 0; i < 50; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static void seen_init(Seen *seen)
{
    g_mutex_init(&seen->lock);
    seen->keys = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    seen->values = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    seen->thread = NULL;
}

static void seen_clear(Seen *seen)
{
    g_array_unref(seen->keys);
    g_array_unref(seen->values);
    g_mutex_clear(&seen->lock);
}

static guint seen_count(Seen *seen)
{
    g_mutex_lock(&seen->lock);
    guint n = seen->values->len;
    g_mutex_unlock(&seen->lock);
    return n;
}

static uint32_t seen_value(Seen *seen, guint i)
{
    return g_array_index(seen->values, uint32_t, i);
}

static uint32_t seen_key(Seen *seen, guint i)
{
    return g_array_index(seen->keys, uint32_t, i);
}

static void on_fact(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                    uint32_t size, void *opaque)
{
    (void)plugin, (void)topic;
    Seen *seen = opaque;
    uint32_t value = UINT32_MAX;
    if (payload) {
        g_assert_cmpuint(size, ==, sizeof(Fact));
        value = ((const Fact *)payload)->value;
    } else {
        g_assert_cmpuint(size, ==, 0);
    }
    g_mutex_lock(&seen->lock);
    g_array_append_val(seen->keys, key);
    g_array_append_val(seen->values, value);
    seen->thread = g_thread_self();
    g_mutex_unlock(&seen->lock);
}

static int publish(SpiceServer *s, SpicePlugin *p, const char *topic, uint32_t key, uint32_t value,
                   uint32_t flags)
{
    Fact f = { .size = sizeof(f), .value = value };
    return topic_publish(s->topics, p, topic, key, &f, sizeof(f), flags);
}

static void test_retained(void)
{
    SpiceServer *s = server_up();
    Seen early, late;
    seen_init(&early);
    seen_init(&late);
    g_assert_cmpint(topic_get(s->topics, "test.fact", 0, NULL, 0), ==, -ENOENT);
    SpiceTopicSubscription *a =
        topic_subscribe(s->topics, NULL, "test.fact", NULL, on_fact, &early);
    g_assert_nonnull(a);
    g_assert_cmpint(publish(s, NULL, "test.fact", 2, 20, SPICE_TOPIC_RETAIN), ==, 1);
    g_assert_cmpint(publish(s, NULL, "test.fact", 1, 10, SPICE_TOPIC_RETAIN), ==, 1);
    g_assert_cmpint(publish(s, NULL, "test.fact", 1, 11, SPICE_TOPIC_RETAIN), ==, 1);
    /* Never inside publish(): queued for the subscriber's loop. */
    g_assert_cmpuint(seen_count(&early), ==, 0);
    pump();
    g_assert_cmpuint(seen_count(&early), ==, 3);
    g_assert_cmpuint(seen_value(&early, 0), ==, 20);
    g_assert_cmpuint(seen_value(&early, 1), ==, 10);
    g_assert_cmpuint(seen_value(&early, 2), ==, 11);

    Fact f = { 0 };
    g_assert_cmpint(topic_get(s->topics, "test.fact", 1, &f, sizeof(f)), ==, sizeof(f));
    g_assert_cmpuint(f.value, ==, 11);
    /* A short buffer gets a prefix and the whole size. */
    uint32_t prefix = 0;
    g_assert_cmpint(topic_get(s->topics, "test.fact", 2, &prefix, sizeof(prefix)), ==, sizeof(f));
    g_assert_cmpuint(prefix, ==, sizeof(f));

    /* A late subscriber first gets the current values, in key order. */
    SpiceTopicSubscription *b = topic_subscribe(s->topics, NULL, "test.fact", NULL, on_fact, &late);
    pump();
    g_assert_cmpuint(seen_count(&late), ==, 2);
    g_assert_cmpuint(seen_key(&late, 0), ==, 1);
    g_assert_cmpuint(seen_value(&late, 0), ==, 11);
    g_assert_cmpuint(seen_key(&late, 1), ==, 2);
    g_assert_cmpuint(seen_value(&late, 1), ==, 20);

    /* Withdrawal: (key, NULL, 0) to everyone, then no value. */
    g_assert_cmpint(topic_publish(s->topics, NULL, "test.fact", 1, NULL, 0, SPICE_TOPIC_RETAIN), ==,
                    2);
    pump();
    g_assert_cmpuint(seen_value(&early, 3), ==, UINT32_MAX);
    g_assert_cmpuint(seen_value(&late, 2), ==, UINT32_MAX);
    g_assert_cmpint(topic_get(s->topics, "test.fact", 1, &f, sizeof(f)), ==, -ENOENT);
    /* Withdrawing what is not there reaches nobody. */
    g_assert_cmpint(topic_publish(s->topics, NULL, "test.fact", 1, NULL, 0, SPICE_TOPIC_RETAIN), ==,
                    0);

    topic_unsubscribe(a);
    topic_unsubscribe(b);
    server_down(s);
    seen_clear(&early);
    seen_clear(&late);
}

static void test_events(void)
{
    SpiceServer *s = server_up();
    Seen seen, late;
    seen_init(&seen);
    seen_init(&late);
    /* Nobody subscribed: the request reaches nobody. */
    g_assert_cmpint(publish(s, NULL, "test.request", 0, 1, 0), ==, 0);
    SpiceTopicSubscription *a =
        topic_subscribe(s->topics, NULL, "test.request", NULL, on_fact, &seen);
    for (uint32_t i = 0; i < 100; i++) {
        g_assert_cmpint(publish(s, NULL, "test.request", 0, i, 0), ==, 1);
    }
    pump();
    g_assert_cmpuint(seen_count(&seen), ==, 100);
    for (guint i = 0; i < 100; i++) {
        g_assert_cmpuint(seen_value(&seen, i), ==, i);
    }
    /* Events are not kept. */
    g_assert_cmpint(topic_get(s->topics, "test.request", 0, NULL, 0), ==, -ENOENT);
    SpiceTopicSubscription *b =
        topic_subscribe(s->topics, NULL, "test.request", NULL, on_fact, &late);
    pump();
    g_assert_cmpuint(seen_count(&late), ==, 0);
    topic_unsubscribe(a);
    topic_unsubscribe(b);
    server_down(s);
    seen_clear(&seen);
    seen_clear(&late);
}

/* Deliveries already queued when a subscription ends do not run. */
static void test_unsubscribe_is_final(void)
{
    SpiceServer *s = server_up();
    Seen seen;
    seen_init(&seen);
    SpiceTopicSubscription *a = topic_subscribe(s->topics, NULL, "test.fact", NULL, on_fact, &seen);
    for (uint32_t i = 0; i < 10; i++) {
        publish(s, NULL, "test.fact", i, i, SPICE_TOPIC_RETAIN);
    }
    topic_unsubscribe(a);
    topic_unsubscribe(NULL);
    pump();
    g_assert_cmpuint(seen_count(&seen), ==, 0);
    g_assert_cmpint(publish(s, NULL, "test.fact", 0, 1, SPICE_TOPIC_RETAIN), ==, 0);
    server_down(s);
    seen_clear(&seen);
}

/* A subscription on a worker loop is called on that thread, in order,
 * also for values published from several other threads. */
typedef struct Publisher {
    SpiceServer *s;
    uint32_t key;
} Publisher;

static gpointer publisher_thread(gpointer data)
{
    Publisher *p = data;
    for (uint32_t i = 0; i < 200; i++) {
        publish(p->s, NULL, "test.count", p->key, i, 0);
    }
    return NULL;
}

static void test_thread_loop(void)
{
    SpiceServer *s = server_up();
    EventLoop *worker = event_loop_new_thread("topic test");
    Seen seen;
    seen_init(&seen);
    SpiceTopicSubscription *a =
        topic_subscribe(s->topics, NULL, "test.count", worker, on_fact, &seen);
    Publisher p1 = { s, 1 }, p2 = { s, 2 };
    GThread *t1 = g_thread_new("pub1", publisher_thread, &p1);
    GThread *t2 = g_thread_new("pub2", publisher_thread, &p2);
    g_thread_join(t1);
    g_thread_join(t2);
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (seen_count(&seen) < 400 && g_get_monotonic_time() < end) {
        g_usleep(1000);
    }
    g_assert_cmpuint(seen_count(&seen), ==, 400);
    g_assert_true(seen.thread != g_thread_self());
    /* Per publishing thread, in publishing order. */
    uint32_t next[3] = { 0, 0, 0 };
    for (guint i = 0; i < 400; i++) {
        uint32_t key = seen_key(&seen, i);
        g_assert_cmpuint(seen_value(&seen, i), ==, next[key]);
        next[key]++;
    }
    g_assert_cmpuint(topic_board_release_loop(s->topics, worker), ==, 1);
    event_loop_free(worker);
    topic_unsubscribe(a); /* the handle outlives the end of the loop */
    server_down(s);
    seen_clear(&seen);
}

static void test_bad_input(void)
{
    SpiceServer *s = server_up();
    SpicePlugin fake = { .server = s, .name = (char *)"fake" };
    const char *bad_names[] = { "", "Upper", "with space", "slash/no", NULL };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_names); i++) {
        g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                              "plugin fake: topic_publish(*): bad topic name; not published");
        g_assert_cmpint(publish(s, &fake, bad_names[i], 0, 0, 0), ==, -EINVAL);
        g_test_assert_expected_messages();
    }
    char long_name[SPICE_TOPIC_NAME_MAX + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    g_assert_false(topic_name_valid(long_name));
    long_name[SPICE_TOPIC_NAME_MAX] = '\0';
    g_assert_true(topic_name_valid(long_name));

    struct {
        uint32_t size;
        uint32_t v;
    } p = { 0, 1 };
    const struct {
        const void *payload;
        uint32_t size;
        uint32_t flags;
        const char *why;
    } cases[] = {
        { &p, 2, 0, "payload smaller than its size member" },
        { &p, sizeof(p), 0, "the payload's size member is below 4 or above the size given" },
        { NULL, 4, 0, "payload NULL with a size" },
        { NULL, 0, 0, "an event without a payload" },
        { &p, SPICE_TOPIC_PAYLOAD_MAX + 1, 0, "payload larger than SPICE_TOPIC_PAYLOAD_MAX" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf(
            "plugin fake: topic_publish('test.x'): %s; not published", cases[i].why);
        g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, text);
        g_assert_cmpint(topic_publish(s->topics, &fake, "test.x", 0, cases[i].payload,
                                      cases[i].size, cases[i].flags),
                        ==, -EINVAL);
        g_test_assert_expected_messages();
    }
    p.size = 12; /* claims more than given */
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*size member*");
    g_assert_cmpint(topic_publish(s->topics, &fake, "test.x", 0, &p, sizeof(p), 0), ==, -EINVAL);
    g_test_assert_expected_messages();

    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "plugin fake: topic_subscribe(*)*");
    g_assert_null(topic_subscribe(s->topics, &fake, "Bad", NULL, on_fact, NULL));
    g_test_assert_expected_messages();
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*no callback*");
    g_assert_null(topic_subscribe(s->topics, &fake, "test.x", NULL, NULL, NULL));
    g_test_assert_expected_messages();
    g_assert_cmpint(topic_get(s->topics, "", 0, NULL, 0), ==, -EINVAL);

    /* The core's own fact is the core's. */
    SpiceMouseModeInfo forged = { .size = sizeof(forged), .current = 2, .supported = 3 };
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "plugin fake: topic_publish('spice.mouse-mode'): only the core "
                          "publishes it; not published");
    g_assert_cmpint(topic_publish(s->topics, &fake, SPICE_TOPIC_MOUSE_MODE, 0, &forged,
                                  sizeof(forged), SPICE_TOPIC_RETAIN),
                    ==, -EPERM);
    g_test_assert_expected_messages();
    SpiceMouseModeInfo info = { 0 };
    topic_get(s->topics, SPICE_TOPIC_MOUSE_MODE, 0, &info, sizeof(info));
    g_assert_cmpuint(info.current, ==, SPICE_MOUSE_MODE_SERVER);
    server_down(s);
}

/* A plugin that goes: its values are withdrawn for the others, its
 * subscriptions end, its handles stay valid until it unsubscribes. */
static void test_release_plugin(void)
{
    SpiceServer *s = server_up();
    SpicePlugin going = { .server = s, .name = (char *)"going" };
    Seen theirs, mine;
    seen_init(&theirs);
    seen_init(&mine);
    SpiceTopicSubscription *other =
        topic_subscribe(s->topics, NULL, "test.fact", NULL, on_fact, &theirs);
    SpiceTopicSubscription *own =
        topic_subscribe(s->topics, &going, "test.fact", NULL, on_fact, &mine);
    publish(s, &going, "test.fact", 5, 50, SPICE_TOPIC_RETAIN);
    publish(s, NULL, "test.fact", 6, 60, SPICE_TOPIC_RETAIN);
    pump();
    g_assert_cmpuint(seen_count(&theirs), ==, 2);
    g_assert_cmpuint(seen_count(&mine), ==, 2);

    topic_board_release_plugin(s->topics, &going);
    pump();
    g_assert_cmpuint(seen_count(&theirs), ==, 3);
    g_assert_cmpuint(seen_key(&theirs, 2), ==, 5);
    g_assert_cmpuint(seen_value(&theirs, 2), ==, UINT32_MAX);
    g_assert_cmpint(topic_get(s->topics, "test.fact", 5, NULL, 0), ==, -ENOENT);
    g_assert_cmpint(topic_get(s->topics, "test.fact", 6, NULL, 0), ==, sizeof(Fact));
    publish(s, NULL, "test.fact", 6, 61, SPICE_TOPIC_RETAIN);
    pump();
    g_assert_cmpuint(seen_count(&mine), ==, 2); /* ended */
    topic_unsubscribe(own);                     /* still a valid handle */
    topic_board_forget_plugin(s->topics, &going);
    topic_unsubscribe(other);
    server_down(s);
    seen_clear(&theirs);
    seen_clear(&mine);
}

/* The core publishes its mouse mode from the start. */
static void test_mouse_mode_topic(void)
{
    SpiceServer *s = server_up();
    SpiceMouseModeInfo info = { 0 };
    g_assert_cmpint(topic_get(s->topics, SPICE_TOPIC_MOUSE_MODE, 0, &info, sizeof(info)), ==,
                    sizeof(info));
    g_assert_cmpuint(info.size, ==, sizeof(info));
    g_assert_cmpuint(info.current, ==, SPICE_MOUSE_MODE_SERVER);
    g_assert_cmpuint(info.supported, ==, SPICE_MOUSE_MODE_SERVER);
    server_down(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/topics/retained", test_retained);
    g_test_add_func("/topics/events", test_events);
    g_test_add_func("/topics/unsubscribe-is-final", test_unsubscribe_is_final);
    g_test_add_func("/topics/thread-loop", test_thread_loop);
    g_test_add_func("/topics/bad-input", test_bad_input);
    g_test_add_func("/topics/release-plugin", test_release_plugin);
    g_test_add_func("/topics/mouse-mode", test_mouse_mode_topic);
    return g_test_run();
}
