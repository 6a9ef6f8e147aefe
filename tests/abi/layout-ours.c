/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * layout-ours.c: the layout table of libspicecore's public headers.
 *
 * Built with our include directory only (meson's public_inc), so <spice.h>
 * here is ours. See layout-reference.c for the other side.
 */
#include <spice.h>

/* A wrong include path would silently compare the reference with itself:
 * our SpiceServer is struct SpiceServer, the reference's is not. */
_Static_assert(__builtin_types_compatible_p(SpiceServer, struct SpiceServer),
               "layout-ours.c must be compiled against libspicecore's <spice.h>");

#define LAYOUT_TABLE_FUNC   layout_ours_table
#define LAYOUT_STRINGS_FUNC layout_ours_strings
#include "layout-emit.h"
