/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-replay.h: reading back a recorded stream of QXL commands.
 */
#ifndef SPICE_REPLAY_H_
#define SPICE_REPLAY_H_

#if !defined(SPICE_H_INSIDE) && !defined(SPICE_SERVER_INTERNAL)
#error "include <spice.h>, not this header"
#endif

#include <stdio.h>
#include "spice-core.h"

SPICE_BEGIN_DECLS

typedef struct SpiceReplay SpiceReplay;

QXLCommandExt *spice_replay_next_cmd(SpiceReplay *replay, QXLInstance *instance);
void spice_replay_free_cmd(SpiceReplay *replay, QXLCommandExt *cmd);
void spice_replay_free(SpiceReplay *replay);
SpiceReplay *spice_replay_new(FILE *file, int nsurfaces);

SPICE_END_DECLS

#endif /* SPICE_REPLAY_H_ */
