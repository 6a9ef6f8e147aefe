/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qxl-worker.h: one worker thread per QXL instance (qxl-worker.c). All of
 * these run on the host thread.
 */
#ifndef SPICE_DISPLAY_QXL_WORKER_H_
#define SPICE_DISPLAY_QXL_WORKER_H_

#include <stdbool.h>

#include "spice-plugin.h"

#include "display-output.h"

typedef struct QxlWorker QxlWorker;

/* The worker, its thread, and its output (created with output->create).
 * NULL with a static *why when the instance cannot be served. */
QxlWorker *qxl_worker_new(SpicePlugin *plugin, QXLInstance *qxl, const DisplayOutputOps *output,
                          const char **why);
/* Once the worker is the instance's data: announce the display and call
 * the host's attache_worker (which may call spice_qxl_* entry points right
 * away). */
void qxl_worker_attach(QxlWorker *w);
/* Host thread. The client's monitors config (a checked
 * VDAgentMonitorsConfig of size bytes) to the device, if it takes it. */
void qxl_worker_client_monitors_config(QxlWorker *w, const uint8_t *config, uint32_t size);
void qxl_worker_free(QxlWorker *w);
/* The "qxl" interface's SpiceQxlEntries. */
extern const SpiceQxlEntries qxl_worker_entries;
/* VM start/stop; both wait for the worker. */
void qxl_worker_set_running(QxlWorker *w, bool running);

#endif /* SPICE_DISPLAY_QXL_WORKER_H_ */
