/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-client.c: blocking SPICE test client.
 */
#include "test-client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "spice-plugin-wire.h"

static TestClient *client_from_fd(int fd)
{
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    TestClient *c = g_new0(TestClient, 1);
    c->fd = fd;
    return c;
}

TestClient *test_client_connect_to(const char *addr, int port)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    int family;
    if (addr[0] == '/' || addr[0] == '@') {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        family = un->sun_family = AF_UNIX;
        size_t n = strlen(addr);
        g_assert_cmpuint(n, <, sizeof(un->sun_path));
        memcpy(un->sun_path, addr, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        if (addr[0] == '@') {
            un->sun_path[0] = '\0';
        } else {
            len++;
        }
    } else if (strchr(addr, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        family = in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        g_assert_cmpint(inet_pton(AF_INET6, addr, &in6->sin6_addr), ==, 1);
        len = sizeof(*in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        family = in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        g_assert_cmpint(inet_pton(AF_INET, addr, &in->sin_addr), ==, 1);
        len = sizeof(*in);
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(fd, >=, 0);
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        close(fd);
        return NULL;
    }
    return client_from_fd(fd);
}

TestClient *test_client_connect(int port)
{
    return test_client_connect_to("127.0.0.1", port);
}

void test_client_free(TestClient *c)
{
    if (!c) {
        return;
    }
    if (c->ssl) {
        SSL_free(c->ssl);
        SSL_CTX_free(c->ssl_ctx);
    }
    close(c->fd);
    if (c->server_common_caps) {
        g_array_unref(c->server_common_caps);
    }
    if (c->server_caps) {
        g_array_unref(c->server_caps);
    }
    g_free(c);
}

/* The transport: the socket or TLS. */
static ssize_t raw_send(TestClient *c, const void *p, size_t len)
{
    if (c->ssl) {
        int n = SSL_write(c->ssl, p, (int)len);
        return n > 0 ? n : -1;
    }
    for (;;) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n;
    }
}

static ssize_t raw_recv(TestClient *c, void *p, size_t len)
{
    if (c->ssl) {
        int n = SSL_read(c->ssl, p, (int)len);
        if (n > 0) {
            return n;
        }
        return SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    for (;;) {
        ssize_t n = recv(c->fd, p, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n;
    }
}

static bool raw_write_all(TestClient *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = raw_send(c, p, len);
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool raw_read_all(TestClient *c, void *data, size_t len)
{
    uint8_t *p = data;
    while (len > 0) {
        ssize_t n = raw_recv(c, p, len);
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool test_client_write_frame(TestClient *c, uint8_t b0, const uint8_t *mask, uint64_t len,
                             const void *payload, size_t payload_len)
{
    uint8_t h[14];
    size_t hl = 2;
    h[0] = b0;
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++) {
            h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        }
        hl = 10;
    }
    if (mask) {
        h[1] |= 0x80;
        memcpy(h + hl, mask, 4);
        hl += 4;
    }
    uint8_t *frame = g_malloc(hl + payload_len);
    memcpy(frame, h, hl);
    const uint8_t *in = payload;
    for (size_t i = 0; i < payload_len; i++) {
        frame[hl + i] = mask ? in[i] ^ mask[i & 3] : in[i];
    }
    bool ok = raw_write_all(c, frame, hl + payload_len);
    g_free(frame);
    return ok;
}

/* A server frame's header: its opcode and payload length. */
static bool read_frame_header(TestClient *c, uint8_t *opcode, uint64_t *len)
{
    uint8_t h[10];
    if (!raw_read_all(c, h, 2)) {
        return false;
    }
    g_assert_cmphex(h[1] & 0x80, ==, 0); /* servers do not mask */
    g_assert_cmphex(h[0] & 0x80, !=, 0); /* our server never fragments */
    uint64_t n = h[1] & 0x7f;
    size_t ext = n == 126 ? 2 : n == 127 ? 8 : 0;
    if (ext) {
        if (!raw_read_all(c, h + 2, ext)) {
            return false;
        }
        n = 0;
        for (size_t i = 0; i < ext; i++) {
            n = n << 8 | h[2 + i];
        }
    }
    g_assert_cmpuint(n, <=, 1u << 24);
    *opcode = h[0] & 0x0f;
    *len = n;
    return true;
}

bool test_client_read_frame(TestClient *c, uint8_t *opcode, uint8_t **payload, size_t *len)
{
    uint64_t n;
    if (!read_frame_header(c, opcode, &n)) {
        return false;
    }
    *payload = g_malloc(n ? n : 1);
    *len = (size_t)n;
    return raw_read_all(c, *payload, (size_t)n);
}

bool test_client_write(TestClient *c, const void *data, size_t len)
{
    if (c->websocket) {
        static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
        return test_client_write_frame(c, 0x82, mask, len, data, len);
    }
    return raw_write_all(c, data, len);
}

bool test_client_read(TestClient *c, void *data, size_t len)
{
    if (!c->websocket) {
        return raw_read_all(c, data, len);
    }
    uint8_t *p = data;
    while (len > 0) {
        if (c->ws_left == 0) {
            uint8_t op;
            uint64_t n;
            if (!read_frame_header(c, &op, &n)) {
                return false;
            }
            if (op == 0x8) {
                return false; /* the server closed */
            }
            if (op != 0x2 && op != 0x0) {
                /* pongs: skip them */
                uint8_t skip[125];
                if (n > sizeof(skip) || !raw_read_all(c, skip, (size_t)n)) {
                    return false;
                }
                continue;
            }
            c->ws_left = n;
            continue;
        }
        size_t take = (size_t)MIN((uint64_t)len, c->ws_left);
        ssize_t n = raw_recv(c, p, take);
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
        c->ws_left -= (uint64_t)n;
    }
    return true;
}

bool test_client_start_tls(TestClient *c, const char *ca_file, bool max_tls12, char **error)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    g_assert_nonnull(ctx);
    if (max_tls12) {
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    }
    if (ca_file) {
        g_assert_cmpint(SSL_CTX_load_verify_locations(ctx, ca_file, NULL), ==, 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, c->fd);
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
        unsigned long e = ERR_get_error();
        *error = g_strdup(e ? ERR_error_string(e, NULL) : "handshake failed");
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        return false;
    }
    c->ssl = ssl;
    c->ssl_ctx = ctx;
    return true;
}

bool test_client_start_websocket(TestClient *c)
{
    /* The example of RFC 6455 section 1.3. */
    static const char request[] = "GET /spice HTTP/1.1\r\n"
                                  "Host: 127.0.0.1\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: keep-alive, Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Protocol: binary\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
    if (!raw_write_all(c, request, strlen(request))) {
        return false;
    }
    GString *answer = g_string_new(NULL);
    while (!g_str_has_suffix(answer->str, "\r\n\r\n") && answer->len < 4096) {
        char ch;
        if (!raw_read_all(c, &ch, 1)) {
            g_string_free(answer, TRUE);
            return false;
        }
        g_string_append_c(answer, ch);
    }
    bool ok = g_str_has_prefix(answer->str, "HTTP/1.1 101 ") &&
              strstr(answer->str, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") &&
              strstr(answer->str, "Sec-WebSocket-Protocol: binary\r\n");
    g_string_free(answer, TRUE);
    c->websocket = ok;
    return ok;
}

static bool encrypt_ticket(const uint8_t *der, size_t der_len, const char *password,
                           uint8_t out[128])
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)der_len);
    if (!pkey) {
        return false;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    size_t outlen = 128;
    bool ok = ctx && EVP_PKEY_encrypt_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
              EVP_PKEY_encrypt(ctx, out, &outlen, (const unsigned char *)password,
                               strlen(password) + 1) > 0 &&
              outlen == 128;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok;
}

bool test_client_link(TestClient *c, const TestLinkParams *p)
{
    uint32_t common = (1u << SPICE_COMMON_CAP_AUTH_SPICE);
    if (!p->no_auth_selection) {
        common |= 1u << SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION;
    }
    if (!p->no_mini_header) {
        common |= 1u << SPICE_COMMON_CAP_MINI_HEADER;
    }
    uint32_t n_caps = p->n_channel_caps;
    uint32_t size = 18 + 4 * (1 + n_caps);
    uint8_t *msg = g_malloc0(16 + size);
    spice_wire_put_u32(msg, SPICE_MAGIC);
    spice_wire_put_u32(msg + 4, SPICE_VERSION_MAJOR);
    spice_wire_put_u32(msg + 8, SPICE_VERSION_MINOR);
    spice_wire_put_u32(msg + 12, size);
    uint8_t *m = msg + 16;
    spice_wire_put_u32(m, p->connection_id);
    m[4] = p->channel_type;
    m[5] = p->channel_id;
    spice_wire_put_u32(m + 6, 1);
    spice_wire_put_u32(m + 10, n_caps);
    spice_wire_put_u32(m + 14, 18);
    spice_wire_put_u32(m + 18, common);
    for (uint32_t i = 0; i < n_caps; i++) {
        spice_wire_put_u32(m + 22 + 4 * i, p->channel_caps[i]);
    }
    bool ok = test_client_write(c, msg, 16 + size);
    g_free(msg);
    if (!ok) {
        return false;
    }

    uint8_t header[16];
    if (!test_client_read(c, header, sizeof(header))) {
        return false;
    }
    g_assert_cmphex(spice_wire_get_u32(header), ==, SPICE_MAGIC);
    uint32_t reply_size = spice_wire_get_u32(header + 12);
    g_assert_cmpuint(reply_size, >=, 178);
    g_assert_cmpuint(reply_size, <=, 4096);
    uint8_t *reply = g_malloc(reply_size);
    if (!test_client_read(c, reply, reply_size)) {
        g_free(reply);
        return false;
    }
    c->link_error = spice_wire_get_u32(reply);
    if (c->link_error != SPICE_LINK_ERR_OK) {
        g_free(reply);
        return false;
    }
    uint32_t ncommon = spice_wire_get_u32(reply + 166);
    uint32_t nchan = spice_wire_get_u32(reply + 170);
    uint32_t offset = spice_wire_get_u32(reply + 174);
    g_assert_cmpuint((uint64_t)offset + 4 * ((uint64_t)ncommon + nchan), <=, reply_size);
    c->server_common_caps = g_array_new(FALSE, TRUE, 4);
    c->server_caps = g_array_new(FALSE, TRUE, 4);
    for (uint32_t i = 0; i < ncommon; i++) {
        uint32_t w = spice_wire_get_u32(reply + offset + 4 * i);
        g_array_append_val(c->server_common_caps, w);
    }
    for (uint32_t i = 0; i < nchan; i++) {
        uint32_t w = spice_wire_get_u32(reply + offset + 4 * (ncommon + i));
        g_array_append_val(c->server_caps, w);
    }
    uint32_t server_common = ncommon ? g_array_index(c->server_common_caps, uint32_t, 0) : 0;
    c->mini_header = !p->no_mini_header && (server_common & (1u << SPICE_COMMON_CAP_MINI_HEADER));

    if (!p->no_auth_selection) {
        uint8_t mech[4];
        spice_wire_put_u32(mech, SPICE_COMMON_CAP_AUTH_SPICE);
        if (!test_client_write(c, mech, 4)) {
            g_free(reply);
            return false;
        }
    }
    uint8_t ticket[128];
    bool encrypted = encrypt_ticket(reply + 4, 162, p->password ? p->password : "", ticket);
    /* As spice-html5 sends about one ticket in 256: a ciphertext whose
     * first byte is zero, written without it (shifted left, zero at the
     * end). OAEP is randomized, so encrypt until one starts with zero. */
    for (int tries = 0; encrypted && p->ticket_without_leading_zero && ticket[0] != 0; tries++) {
        g_assert_cmpint(tries, <, 100000);
        encrypted = encrypt_ticket(reply + 4, 162, p->password ? p->password : "", ticket);
    }
    if (p->ticket_without_leading_zero) {
        memmove(ticket, ticket + 1, 127);
        ticket[127] = 0;
    }
    g_free(reply);
    g_assert_true(encrypted);
    if (!test_client_write(c, ticket, sizeof(ticket))) {
        return false;
    }
    uint8_t result[4];
    if (!test_client_read(c, result, 4)) {
        return false;
    }
    c->link_result = spice_wire_get_u32(result);
    return c->link_result == SPICE_LINK_ERR_OK;
}

bool test_client_send(TestClient *c, uint16_t type, const void *body, uint32_t size)
{
    uint8_t header[18];
    size_t hsize;
    if (c->mini_header) {
        spice_wire_put_u16(header, type);
        spice_wire_put_u32(header + 2, size);
        hsize = 6;
    } else {
        spice_wire_put_u64(header, ++c->serial);
        spice_wire_put_u16(header + 8, type);
        spice_wire_put_u32(header + 10, size);
        spice_wire_put_u32(header + 14, 0);
        hsize = 18;
    }
    return test_client_write(c, header, hsize) && (size == 0 || test_client_write(c, body, size));
}

bool test_client_recv(TestClient *c, uint16_t *type, uint8_t **body, uint32_t *size)
{
    uint8_t header[18];
    size_t hsize = c->mini_header ? 6 : 18;
    if (!test_client_read(c, header, hsize)) {
        return false;
    }
    if (c->mini_header) {
        *type = spice_wire_get_u16(header);
        *size = spice_wire_get_u32(header + 2);
    } else {
        *type = spice_wire_get_u16(header + 8);
        *size = spice_wire_get_u32(header + 10);
    }
    g_assert_cmpuint(*size, <=, 64 * 1024 * 1024);
    *body = g_malloc(*size ? *size : 1);
    if (*size && !test_client_read(c, *body, *size)) {
        g_free(*body);
        *body = NULL;
        return false;
    }
    return true;
}

bool test_client_wait_for(TestClient *c, uint16_t want, uint8_t **body, uint32_t *size)
{
    for (;;) {
        uint16_t type;
        uint8_t *b;
        uint32_t n;
        if (!test_client_recv(c, &type, &b, &n)) {
            return false;
        }
        if (type == want) {
            *body = b;
            *size = n;
            return true;
        }
        if (type == SPICE_MSG_PING && n >= 12) {
            test_client_send(c, SPICE_MSGC_PONG, b, 12);
        } else if (type == SPICE_MSG_SET_ACK && n >= 4) {
            test_client_send(c, SPICE_MSGC_ACK_SYNC, b, 4);
        }
        g_free(b);
    }
}

bool test_client_wait_closed(TestClient *c, int timeout_ms)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int64_t left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            return false;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int rc = c->ssl && SSL_pending(c->ssl) ? 1 : poll(&pfd, 1, (int)left);
        if (rc <= 0) {
            continue;
        }
        uint8_t buf[4096];
        ssize_t n = raw_recv(c, buf, sizeof(buf));
        if (n < 0 && c->ssl) {
            return true; /* a TLS alert or a reset: gone */
        }
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            return true;
        }
    }
}

TestClient *test_client_main(int port, const char *password, uint32_t *session_id)
{
    TestClient *c = test_client_connect(port);
    if (!c) {
        return NULL;
    }
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN, .password = password };
    if (!test_client_link(c, &p)) {
        test_client_free(c);
        return NULL;
    }
    uint8_t *body;
    uint32_t size;
    if (!test_client_wait_for(c, SPICE_MSG_MAIN_INIT, &body, &size)) {
        test_client_free(c);
        return NULL;
    }
    g_assert_cmpuint(size, ==, 32);
    *session_id = spice_wire_get_u32(body);
    g_free(body);
    return c;
}
