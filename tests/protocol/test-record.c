/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-record.c: the record plugin over real sockets, with the test as
 * the host's sound card: START when recording runs, the client's raw
 * samples reaching record_get_samples (nothing before the ring is half
 * full), and hostile input: DATA before MODE / START_MARK, a mode the
 * server did not offer, Opus that does not decode, short and oversized
 * messages.
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

/* Messages of domain spicecore, for the checks (the server's thread logs
 * them; a GLib test expectation would also trip on its other lines). */
static GMutex said_lock;
static GPtrArray *said;

static void on_message(const gchar *domain, GLogLevelFlags level, const gchar *message,
                       gpointer data)
{
    (void)domain, (void)level, (void)data;
    g_mutex_lock(&said_lock);
    g_ptr_array_add(said, g_strdup(message));
    g_mutex_unlock(&said_lock);
}

/* How many messages contained text. */
static guint heard(const char *text)
{
    guint n = 0;
    g_mutex_lock(&said_lock);
    for (guint i = 0; i < said->len; i++) {
        n += strstr(g_ptr_array_index(said, i), text) != NULL;
    }
    g_mutex_unlock(&said_lock);
    return n;
}

static const SpiceRecordInterface rec_iface = {
    .base = { SPICE_INTERFACE_RECORD, "test record", SPICE_INTERFACE_RECORD_MAJOR,
              SPICE_INTERFACE_RECORD_MINOR },
};
static SpiceRecordInstance rec = { { &rec_iface.base }, NULL };

static void add_and_start(TestServer *ts, void *opaque)
{
    (void)opaque;
    g_assert_cmpint(spice_server_add_interface(test_server_get(ts), &rec.base), ==, 0);
    spice_server_set_record_rate(&rec, 48000);
    spice_server_record_start(&rec);
}

static void stop_and_remove(TestServer *ts, void *opaque)
{
    (void)ts, (void)opaque;
    spice_server_record_stop(&rec);
    g_assert_cmpint(spice_server_remove_interface(&rec.base), ==, 0);
}

typedef struct Read {
    uint32_t samples[8192];
    uint32_t n;
} Read;

static void read_samples(TestServer *ts, void *opaque)
{
    (void)ts;
    Read *r = opaque;
    r->n = spice_server_record_get_samples(&rec, r->samples, G_N_ELEMENTS(r->samples));
}

typedef struct Fixture {
    TestServer *ts;
    TestClient *main_cc;
    TestClient *c;
} Fixture;

static void open_record(Fixture *f)
{
    f->ts = test_server_start(NULL);
    test_server_call(f->ts, add_and_start, NULL);
    uint32_t session;
    f->main_cc = test_client_main(test_server_port(f->ts), NULL, &session);
    f->c = test_client_connect(test_server_port(f->ts));
    uint32_t caps = (1u << SPICE_RECORD_CAP_VOLUME) | (1u << SPICE_RECORD_CAP_OPUS);
    TestLinkParams p = { .connection_id = session,
                         .channel_type = SPICE_CHANNEL_RECORD,
                         .channel_caps = &caps,
                         .n_channel_caps = 1 };
    g_assert_true(test_client_link(f->c, &p));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(f->c, SPICE_MSG_RECORD_START, &body, &size));
    g_assert_cmpuint(size, ==, 10);
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 2);
    g_assert_cmpuint(spice_wire_get_u16(body + 4), ==, SPICE_AUDIO_FMT_S16);
    g_assert_cmpuint(spice_wire_get_u32(body + 6), ==, 48000);
    g_free(body);
}

static void close_record(Fixture *f)
{
    test_client_free(f->c);
    test_client_free(f->main_cc);
    test_server_call(f->ts, stop_and_remove, NULL);
    test_server_stop(f->ts);
}

static void send_mode(TestClient *c, uint16_t mode)
{
    uint8_t body[6];
    spice_wire_put_u32(body, 0);
    spice_wire_put_u16(body + 4, mode);
    g_assert_true(test_client_send(c, SPICE_MSGC_RECORD_MODE, body, sizeof(body)));
}

static void send_mark(TestClient *c)
{
    uint8_t body[4] = { 0 };
    g_assert_true(test_client_send(c, SPICE_MSGC_RECORD_START_MARK, body, sizeof(body)));
}

