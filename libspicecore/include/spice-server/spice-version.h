/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-version.h: which release of the public server API this library
 * implements. The value is the API level we are compatible with (0.15.1),
 * so hosts that test SPICE_SERVER_VERSION at build time pick the same code
 * paths they would pick for the reference server.
 */
#ifndef SPICE_VERSION_H_
#define SPICE_VERSION_H_

#if !defined(SPICE_H_INSIDE) && !defined(SPICE_SERVER_INTERNAL)
#error "include <spice.h>, not this header"
#endif

/* 0xMMmmpp: major, minor, micro of the compatible API level. */
#define SPICE_SERVER_VERSION 0x000f01

#endif /* SPICE_VERSION_H_ */
