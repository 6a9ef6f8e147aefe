/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-plugin-abi.c: the plugin ABI freeze test, in the spirit of
 * GStreamer's gstabi.c. plugin-abi-frozen.h records, for every ABI minor
 * since 1.0, the size of every struct of spice-plugin.h, the offset and
 * size of every member, and the constants. The header as compiled now
 * must agree with the record of the current minor, and the records of
 * older minors must be prefixes of it: nothing moves, nothing is removed,
 * structs only grow at their end (or inside their reserved room).
 *
 *   test-plugin-abi           run the checks (TAP)
 *   test-plugin-abi --dump    print the current layout as frozen rows
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "spice-plugin.h"

typedef struct AbiRow {
    const char *type;
    const char *member; /* NULL: the struct itself, or a constant */
    uint64_t offset;    /* member: offsetof; struct: sizeof; constant: value */
    uint64_t size;      /* member: sizeof; struct: alignment */
    bool constant;
} AbiRow;

typedef struct AbiString {
    const char *name;
    const char *value;
} AbiString;

#define ABI_STRUCT(T)    { #T, NULL, sizeof(T), alignof(T), false },
#define ABI_MEMBER(T, m) { #T, #m, offsetof(T, m), sizeof(((T *)0)->m), false },
#define ABI_CONST(name)  { #name, NULL, (uint64_t)(name), 0, true },
#define ABI_STRING(name)
static const AbiRow current[] = {
#include "plugin-abi-rows.h"
};
#undef ABI_STRUCT
#undef ABI_MEMBER
#undef ABI_CONST
#undef ABI_STRING

#define ABI_STRUCT(T)
#define ABI_MEMBER(T, m)
#define ABI_CONST(name)
#define ABI_STRING(name) { #name, name },
static const AbiString current_strings[] = {
#include "plugin-abi-rows.h"
};
#undef ABI_STRUCT
#undef ABI_MEMBER
#undef ABI_CONST
#undef ABI_STRING

/* A row of the record: valid from minor `since` to minor `until`. */
#define ABI_NOW 0xffffu
typedef struct FrozenRow {
    unsigned since;
    unsigned until;
    AbiRow row;
} FrozenRow;

#include "plugin-abi-frozen.h"

static bool same_name(const AbiRow *a, const AbiRow *b)
{
    return strcmp(a->type, b->type) == 0 && a->constant == b->constant &&
           g_strcmp0(a->member, b->member) == 0;
}

static const FrozenRow *frozen_at(const AbiRow *row, unsigned minor)
{
    for (size_t i = 0; i < G_N_ELEMENTS(frozen); i++) {
        const FrozenRow *f = &frozen[i];
        if (f->since <= minor && minor <= f->until && same_name(&f->row, row)) {
            return f;
        }
    }
    return NULL;
}

static const AbiRow *current_row(const AbiRow *row)
{
    for (size_t i = 0; i < G_N_ELEMENTS(current); i++) {
        if (same_name(&current[i], row)) {
            return &current[i];
        }
    }
    return NULL;
}

static char *describe(const AbiRow *r)
{
    if (r->constant) {
        return g_strdup_printf("%s", r->type);
    }
    return r->member ? g_strdup_printf("%s.%s", r->type, r->member)
                     : g_strdup_printf("sizeof(%s)", r->type);
}

/* The header now equals the record of the current minor, row by row. */
static void test_current_minor(void)
{
    unsigned failures = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(current); i++) {
        const AbiRow *c = &current[i];
        g_autofree char *what = describe(c);
        const FrozenRow *f = frozen_at(c, SPICE_PLUGIN_ABI_MINOR);
        if (!f) {
            g_test_message("%s is not in the frozen record of 1.%u: record it (--dump)", what,
                           SPICE_PLUGIN_ABI_MINOR);
            failures++;
        } else if (f->row.offset != c->offset || f->row.size != c->size) {
            g_test_message("%s moved: recorded %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                           ", now %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                           what, f->row.offset, f->row.size, c->offset, c->size);
            failures++;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(frozen); i++) {
        const FrozenRow *f = &frozen[i];
        if (f->until == ABI_NOW && !current_row(&f->row)) {
            g_autofree char *what = describe(&f->row);
            g_test_message("%s is recorded for 1.%u but gone from the header", what,
                           SPICE_PLUGIN_ABI_MINOR);
            failures++;
        }
    }
    g_assert_cmpuint(failures, ==, 0);
}

