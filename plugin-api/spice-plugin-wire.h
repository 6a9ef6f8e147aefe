/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-plugin-wire.h: bounds-checked readers and writers for SPICE message
 * bodies (little-endian, packed). Header-only, part of the plugin SDK.
 *
 * Reading: a SpiceWireReader walks a byte range. Every read checks the
 * remaining length first; the first short read sets `error` and every
 * later read returns zero, so a parser can read a whole fixed layout and
 * check `error` once at the end:
 *
 *     SpiceWireReader r = spice_wire_reader(body, size);
 *     uint32_t x = spice_wire_u32(&r);
 *     uint32_t y = spice_wire_u32(&r);
 *     if (!spice_wire_done(&r)) return -EINVAL;   // short or trailing bytes
 *
 * Writing: a SpiceWireWriter appends to a heap buffer that grows as needed.
 * Allocation failure sets `error`; spice_wire_writer_steal() hands the
 * buffer to the caller (free() it, or pass it to channel_client_send_owned
 * with free as free_func).
 */
#ifndef SPICE_PLUGIN_WIRE_H_
#define SPICE_PLUGIN_WIRE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SpiceWireReader {
    const uint8_t *data;
    size_t size;
    size_t pos;
    bool error;
} SpiceWireReader;

static inline SpiceWireReader spice_wire_reader(const void *data, size_t size)
{
    SpiceWireReader r = { (const uint8_t *)data, size, 0, false };
    return r;
}

static inline size_t spice_wire_remaining(const SpiceWireReader *r)
{
    return r->error ? 0 : r->size - r->pos;
}

/* Returns a pointer to the next n bytes and advances, or NULL (and sets
 * error) if fewer than n remain. */
static inline const uint8_t *spice_wire_bytes(SpiceWireReader *r, size_t n)
{
    if (r->error || n > r->size - r->pos) {
        r->error = true;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

static inline uint8_t spice_wire_u8(SpiceWireReader *r)
{
    const uint8_t *p = spice_wire_bytes(r, 1);
    return p ? p[0] : 0;
}

static inline uint16_t spice_wire_u16(SpiceWireReader *r)
{
    const uint8_t *p = spice_wire_bytes(r, 2);
    return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

static inline uint32_t spice_wire_u32(SpiceWireReader *r)
{
    const uint8_t *p = spice_wire_bytes(r, 4);
    return p ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                   ((uint32_t)p[3] << 24)
             : 0;
}

static inline uint64_t spice_wire_u64(SpiceWireReader *r)
{
    uint64_t lo = spice_wire_u32(r);
    uint64_t hi = spice_wire_u32(r);
    return lo | (hi << 32);
}

static inline int32_t spice_wire_i32(SpiceWireReader *r)
{
    return (int32_t)spice_wire_u32(r);
}

static inline int64_t spice_wire_i64(SpiceWireReader *r)
{
    return (int64_t)spice_wire_u64(r);
}

/* True when every read succeeded and nothing is left over. */
static inline bool spice_wire_done(const SpiceWireReader *r)
{
    return !r->error && r->pos == r->size;
}

/* Little-endian stores into a caller-provided buffer (no checks). */
static inline void spice_wire_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void spice_wire_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void spice_wire_put_u64(uint8_t *p, uint64_t v)
{
    spice_wire_put_u32(p, (uint32_t)v);
    spice_wire_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t spice_wire_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint16_t spice_wire_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

typedef struct SpiceWireWriter {
    uint8_t *data;
    size_t size;
    size_t capacity;
    bool error;
} SpiceWireWriter;

static inline void spice_wire_writer_init(SpiceWireWriter *w, size_t capacity)
{
    w->size = 0;
    w->error = false;
    w->capacity = capacity ? capacity : 64;
    w->data = (uint8_t *)malloc(w->capacity);
    if (!w->data) {
        w->capacity = 0;
        w->error = true;
    }
}

/* Reserve n bytes at the end and return them (NULL on failure). */
static inline uint8_t *spice_wire_reserve(SpiceWireWriter *w, size_t n)
{
    if (w->error) {
        return NULL;
    }
    if (n > SIZE_MAX / 2 - w->size) {
        w->error = true;
        return NULL;
    }
    size_t need = w->size + n;
    if (need > w->capacity) {
        /* Grow geometrically; the bound check above keeps this from
         * overflowing. */
        size_t cap = w->capacity * 2 > need ? w->capacity * 2 : need;
        uint8_t *p = (uint8_t *)realloc(w->data, cap);
        if (!p) {
            w->error = true;
            return NULL;
        }
        w->data = p;
        w->capacity = cap;
    }
    uint8_t *p = w->data + w->size;
    w->size = need;
    return p;
}

static inline void spice_wire_write(SpiceWireWriter *w, const void *src, size_t n)
{
    uint8_t *p = spice_wire_reserve(w, n);
    if (p && n) {
        memcpy(p, src, n);
    }
}

static inline void spice_wire_write_u8(SpiceWireWriter *w, uint8_t v)
{
    uint8_t *p = spice_wire_reserve(w, 1);
    if (p) {
        p[0] = v;
    }
}

static inline void spice_wire_write_u16(SpiceWireWriter *w, uint16_t v)
{
    uint8_t *p = spice_wire_reserve(w, 2);
    if (p) {
        spice_wire_put_u16(p, v);
    }
}

static inline void spice_wire_write_u32(SpiceWireWriter *w, uint32_t v)
{
    uint8_t *p = spice_wire_reserve(w, 4);
    if (p) {
        spice_wire_put_u32(p, v);
    }
}

static inline void spice_wire_write_u64(SpiceWireWriter *w, uint64_t v)
{
    uint8_t *p = spice_wire_reserve(w, 8);
    if (p) {
        spice_wire_put_u64(p, v);
    }
}

static inline void spice_wire_write_i32(SpiceWireWriter *w, int32_t v)
{
    spice_wire_write_u32(w, (uint32_t)v);
}

/* Take the buffer (caller frees); the writer is left empty. NULL after an
 * allocation failure. */
static inline uint8_t *spice_wire_writer_steal(SpiceWireWriter *w, size_t *size)
{
    uint8_t *p = w->error ? NULL : w->data;
    if (w->error) {
        free(w->data);
    }
    *size = w->error ? 0 : w->size;
    w->data = NULL;
    w->size = w->capacity = 0;
    return p;
}

static inline void spice_wire_writer_clear(SpiceWireWriter *w)
{
    free(w->data);
    w->data = NULL;
    w->size = w->capacity = 0;
    w->error = false;
}

#ifdef __cplusplus
}
#endif

#endif /* SPICE_PLUGIN_WIRE_H_ */
