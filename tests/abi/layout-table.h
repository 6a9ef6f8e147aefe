/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * layout-table.h: the shape of the tables the ABI layout test compares.
 *
 * Our public headers and the reference server's headers define the same
 * names, so no translation unit can see both. Each side is compiled alone
 * (layout-ours.c, layout-reference.c) and reduces the headers to plain
 * numbers and strings; test-layout.c, which includes neither, compares
 * them. This header must therefore never include a SPICE server header.
 */
#ifndef LAYOUT_TABLE_H_
#define LAYOUT_TABLE_H_

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LAYOUT_KIND_SIZE,        /* sizeof(type) */
    LAYOUT_KIND_ALIGN,       /* _Alignof(type) */
    LAYOUT_KIND_OFFSET,      /* offsetof(type, member) */
    LAYOUT_KIND_MEMBER_SIZE, /* sizeof(((type *)0)->member) */
    LAYOUT_KIND_VALUE,       /* the value of a constant */
} LayoutKind;

/* One number read from one header set. */
typedef struct LayoutEntry {
    const char *name; /* what to print, e.g. "offsetof(QXLInstance, id)" */
    LayoutKind kind;
    const char *type;   /* the type (or, for a value, the constant) */
    const char *member; /* the member for OFFSET and MEMBER_SIZE, else NULL */
    uint64_t value;
} LayoutEntry;

/* One string read from one header set: an interface type string, or the
 * C type of a constant ("int", "unsigned long", ...). */
typedef struct LayoutString {
    const char *name;
    const char *value;
} LayoutString;

/* Tables built from <spice.h> of libspicecore (layout-ours.c). */
const LayoutEntry *layout_ours_table(size_t *n_entries);
const LayoutString *layout_ours_strings(size_t *n_strings);

/* Tables built from the installed reference <spice.h> (layout-reference.c). */
const LayoutEntry *layout_reference_table(size_t *n_entries);
const LayoutString *layout_reference_strings(size_t *n_strings);

#endif /* LAYOUT_TABLE_H_ */
