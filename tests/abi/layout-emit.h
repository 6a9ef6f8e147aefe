/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * layout-emit.h: turns layout-entries.h into the two tables of one side.
 *
 * Included once, at the end of layout-ours.c and of layout-reference.c,
 * after that side's <spice.h>. The includer names the functions to define
 * with LAYOUT_TABLE_FUNC and LAYOUT_STRINGS_FUNC. Keeping this text in one
 * place means both sides compute every row with the same expression.
 */
#ifndef LAYOUT_EMIT_H_
#define LAYOUT_EMIT_H_

#if !defined(LAYOUT_TABLE_FUNC) || !defined(LAYOUT_STRINGS_FUNC)
#error "define LAYOUT_TABLE_FUNC and LAYOUT_STRINGS_FUNC before including layout-emit.h"
#endif

#include <stddef.h>
#include <stdint.h>

#include "layout-table.h"

/* The C type of a constant, as a word, so that e.g. 1 and 1u differ. */
/* clang-format off */
#define LAYOUT_TYPE_NAME(x)                                                                        \
    _Generic((x),                                                                                  \
        int: "int",                                                                                \
        unsigned int: "unsigned int",                                                              \
        long: "long",                                                                              \
        unsigned long: "unsigned long",                                                            \
        long long: "long long",                                                                    \
        unsigned long long: "unsigned long long",                                                  \
        default: "(not a standard integer type)")
/* clang-format on */

/* The table reads deprecated members (laddr, attache_worker, ...) on
 * purpose: they are part of the layout hosts compile against. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define LAYOUT_TYPE(t)                                           \
    { "sizeof(" #t ")", LAYOUT_KIND_SIZE, #t, NULL, sizeof(t) }, \
        { "_Alignof(" #t ")", LAYOUT_KIND_ALIGN, #t, NULL, _Alignof(t) },
#define LAYOUT_MEMBER(t, m)                                                     \
    { "offsetof(" #t ", " #m ")", LAYOUT_KIND_OFFSET, #t, #m, offsetof(t, m) }, \
        { "sizeof(" #t "." #m ")", LAYOUT_KIND_MEMBER_SIZE, #t, #m, sizeof(((t *)0)->m) },
#define LAYOUT_CONST(c) { #c, LAYOUT_KIND_VALUE, #c, NULL, (uint64_t)(c) },
#define LAYOUT_STRING(s)

static const LayoutEntry layout_entries[] = {
#include "layout-entries.h"
};

#undef LAYOUT_TYPE
#undef LAYOUT_MEMBER
#undef LAYOUT_CONST
#undef LAYOUT_STRING

#define LAYOUT_TYPE(t)
#define LAYOUT_MEMBER(t, m)
#define LAYOUT_CONST(c)  { "type of " #c, LAYOUT_TYPE_NAME(c) },
#define LAYOUT_STRING(s) { #s, s },

static const LayoutString layout_strings[] = {
#include "layout-entries.h"
};

#undef LAYOUT_TYPE
#undef LAYOUT_MEMBER
#undef LAYOUT_CONST
#undef LAYOUT_STRING

#pragma GCC diagnostic pop

const LayoutEntry *LAYOUT_TABLE_FUNC(size_t *n_entries)
{
    *n_entries = sizeof(layout_entries) / sizeof(layout_entries[0]);
    return layout_entries;
}

const LayoutString *LAYOUT_STRINGS_FUNC(size_t *n_strings)
{
    *n_strings = sizeof(layout_strings) / sizeof(layout_strings[0]);
    return layout_strings;
}

#endif /* LAYOUT_EMIT_H_ */