/* Every older minor's record is what an old plugin relies on: each of its
 * members is still where it was (unless the record says which minor
 * replaced it, which only reserved room may be), lies inside the struct's
 * size of that minor, and structs never shrink. */
static void test_older_minors(void)
{
    unsigned failures = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(frozen); i++) {
        const FrozenRow *f = &frozen[i];
        g_autofree char *what = describe(&f->row);
        if (f->until != ABI_NOW) {
            /* Replaced: a struct's size (it grew; checked below) or
             * reserved room given away, nothing else. */
            if (f->row.member && !g_str_has_prefix(f->row.member, "reserved")) {
                g_test_message("%s was changed in 1.%u, and it is not reserved room", what,
                               f->until + 1);
                failures++;
            }
            continue;
        }
        const AbiRow *c = current_row(&f->row);
        if (c && (c->offset != f->row.offset || c->size != f->row.size)) {
            g_test_message("%s (since 1.%u) moved", what, f->since);
            failures++;
        }
        if (!f->row.member || f->row.constant) {
            continue;
        }
        for (unsigned minor = f->since; minor <= SPICE_PLUGIN_ABI_MINOR; minor++) {
            AbiRow type = { .type = f->row.type };
            const FrozenRow *t = frozen_at(&type, minor);
            if (!t) {
                g_test_message("%s: no size recorded for %s in 1.%u", what, f->row.type, minor);
                failures++;
            } else if (f->row.offset + f->row.size > t->row.offset) {
                g_test_message("%s (since 1.%u) lies outside sizeof(%s) of 1.%u", what, f->since,
                               f->row.type, minor);
                failures++;
            }
        }
    }
    /* Sizes never shrink from one minor to the next. */
    for (size_t i = 0; i < G_N_ELEMENTS(frozen); i++) {
        const FrozenRow *f = &frozen[i];
        if (f->row.member || f->row.constant) {
            continue;
        }
        for (unsigned minor = f->since; minor < SPICE_PLUGIN_ABI_MINOR && minor <= f->until;
             minor++) {
            const FrozenRow *next = frozen_at(&f->row, minor + 1);
            if (!next || next->row.offset < f->row.offset) {
                g_test_message("sizeof(%s) shrank or vanished after 1.%u", f->row.type, minor);
                failures++;
            }
        }
    }
    g_assert_cmpuint(failures, ==, 0);
}

static void test_strings(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(current_strings); i++) {
        bool found = false;
        for (size_t j = 0; j < G_N_ELEMENTS(frozen_strings); j++) {
            if (strcmp(frozen_strings[j].name, current_strings[i].name) == 0) {
                g_assert_cmpstr(frozen_strings[j].value, ==, current_strings[i].value);
                found = true;
            }
        }
        if (!found) {
            g_test_message("%s is not recorded", current_strings[i].name);
        }
        g_assert_true(found);
    }
}

static void dump(void)
{
    printf("/* generated by test-plugin-abi --dump for 1.%u: set `since` by hand */\n",
           SPICE_PLUGIN_ABI_MINOR);
    for (size_t i = 0; i < G_N_ELEMENTS(current); i++) {
        const AbiRow *c = &current[i];
        if (c->constant) {
            printf("    { 0, ABI_NOW, { \"%s\", NULL, %" G_GUINT64_FORMAT "u, 0, true } },\n",
                   c->type, c->offset);
        } else if (c->member) {
            printf("    { 0, ABI_NOW, { \"%s\", \"%s\", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   ", false } },\n",
                   c->type, c->member, c->offset, c->size);
        } else {
            printf("    { 0, ABI_NOW, { \"%s\", NULL, %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   ", false } },\n",
                   c->type, c->offset, c->size);
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(current_strings); i++) {
        printf("    { \"%s\", \"%s\" },\n", current_strings[i].name, current_strings[i].value);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--dump") == 0) {
        dump();
        return 0;
    }
    g_test_init(&argc, &argv, NULL);
    if (sizeof(void *) != 8) {
        /* The record is of the LP64 layout. */
        g_test_skip("the frozen record is for 64-bit builds");
    }
    g_test_add_func("/abi/plugin/current-minor", test_current_minor);
    g_test_add_func("/abi/plugin/older-minors", test_older_minors);
    g_test_add_func("/abi/plugin/strings", test_strings);
    return g_test_run();
}
