/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * topics.h: the topic board of one server (plugin ABI 1.3). Plugins and
 * the core publish facts (retained per key) and events on named topics;
 * subscribers get copies on their own loop. The board does not know what
 * any topic means. The contract plugins see is in spice-plugin.h
 * ("Topics"); this is the core's side of it.
 *
 * Locking: one mutex guards the board (topics, values, subscription
 * lists); callbacks never run under it.
 */
#ifndef SPICECORE_TOPICS_H_
#define SPICECORE_TOPICS_H_

#include "server.h"

typedef struct TopicBoard TopicBoard;

/* The core's own callback (publisher and subscriber "plugin" NULL). */
typedef void (*TopicCoreFunc)(SpiceServer *s, const char *topic, uint32_t key, const void *payload,
                              uint32_t size);

TopicBoard *topic_board_new(SpiceServer *s);
/* After every plugin is gone: drops the core's subscriptions and values. */
void topic_board_free(TopicBoard *board);

/* Any thread. plugin NULL: the core publishes. Returns the number of
 * subscriptions reached, or -EINVAL (logged) for a bad name or payload. */
int topic_publish(TopicBoard *board, SpicePlugin *plugin, const char *topic, uint32_t key,
                  const void *payload, uint32_t size, uint32_t flags);
/* Any thread. loop NULL: the host loop. NULL for a bad name or func. */
SpiceTopicSubscription *topic_subscribe(TopicBoard *board, SpicePlugin *plugin, const char *topic,
                                        EventLoop *loop, SpiceTopicFunc func, void *opaque);
/* The core subscribes on the host loop. */
void topic_subscribe_core(TopicBoard *board, const char *topic, TopicCoreFunc func);
/* The subscription's loop thread. */
void topic_unsubscribe(SpiceTopicSubscription *sub);
/* Any thread. The current value's size (at most max bytes copied), or
 * -ENOENT, or -EINVAL for a bad name. */
int topic_get(TopicBoard *board, const char *topic, uint32_t key, void *payload, uint32_t max);

/* Host thread, when a plugin goes (before its deinit): end its
 * subscriptions and withdraw its retained values. */
void topic_board_release_plugin(TopicBoard *board, SpicePlugin *plugin);
/* Host thread, after the plugin's deinit and its loops: withdraw the
 * values it published since its release, free the subscription handles
 * it did not unsubscribe. */
void topic_board_forget_plugin(TopicBoard *board, SpicePlugin *plugin);
/* Host thread, before a loop is freed: end the subscriptions on it;
 * returns how many there were. */
unsigned topic_board_release_loop(TopicBoard *board, EventLoop *loop);

/* Whether name is a valid topic name. */
bool topic_name_valid(const char *name);
/* NULL when payload (size bytes; NULL with size 0 withdraws) is a valid
 * payload, else a static reason. */
const char *topic_payload_problem(const void *payload, uint32_t size);

#endif /* SPICECORE_TOPICS_H_ */