/* n stereo samples, sample i = i + base in both channels' 16 bits. */
static void send_data(TestClient *c, uint32_t n, uint32_t base)
{
    uint8_t *body = g_malloc(4 + 4 * (size_t)n);
    spice_wire_put_u32(body, 0);
    for (uint32_t i = 0; i < n; i++) {
        spice_wire_put_u32(body + 4 + 4 * i, base + i);
    }
    g_assert_true(test_client_send(c, SPICE_MSGC_RECORD_DATA, body, 4 + 4 * n));
    g_free(body);
}

/* A round trip on the main channel: what was sent before has been read. */
static void sync_server(Fixture *f)
{
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_send(f->main_cc, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    g_assert_true(test_client_wait_for(f->main_cc, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    g_free(body);
    g_usleep(100 * 1000);
}

static void test_raw_samples(void)
{
    Fixture f;
    open_record(&f);
    send_mode(f.c, SPICE_AUDIO_DATA_MODE_RAW);
    send_mark(f.c);
    send_data(f.c, 2000, 0);
    sync_server(&f);
    Read r;
    test_server_call(f.ts, read_samples, &r);
    g_assert_cmpuint(r.n, ==, 0); /* less than half the ring yet */
    send_data(f.c, 3000, 2000);
    sync_server(&f);
    test_server_call(f.ts, read_samples, &r);
    g_assert_cmpuint(r.n, ==, 5000);
    for (uint32_t i = 0; i < r.n; i++) {
        g_assert_cmphex(r.samples[i], ==, i);
    }
    /* More than the ring: only the newest 8192 are kept. */
    send_data(f.c, 8000, 100000);
    send_data(f.c, 8000, 200000);
    sync_server(&f);
    test_server_call(f.ts, read_samples, &r);
    g_assert_cmpuint(r.n, ==, 8192);
    g_assert_cmphex(r.samples[8191], ==, 200000 + 7999);
    close_record(&f);
}

static void test_hostile(void)
{
    Fixture f;
    open_record(&f);
    /* DATA before MODE and START_MARK: dropped, said once. */
    send_data(f.c, 100, 0);
    send_data(f.c, 100, 0);
    sync_server(&f);
    g_assert_cmpuint(heard("plugin record: record client: audio dropped: DATA before MODE and "
                           "START_MARK (said once per client)"),
                     ==, 1);
    Read r;
    test_server_call(f.ts, read_samples, &r);
    g_assert_cmpuint(r.n, ==, 0);
    /* Opus that does not decode: dropped, still connected. */
    send_mode(f.c, SPICE_AUDIO_DATA_MODE_OPUS);
    send_mark(f.c);
    uint8_t garbage[4 + 200];
    memset(garbage, 0xff, sizeof(garbage));
    g_assert_true(test_client_send(f.c, SPICE_MSGC_RECORD_DATA, garbage, sizeof(garbage)));
    g_assert_true(test_client_send(f.c, SPICE_MSGC_RECORD_DATA, garbage, 4)); /* empty */
    sync_server(&f);
    send_mode(f.c, SPICE_AUDIO_DATA_MODE_RAW); /* still linked: accepted */
    sync_server(&f);
    /* A mode the server did not offer: disconnected. */
    send_mode(f.c, 99);
    g_assert_true(test_client_wait_closed(f.c, 5000));
    g_assert_cmpuint(heard("record client: audio mode 99 is not one this server offered"), ==, 1);
    close_record(&f);

    /* Short messages and DATA beyond the channel's limit disconnect. */
    const struct {
        uint16_t type;
        uint32_t size;
    } bad[] = {
        { SPICE_MSGC_RECORD_MODE, 3 },
        { SPICE_MSGC_RECORD_START_MARK, 2 },
        { SPICE_MSGC_RECORD_DATA, 3 },
        { SPICE_MSGC_RECORD_DATA, 6 + 8192 * 4 + 1 },
        { 150, 0 }, /* not a record message */
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        open_record(&f);
        uint8_t *body = g_malloc0(bad[i].size + 1);
        test_client_send(f.c, bad[i].type, body, bad[i].size);
        g_assert_true(test_client_wait_closed(f.c, 5000));
        g_free(body);
        close_record(&f);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    said = g_ptr_array_new_with_free_func(g_free);
    g_log_set_handler("spicecore", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, on_message, NULL);
    g_test_add_func("/record/raw-samples", test_raw_samples);
    g_test_add_func("/record/hostile", test_hostile);
    return g_test_run();
}
