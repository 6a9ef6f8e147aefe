/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice.h: the one header hosts include. Declares the public server API of
 * libspicecore, source and binary compatible with the 0.15 server API.
 */
#ifndef SPICE_H_
#define SPICE_H_

#define SPICE_H_INSIDE

#include "spice-version.h"
#include "spice-core.h"
#include "spice-server.h"
#include "spice-qxl.h"
#include "spice-input.h"
#include "spice-audio.h"
#include "spice-char.h"
#include "spice-migration.h"
#include "spice-replay.h"

#undef SPICE_H_INSIDE

#endif /* SPICE_H_ */
