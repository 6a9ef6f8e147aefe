/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-client.h: a small blocking SPICE client for tests and benchmarks:
 * link handshake with ticket encryption, message framing, nothing else.
 * Written for the test suite from the protocol description; it is
 * deliberately strict and reports what it saw.
 */
#ifndef SPICE_TEST_CLIENT_H_
#define SPICE_TEST_CLIENT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

typedef struct TestClient {
    int fd;
    void *ssl;        /* SSL *, after test_client_start_tls() */
    void *ssl_ctx;    /* SSL_CTX * */
    bool websocket;   /* after test_client_start_websocket() */
    uint64_t ws_left; /* payload left in the server frame being read */
    bool ws_raw;      /* frames are written as given (test_client_write_frame) */
    bool mini_header;
    uint64_t serial;
    uint32_t link_error;        /* error field of the link reply */
    uint32_t link_result;       /* u32 result after the ticket */
    GArray *server_common_caps; /* uint32 words */
    GArray *server_caps;
} TestClient;

typedef struct TestLinkParams {
    uint32_t connection_id;
    uint8_t channel_type;
    uint8_t channel_id;
    const char *password; /* NULL: empty */
    bool no_mini_header;  /* don't offer MINI_HEADER */
    bool no_auth_selection;
    bool ticket_without_leading_zero; /* spice-html5's ticket bug, see link.c */
    const uint32_t *channel_caps;     /* words */
    uint32_t n_channel_caps;
} TestLinkParams;

/* Connect to 127.0.0.1:port (blocking, 10 s receive timeout). */
TestClient *test_client_connect(int port);
/* Connect to any address: "::1" with a port, or a unix socket path
 * (port ignored). NULL when the connection is refused. */
TestClient *test_client_connect_to(const char *addr, int port);
void test_client_free(TestClient *c);

/* TLS from here on (blocking handshake), the server's certificate
 * checked against ca_file (NULL: not checked). On failure *error says
 * why (g_free it). max_tls12: offer TLS 1.2 at most. */
bool test_client_start_tls(TestClient *c, const char *ca_file, bool max_tls12, char **error);
/* Send an HTTP Upgrade and read the 101: from here on writes are masked
 * binary frames (one per write) and reads take server frames apart. */
bool test_client_start_websocket(TestClient *c);
/* One frame exactly as given (header fields chosen by the caller): for
 * hostile-input tests. mask NULL: unmasked. */
bool test_client_write_frame(TestClient *c, uint8_t b0, const uint8_t *mask, uint64_t len,
                             const void *payload, size_t payload_len);
/* The next server frame whole (opcode, payload g_free'd by the caller):
 * false on EOF. */
bool test_client_read_frame(TestClient *c, uint8_t *opcode, uint8_t **payload, size_t *len);

/* Raw I/O. Return false on EOF, error or timeout. */
bool test_client_write(TestClient *c, const void *data, size_t len);
bool test_client_read(TestClient *c, void *data, size_t len);

/* Full handshake. Returns true when the link result is OK; link_error /
 * link_result say what happened otherwise. */
bool test_client_link(TestClient *c, const TestLinkParams *p);

/* Send one message with the negotiated header. */
bool test_client_send(TestClient *c, uint16_t type, const void *body, uint32_t size);

/* Receive one message; *body is g_malloc'ed (g_free it). */
bool test_client_recv(TestClient *c, uint16_t *type, uint8_t **body, uint32_t *size);

/* Receive messages until one of `type` arrives, answering PINGs and
 * SET_ACKs on the way. Returns false on EOF/timeout. */
bool test_client_wait_for(TestClient *c, uint16_t type, uint8_t **body, uint32_t *size);

/* True when the server closed the connection (EOF within timeout_ms). */
bool test_client_wait_closed(TestClient *c, int timeout_ms);

/* Link a main channel (connection id 0); *session_id gets the id from
 * MAIN_INIT. */
TestClient *test_client_main(int port, const char *password, uint32_t *session_id);

#endif /* SPICE_TEST_CLIENT_H_ */
