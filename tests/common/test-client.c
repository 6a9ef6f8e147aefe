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
    close(c->fd);
    if (c->server_common_caps) {
        g_array_unref(c->server_common_caps);
    }
    if (c->server_caps) {
        g_array_unref(c->server_caps);
    }
    g_free(c);
}

bool test_client_write(TestClient *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool test_client_read(TestClient *c, void *data, size_t len)
{
    uint8_t *p = data;
    while (len > 0) {
        ssize_t n = recv(c->fd, p, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
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
        int rc = poll(&pfd, 1, (int)left);
        if (rc <= 0) {
            continue;
        }
        uint8_t buf[4096];
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
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
