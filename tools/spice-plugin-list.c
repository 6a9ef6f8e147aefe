/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-plugin-list: which channel plugins this server would load, and why.
 *
 *   spice-plugin-list              one line per plugin in the search path
 *   spice-plugin-list NAME         everything about one plugin
 *   --json                         the same, machine-readable
 *   --check                        exit status says whether every enabled
 *                                  plugin loads and validates
 *   --config FILE                  use another deployment key file
 *
 * The answers come from the loader the server itself uses (plugin-loader.c),
 * so the tool and the server agree on every reason. Only enabled plugins
 * are opened, each in a throw-away child process: a plugin that crashes or
 * hangs in its query function costs one line of output, not the tool.
 * init() is never called.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <spice/enums.h>

#include "plugin-loader.h"
/* spicecore_internal_dep defines SPICE_SERVER_INTERNAL on the command line
 * and server.h (included by registry.h) defines it again; let the header's
 * definition stand instead of warning about the duplicate. */
#undef SPICE_SERVER_INTERNAL
#include "registry.h"

#define TOOL_NAME "spice-plugin-list"

/* How long one plugin may take to answer its query. */
#define QUERY_TIMEOUT_S 5
/* An answer larger than this is not a description of a plugin. */
#define QUERY_MAX_ANSWER (1024 * 1024)

#define EXIT_PROBLEM 1
#define EXIT_USAGE   2

typedef enum {
    STATUS_OK,
    STATUS_DISABLED,
    STATUS_ERROR,
    STATUS_CRASHED,
} PluginStatus;

typedef struct {
    uint32_t cap;
    char *name; /* may be NULL */
} CapInfo;

typedef struct {
    uint8_t type;
    char *class_name;
    uint32_t flags;
    uint32_t max_message_size;
    GArray *caps; /* CapInfo */
} ChannelInfo;

typedef struct {
    char *type;
    char *subtype; /* may be NULL */
    uint32_t major;
    uint32_t minor;
} InterfaceInfo;

/* Everything the tool knows about one plugin. Strings copied from the
 * descriptor are NULL when the descriptor could not be read. */
typedef struct {
    char *name;
    char *path;     /* NULL: enabled, but no such file in the search path */
    char *shadowed; /* a later file of the same name, ignored */
    PluginStatus status;
    char *reason; /* why it is not ok; NULL when ok */
    bool enabled;
    char *enabled_reason;
    bool optional;
    bool have_abi;
    uint16_t abi_major;
    uint16_t abi_minor;
    bool have_descriptor; /* the fields below were read from a valid descriptor */
    char *version;
    char *license;
    char *description;
    char *origin;
    GPtrArray *channels;   /* ChannelInfo */
    GPtrArray *interfaces; /* InterfaceInfo */
} PluginReport;

static void cap_info_clear(gpointer data)
{
    g_free(((CapInfo *)data)->name);
}

static void channel_info_free(gpointer data)
{
    ChannelInfo *c = data;
    g_free(c->class_name);
    g_array_unref(c->caps);
    g_free(c);
}

static void interface_info_free(gpointer data)
{
    InterfaceInfo *i = data;
    g_free(i->type);
    g_free(i->subtype);
    g_free(i);
}

static PluginReport *plugin_report_new(const char *name, const char *path, const char *shadowed)
{
    PluginReport *r = g_new0(PluginReport, 1);
    r->name = g_strdup(name);
    r->path = g_strdup(path);
    r->shadowed = g_strdup(shadowed);
    r->channels = g_ptr_array_new_with_free_func(channel_info_free);
    r->interfaces = g_ptr_array_new_with_free_func(interface_info_free);
    return r;
}

static void plugin_report_free(gpointer data)
{
    PluginReport *r = data;
    g_free(r->name);
    g_free(r->path);
    g_free(r->shadowed);
    g_free(r->reason);
    g_free(r->enabled_reason);
    g_free(r->version);
    g_free(r->license);
    g_free(r->description);
    g_free(r->origin);
    g_ptr_array_unref(r->channels);
    g_ptr_array_unref(r->interfaces);
    g_free(r);
}

static void report_fail(PluginReport *r, PluginStatus status, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static void report_fail(PluginReport *r, PluginStatus status, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_free(r->reason);
    r->reason = g_strdup_vprintf(format, ap);
    va_end(ap);
    r->status = status;
}

static const char *status_name(PluginStatus status)
{
    switch (status) {
    case STATUS_OK:
        return "ok";
    case STATUS_DISABLED:
        return "disabled";
    case STATUS_ERROR:
        return "error";
    case STATUS_CRASHED:
        return "crashed";
    }
    return "?";
}

static bool status_failed(PluginStatus status)
{
    return status == STATUS_ERROR || status == STATUS_CRASHED;
}

/* "inputs", or "type 201" for a number the core has no name for. The
 * result lives until the next call with the same buffer. */
static const char *channel_label(uint8_t type, char buf[16])
{
    const char *name = channel_type_name(type);
    if (!name || strcmp(name, "unknown") == 0) {
        snprintf(buf, 16, "type %u", type);
        return buf;
    }
    return name;
}

/* ---- the query, in a child process ------------------------------------------ */

/*
 * The child describes the plugin to the parent as lines of tab-separated
 * fields. Strings are written "=" + g_strescape() (so they hold no tab,
 * newline or non-ASCII byte) or "!" for NULL:
 *
 *   status ok|error
 *   reason =TEXT
 *   abi MAJOR MINOR
 *   info =VERSION =LICENSE =DESCRIPTION =ORIGIN
 *   channel TYPE FLAGS MAX_MESSAGE_SIZE =NAME
 *   cap CAP =NAME                      (of the channel above)
 *   iface =TYPE =SUBTYPE MAJOR MINOR
 *   end
 */
static void put_str(GString *out, const char *s)
{
    g_string_append_c(out, '\t');
    if (!s) {
        g_string_append_c(out, '!');
        return;
    }
    g_autofree char *escaped = g_strescape(s, NULL);
    g_string_append_c(out, '=');
    g_string_append(out, escaped);
}

static void describe_descriptor(GString *out, const SpicePluginDescriptor *d)
{
    g_string_append(out, "info");
    put_str(out, d->version);
    put_str(out, d->license);
    put_str(out, d->description);
    put_str(out, d->origin);
    g_string_append_c(out, '\n');
    for (const SpiceChannelClass *const *k = d->channels; k && *k; k++) {
        g_string_append_printf(out, "channel\t%u\t%u\t%u", (*k)->type, (*k)->flags,
                               (*k)->max_message_size);
        put_str(out, (*k)->name);
        g_string_append_c(out, '\n');
        for (uint32_t i = 0; i < (*k)->n_caps; i++) {
            g_string_append_printf(out, "cap\t%u", (*k)->caps[i].cap);
            put_str(out, (*k)->caps[i].name);
            g_string_append_c(out, '\n');
        }
    }
    for (const SpiceInterfaceClass *const *k = d->interfaces; k && *k; k++) {
        g_string_append(out, "iface");
        put_str(out, (*k)->type);
        put_str(out, (*k)->subtype);
        g_string_append_printf(out, "\t%u\t%u\n", (*k)->major, (*k)->minor);
    }
}

/* A rejected plugin still says which ABI it was built for when its
 * descriptor carries our magic: the header layout never changes, and the
 * loader has just read these very fields. */
static void describe_rejected(GString *out, const char *path, const char *name)
{
    GModule *m = g_module_open(path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
    if (!m) {
        return;
    }
    g_autofree char *symbol = plugin_query_symbol(name);
    SpicePluginQueryFunc query = NULL;
    if (g_module_symbol(m, symbol, (gpointer *)&query) && query) {
        const SpicePluginDescriptor *d = query();
        if (d && d->magic == SPICE_PLUGIN_MAGIC) {
            g_string_append_printf(out, "abi\t%u\t%u\n", d->abi_major, d->abi_minor);
        }
    }
    g_module_close(m);
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

/* Runs in the child: open, query and validate, report, exit. Never
 * returns and never runs exit handlers that belong to the parent. */
static _Noreturn void query_child(const char *path, const char *name, int fd)
{
    /* A crash here is an expected outcome, not something to dump core for. */
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* Whatever the plugin prints must not end up in our (JSON) output. */
    dup2(STDERR_FILENO, STDOUT_FILENO);

    GString *out = g_string_new(NULL);
    GModule *module = NULL;
    const SpicePluginDescriptor *desc = NULL;
    GError *error = NULL;
    if (plugin_module_open(path, name, &module, &desc, &error)) {
        g_string_append_printf(out, "status\tok\nabi\t%u\t%u\n", desc->abi_major, desc->abi_minor);
        describe_descriptor(out, desc);
    } else {
        g_string_append(out, "status\terror\nreason");
        put_str(out, error->message);
        g_string_append_c(out, '\n');
        describe_rejected(out, path, name);
    }
    g_string_append(out, "end\n");
    write_all(fd, out->str, out->len);
    _exit(0);
}

/* ---- the query, seen from the parent ----------------------------------------- */

static bool get_str(const char *field, char **out)
{
    if (field[0] == '!' && field[1] == '\0') {
        *out = NULL;
        return true;
    }
    if (field[0] == '=') {
        *out = g_strcompress(field + 1);
        return true;
    }
    return false;
}

static bool get_u32(const char *field, uint32_t max, uint32_t *out)
{
    guint64 v;
    if (!g_ascii_string_to_unsigned(field, 10, 0, max, &v, NULL)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* Parse one answer line into r. False: the line is malformed. */
static bool parse_line(PluginReport *r, char **f, bool *saw_status)
{
    guint n = g_strv_length(f);
    const char *key = f[0];
    if (strcmp(key, "status") == 0 && n == 2) {
        *saw_status = true;
        if (strcmp(f[1], "ok") == 0) {
            r->status = STATUS_OK;
            r->have_descriptor = true;
            return true;
        }
        r->status = STATUS_ERROR;
        return strcmp(f[1], "error") == 0;
    }
    if (strcmp(key, "reason") == 0 && n == 2) {
        g_free(r->reason);
        return get_str(f[1], &r->reason) && r->reason;
    }
    if (strcmp(key, "abi") == 0 && n == 3) {
        uint32_t major, minor;
        if (!get_u32(f[1], UINT16_MAX, &major) || !get_u32(f[2], UINT16_MAX, &minor)) {
            return false;
        }
        r->have_abi = true;
        r->abi_major = (uint16_t)major;
        r->abi_minor = (uint16_t)minor;
        return true;
    }
    if (strcmp(key, "info") == 0 && n == 5) {
        return get_str(f[1], &r->version) && get_str(f[2], &r->license) &&
               get_str(f[3], &r->description) && get_str(f[4], &r->origin);
    }
    if (strcmp(key, "channel") == 0 && n == 5) {
        ChannelInfo *c = g_new0(ChannelInfo, 1);
        c->caps = g_array_new(FALSE, TRUE, sizeof(CapInfo));
        g_array_set_clear_func(c->caps, cap_info_clear);
        g_ptr_array_add(r->channels, c);
        uint32_t type;
        if (!get_u32(f[1], UINT8_MAX, &type) || !get_u32(f[2], UINT32_MAX, &c->flags) ||
            !get_u32(f[3], UINT32_MAX, &c->max_message_size)) {
            return false;
        }
        c->type = (uint8_t)type;
        return get_str(f[4], &c->class_name);
    }
    if (strcmp(key, "cap") == 0 && n == 3 && r->channels->len > 0) {
        ChannelInfo *c = g_ptr_array_index(r->channels, r->channels->len - 1);
        CapInfo cap = { 0, NULL };
        if (!get_u32(f[1], UINT32_MAX, &cap.cap) || !get_str(f[2], &cap.name)) {
            return false;
        }
        g_array_append_val(c->caps, cap);
        return true;
    }
    if (strcmp(key, "iface") == 0 && n == 5) {
        InterfaceInfo *i = g_new0(InterfaceInfo, 1);
        g_ptr_array_add(r->interfaces, i);
        return get_str(f[1], &i->type) && i->type && get_str(f[2], &i->subtype) &&
               get_u32(f[3], UINT32_MAX, &i->major) && get_u32(f[4], UINT32_MAX, &i->minor);
    }
    return false;
}

/* Fill r from the child's answer. False: incomplete or malformed. */
static bool parse_answer(PluginReport *r, const char *answer)
{
    g_auto(GStrv) lines = g_strsplit(answer, "\n", -1);
    bool saw_status = false;
    for (char **l = lines; *l; l++) {
        if (strcmp(*l, "end") == 0) {
            return saw_status && (r->status == STATUS_OK || r->reason);
        }
        g_auto(GStrv) fields = g_strsplit(*l, "\t", -1);
        if (!fields[0] || !parse_line(r, fields, &saw_status)) {
            return false;
        }
    }
    return false;
}

/* Read the child's whole answer, until EOF or the deadline. */
static bool read_answer(int fd, GString *answer, gint64 deadline, const char **problem)
{
    for (;;) {
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        if (left_ms <= 0) {
            *problem = "timeout";
            return false;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int ready = poll(&p, 1, (int)MIN(left_ms, 1000));
        if (ready < 0 && errno != EINTR) {
            *problem = g_strerror(errno);
            return false;
        }
        if (ready <= 0) {
            continue;
        }
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            *problem = g_strerror(errno);
            return false;
        }
        if (n == 0) {
            return true;
        }
        if (answer->len + (size_t)n > QUERY_MAX_ANSWER) {
            *problem = "the answer is too large";
            return false;
        }
        g_string_append_len(answer, chunk, n);
    }
}

/* Reap the child, killing it (by its pid) if it is still there at the
 * deadline. Returns its wait status; *killed says whether we killed it. */
static int reap_child(pid_t pid, gint64 deadline, bool *killed)
{
    int wstatus = 0;
    *killed = false;
    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);
        if (r == pid) {
            return wstatus;
        }
        if (r < 0 && errno != EINTR) {
            return 0;
        }
        if (g_get_monotonic_time() >= deadline) {
            kill(pid, SIGKILL);
            *killed = true;
            while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
            }
            return wstatus;
        }
        g_usleep(5000);
    }
}

/* Why a child: the query function and the plugin's constructors are
 * someone else's code. Whatever they do (crash, hang, exit) happens in a
 * process we can throw away, and r says what it was. */
static void query_plugin(PluginReport *r)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        report_fail(r, STATUS_ERROR, "%s: cannot query: pipe: %s", r->path, g_strerror(errno));
        return;
    }
    /* Nothing buffered may be written twice by a child that calls exit(). */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        report_fail(r, STATUS_ERROR, "%s: cannot query: fork: %s", r->path, g_strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        query_child(r->path, r->name, fds[1]);
    }
    close(fds[1]);

    gint64 deadline = g_get_monotonic_time() + QUERY_TIMEOUT_S * G_USEC_PER_SEC;
    g_autoptr(GString) answer = g_string_new(NULL);
    const char *problem = NULL;
    bool complete = read_answer(fds[0], answer, deadline, &problem);
    close(fds[0]);
    bool killed;
    int wstatus = reap_child(pid, complete ? deadline : 0, &killed);

    if (!complete && strcmp(problem, "timeout") == 0) {
        report_fail(r, STATUS_CRASHED,
                    "%s: did not answer within %d s while being queried (killed)", r->path,
                    QUERY_TIMEOUT_S);
    } else if (killed && complete) {
        report_fail(r, STATUS_CRASHED, "%s: did not exit within %d s after being queried (killed)",
                    r->path, QUERY_TIMEOUT_S);
    } else if (WIFSIGNALED(wstatus) && !killed) {
        int sig = WTERMSIG(wstatus);
        report_fail(r, STATUS_CRASHED, "%s: crashed while being queried (signal %d, %s)", r->path,
                    sig, strsignal(sig));
    } else if (!complete) {
        report_fail(r, STATUS_ERROR, "%s: cannot read the query result: %s", r->path, problem);
    } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) {
        report_fail(r, STATUS_ERROR, "%s: exited with status %d while being queried", r->path,
                    WEXITSTATUS(wstatus));
    } else if (!parse_answer(r, answer->str)) {
        report_fail(r, STATUS_ERROR, "%s: gave no complete answer while being queried", r->path);
    }
    if (r->status != STATUS_OK) {
        /* Nothing but the header of a rejected descriptor is trusted. */
        r->have_descriptor = false;
    }
}

/* ---- building the reports ------------------------------------------------------ */

/* Mirrors check_conflicts() in plugin-host.c: the server refuses a plugin
 * that claims a channel type or an interface a plugin loaded before it
 * already has. Returns the reason, or NULL. */
static char *find_conflict(const PluginReport *r, GPtrArray *accepted)
{
    for (guint i = 0; i < accepted->len; i++) {
        const PluginReport *other = g_ptr_array_index(accepted, i);
        for (guint k = 0; k < r->channels->len; k++) {
            const ChannelInfo *c = g_ptr_array_index(r->channels, k);
            for (guint o = 0; o < other->channels->len; o++) {
                const ChannelInfo *oc = g_ptr_array_index(other->channels, o);
                if (c->type == oc->type) {
                    char buf[16];
                    return g_strdup_printf("%s: channel type %u (%s) is already provided by "
                                           "plugin '%s' (%s)",
                                           r->path, c->type, channel_label(c->type, buf),
                                           other->name, other->path);
                }
            }
        }
        for (guint k = 0; k < r->interfaces->len; k++) {
            const InterfaceInfo *f = g_ptr_array_index(r->interfaces, k);
            for (guint o = 0; o < other->interfaces->len; o++) {
                const InterfaceInfo *of = g_ptr_array_index(other->interfaces, o);
                if (strcmp(f->type, of->type) == 0 && g_strcmp0(f->subtype, of->subtype) == 0) {
                    return g_strdup_printf("%s: interface '%s%s%s' is already served by plugin "
                                           "'%s' (%s)",
                                           r->path, f->type, f->subtype ? ":" : "",
                                           f->subtype ? f->subtype : "", other->name, other->path);
                }
            }
        }
    }
    return NULL;
}

static void set_enabled(PluginReport *r, const PluginConfig *config)
{
    const char *why = NULL;
    r->enabled = plugin_config_enabled(config, r->name, &why);
    r->enabled_reason = g_strdup(why);
    r->optional = plugin_config_optional(config, r->name);
}

/*
 * One report per plugin file, in the server's load order, plus one per
 * plugin the config enables by name that has no file. Plugins after
 * `last` (a name, or NULL for all) are left out: they cannot change the
 * verdict on earlier ones.
 */
static GPtrArray *build_reports(const PluginConfig *config, GPtrArray *files, const char *last,
                                const char *path_text)
{
    GPtrArray *reports = g_ptr_array_new_with_free_func(plugin_report_free);
    g_autoptr(GPtrArray) accepted = g_ptr_array_new();
    bool main_found = false;
    for (guint i = 0; i < files->len; i++) {
        const PluginFile *f = g_ptr_array_index(files, i);
        PluginReport *r = plugin_report_new(f->name, f->path, f->shadowed);
        g_ptr_array_add(reports, r);
        set_enabled(r, config);
        bool is_main = strcmp(f->name, "main") == 0;
        main_found |= is_main;
        if (!r->enabled) {
            /* The server refuses to start without main; anything else is
             * simply not loaded. Either way it is not opened. */
            r->status = is_main ? STATUS_ERROR : STATUS_DISABLED;
            r->reason = g_strdup(r->enabled_reason);
        } else {
            query_plugin(r);
            if (r->status == STATUS_OK) {
                char *conflict = find_conflict(r, accepted);
                if (conflict) {
                    r->status = STATUS_ERROR;
                    r->reason = conflict;
                } else {
                    g_ptr_array_add(accepted, r);
                }
            }
        }
        if (last && strcmp(f->name, last) == 0) {
            return reports;
        }
    }
    if (last) {
        return reports;
    }
    if (!main_found) {
        PluginReport *r = plugin_report_new("main", NULL, NULL);
        set_enabled(r, config);
        report_fail(r, STATUS_ERROR,
                    "the main channel plugin (libspice-plugin-main.so) is not in the plugin "
                    "path %s",
                    path_text);
        g_ptr_array_add(reports, r);
    }
    for (const char *const *req = plugin_config_requested(config); req && *req; req++) {
        bool found = false;
        for (guint i = 0; i < reports->len && !found; i++) {
            found = strcmp(((PluginReport *)g_ptr_array_index(reports, i))->name, *req) == 0;
        }
        if (found) {
            continue;
        }
        PluginReport *r = plugin_report_new(*req, NULL, NULL);
        set_enabled(r, config);
        report_fail(r, STATUS_ERROR,
                    "plugin '%s' is enabled but libspice-plugin-%s.so is not in the plugin "
                    "path %s",
                    *req, *req, path_text);
        g_ptr_array_add(reports, r);
    }
    return reports;
}

/* ---- text output ----------------------------------------------------------------- */

/* Plugin strings go to a terminal: no control characters, valid UTF-8. */
static char *printable(const char *s)
{
    if (!s) {
        return g_strdup("-");
    }
    char *copy = g_utf8_make_valid(s, -1);
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    return copy;
}

static char *channels_text(const PluginReport *r)
{
    if (r->channels->len == 0) {
        return g_strdup("-");
    }
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < r->channels->len; i++) {
        const ChannelInfo *c = g_ptr_array_index(r->channels, i);
        char buf[16];
        g_string_append_printf(s, "%s%s", i ? "," : "", channel_label(c->type, buf));
    }
    return g_string_free(s, FALSE);
}

static char *flags_text(uint32_t flags)
{
    GString *s = g_string_new(NULL);
    if (flags & SPICE_CHANNEL_CLASS_HANDLE_ACKS) {
        g_string_append(s, "ACKS ");
    }
    if (flags & SPICE_CHANNEL_CLASS_MULTI_INSTANCE) {
        g_string_append(s, "MULTI_INSTANCE ");
    }
    uint32_t unknown =
        flags & ~(uint32_t)(SPICE_CHANNEL_CLASS_HANDLE_ACKS | SPICE_CHANNEL_CLASS_MULTI_INSTANCE);
    if (unknown) {
        g_string_append_printf(s, "0x%x ", unknown);
    }
    if (s->len == 0) {
        g_string_append(s, "none ");
    }
    g_string_truncate(s, s->len - 1);
    return g_string_free(s, FALSE);
}

static void print_list(GPtrArray *reports, const char *path_text, const PluginConfig *config)
{
    int w_name = 4, w_channels = 8, w_version = 7;
    g_autoptr(GPtrArray) channels = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        char *text = channels_text(r);
        g_ptr_array_add(channels, text);
        w_name = MAX(w_name, (int)strlen(r->name));
        w_channels = MAX(w_channels, (int)strlen(text));
        w_version = MAX(w_version, r->version ? (int)strlen(r->version) : 1);
    }
    unsigned n_ok = 0, n_disabled = 0, n_failed = 0;
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        g_autofree char *name = printable(r->name);
        g_autofree char *version = printable(r->version);
        g_autofree char *description = printable(r->description);
        printf("%-*s  %-8s  %-*s  %-*s  %s\n", w_name, name, status_name(r->status), w_channels,
               (const char *)g_ptr_array_index(channels, i), w_version, version, description);
        if (r->reason) {
            g_autofree char *reason = printable(r->reason);
            printf("%*s  %s\n", w_name, "", reason);
        }
        n_ok += r->status == STATUS_OK;
        n_disabled += r->status == STATUS_DISABLED;
        n_failed += status_failed(r->status);
    }
    printf("%u plugin%s (%u ok, %u disabled, %u failed); search path: %s\n", reports->len,
           reports->len == 1 ? "" : "s", n_ok, n_disabled, n_failed, path_text);
    if (plugin_config_file(config)) {
        printf("config file: %s\n", plugin_config_file(config));
    }
}

static void print_details(const PluginReport *r)
{
    g_autofree char *name = printable(r->name);
    printf("Plugin %s\n", name);
    printf("  file:             %s\n", r->path ? r->path : "(not found in the search path)");
    if (r->shadowed) {
        printf("  shadowed:         %s (ignored: the file above comes first in the search "
               "path)\n",
               r->shadowed);
    }
    printf("  status:           %s\n", status_name(r->status));
    if (r->reason) {
        g_autofree char *reason = printable(r->reason);
        printf("  reason:           %s\n", reason);
    }
    printf("  enabled:          %s - %s\n", r->enabled ? "yes" : "no", r->enabled_reason);
    printf("  optional:         %s\n", r->optional ? "yes" : "no");
    if (r->have_abi) {
        printf("  plugin ABI:       built for %u.%u; this server provides %u.%u\n", r->abi_major,
               r->abi_minor, SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR);
    } else {
        printf("  plugin ABI:       unknown (%s); this server provides %u.%u\n",
               r->status == STATUS_DISABLED ? "not opened" : "no readable descriptor",
               SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR);
    }
    if (!r->have_descriptor) {
        return;
    }
    g_autofree char *version = printable(r->version);
    g_autofree char *license = printable(r->license);
    g_autofree char *description = printable(r->description);
    g_autofree char *origin = printable(r->origin);
    printf("  version:          %s\n", version);
    printf("  license:          %s\n", license);
    printf("  description:      %s\n", description);
    printf("  origin:           %s\n", origin);
    if (r->channels->len == 0) {
        printf("  channels:         none\n");
    }
    for (guint i = 0; i < r->channels->len; i++) {
        const ChannelInfo *c = g_ptr_array_index(r->channels, i);
        char buf[16];
        g_autofree char *class_name = printable(c->class_name);
        g_autofree char *flags = flags_text(c->flags);
        const char *label = channel_label(c->type, buf);
        if (label == buf) {
            printf("  channel %s, class \"%s\"\n", label, class_name);
        } else {
            printf("  channel %s (type %u), class \"%s\"\n", label, c->type, class_name);
        }
        printf("    flags:          %s\n", flags);
        printf("    max message:    %u bytes\n", c->max_message_size);
        if (c->caps->len == 0) {
            printf("    capabilities:   none\n");
        }
        for (guint k = 0; k < c->caps->len; k++) {
            const CapInfo *cap = &g_array_index(c->caps, CapInfo, k);
            g_autofree char *cap_name = cap->name ? printable(cap->name) : g_strdup("(unnamed)");
            printf("    %-16s%s (%u)\n", k == 0 ? "capabilities:" : "", cap_name, cap->cap);
        }
    }
    if (r->interfaces->len == 0) {
        printf("  interfaces:       none\n");
    }
    for (guint i = 0; i < r->interfaces->len; i++) {
        const InterfaceInfo *f = g_ptr_array_index(r->interfaces, i);
        g_autofree char *type = printable(f->type);
        g_autofree char *subtype = f->subtype ? printable(f->subtype) : NULL;
        printf("  %s  %s%s%s %u.%u\n", i == 0 ? "interfaces:     " : "                ", type,
               subtype ? ":" : "", subtype ? subtype : "", f->major, f->minor);
    }
}

/* ---- JSON output ----------------------------------------------------------------- */

/* A tiny pretty-printing writer: one member per line. */
typedef struct {
    GString *out;
    int depth;
    bool need_comma; /* the current container has a member already */
} JsonWriter;

/* Write s as a JSON string: invalid UTF-8 becomes U+FFFD, and quotes,
 * backslashes and control characters are escaped. */
static void json_escape(GString *out, const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                g_string_append_printf(out, "\\u%04x", *p);
            } else {
                g_string_append_c(out, (char)*p);
            }
        }
    }
    g_string_append_c(out, '"');
}

/* Start a member (key NULL inside arrays) on a new line. */
static void json_member(JsonWriter *w, const char *key)
{
    if (w->need_comma) {
        g_string_append_c(w->out, ',');
    }
    if (w->depth > 0) {
        g_string_append_printf(w->out, "\n%*s", w->depth * 2, "");
    }
    if (key) {
        json_escape(w->out, key);
        g_string_append(w->out, ": ");
    }
    w->need_comma = true;
}

static void json_open(JsonWriter *w, const char *key, char bracket)
{
    json_member(w, key);
    g_string_append_c(w->out, bracket);
    w->depth++;
    w->need_comma = false;
}

static void json_close(JsonWriter *w, char bracket)
{
    w->depth--;
    if (w->need_comma) {
        g_string_append_printf(w->out, "\n%*s", w->depth * 2, "");
    }
    g_string_append_c(w->out, bracket);
    w->need_comma = true;
}

static void json_str(JsonWriter *w, const char *key, const char *value)
{
    json_member(w, key);
    if (value) {
        json_escape(w->out, value);
    } else {
        g_string_append(w->out, "null");
    }
}

static void json_uint(JsonWriter *w, const char *key, unsigned long long value)
{
    json_member(w, key);
    g_string_append_printf(w->out, "%llu", value);
}

static void json_bool(JsonWriter *w, const char *key, bool value)
{
    json_member(w, key);
    g_string_append(w->out, value ? "true" : "false");
}

static void json_null(JsonWriter *w, const char *key)
{
    json_member(w, key);
    g_string_append(w->out, "null");
}

static void json_abi(JsonWriter *w, const char *key, unsigned major, unsigned minor)
{
    json_open(w, key, '{');
    json_uint(w, "major", major);
    json_uint(w, "minor", minor);
    json_close(w, '}');
}

static void json_plugin(JsonWriter *w, const char *key, const PluginReport *r)
{
    json_open(w, key, '{');
    json_str(w, "name", r->name);
    json_str(w, "file", r->path);
    json_str(w, "shadowed", r->shadowed);
    json_str(w, "status", status_name(r->status));
    json_str(w, "reason", r->reason);
    json_bool(w, "enabled", r->enabled);
    json_str(w, "enabled_reason", r->enabled_reason);
    json_bool(w, "optional", r->optional);
    json_str(w, "version", r->version);
    json_str(w, "license", r->license);
    json_str(w, "description", r->description);
    json_str(w, "origin", r->origin);
    if (r->have_abi) {
        json_abi(w, "abi", r->abi_major, r->abi_minor);
    } else {
        json_null(w, "abi");
    }
    json_open(w, "channels", '[');
    for (guint i = 0; i < r->channels->len; i++) {
        const ChannelInfo *c = g_ptr_array_index(r->channels, i);
        char buf[16];
        g_autofree char *flags = flags_text(c->flags);
        json_open(w, NULL, '{');
        json_uint(w, "type", c->type);
        json_str(w, "name", channel_label(c->type, buf));
        json_str(w, "class_name", c->class_name);
        json_uint(w, "flags", c->flags);
        json_open(w, "flag_names", '[');
        if (c->flags) {
            g_auto(GStrv) names = g_strsplit(flags, " ", -1);
            for (char **n = names; *n; n++) {
                json_str(w, NULL, *n);
            }
        }
        json_close(w, ']');
        json_uint(w, "max_message_size", c->max_message_size);
        json_open(w, "caps", '[');
        for (guint k = 0; k < c->caps->len; k++) {
            const CapInfo *cap = &g_array_index(c->caps, CapInfo, k);
            json_open(w, NULL, '{');
            json_uint(w, "cap", cap->cap);
            json_str(w, "name", cap->name);
            json_close(w, '}');
        }
        json_close(w, ']');
        json_close(w, '}');
    }
    json_close(w, ']');
    json_open(w, "interfaces", '[');
    for (guint i = 0; i < r->interfaces->len; i++) {
        const InterfaceInfo *f = g_ptr_array_index(r->interfaces, i);
        json_open(w, NULL, '{');
        json_str(w, "type", f->type);
        json_str(w, "subtype", f->subtype);
        json_uint(w, "major", f->major);
        json_uint(w, "minor", f->minor);
        json_close(w, '}');
    }
    json_close(w, ']');
    json_close(w, '}');
}

static void print_json(GPtrArray *reports, const PluginReport *only, char **dirs,
                       const PluginConfig *config)
{
    JsonWriter w = { .out = g_string_new(NULL) };
    json_open(&w, NULL, '{');
    json_open(&w, "search_path", '[');
    for (char **d = dirs; *d; d++) {
        json_str(&w, NULL, *d);
    }
    json_close(&w, ']');
    json_str(&w, "config_file", plugin_config_file(config));
    json_abi(&w, "server_abi", SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR);
    if (only) {
        json_plugin(&w, "plugin", only);
    } else {
        json_open(&w, "plugins", '[');
        for (guint i = 0; i < reports->len; i++) {
            json_plugin(&w, NULL, g_ptr_array_index(reports, i));
        }
        json_close(&w, ']');
    }
    json_close(&w, '}');
    g_string_append_c(w.out, '\n');
    fwrite(w.out->str, 1, w.out->len, stdout);
    g_string_free(w.out, TRUE);
}

/* ---- --check --------------------------------------------------------------------- */

/* A problem is an enabled plugin (or main, which cannot be disabled) that
 * the server would not load. Returns the number of problems. */
/* Like the server: a failing required plugin fails the check; a failing
 * optional one is reported but tolerated. */
static unsigned print_check(GPtrArray *reports, const PluginReport *only, bool quiet)
{
    unsigned problems = 0, tolerated = 0, enabled = 0;
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        if ((only && r != only) || r->status == STATUS_DISABLED) {
            continue;
        }
        enabled++;
        if (!status_failed(r->status)) {
            continue;
        }
        if (r->optional) {
            tolerated++;
        } else {
            problems++;
        }
        if (!quiet) {
            g_autofree char *reason = printable(r->reason);
            printf("%s%s: %s: %s\n", r->name, r->optional ? " (optional, skipped)" : "",
                   status_name(r->status), reason);
        }
    }
    if (!quiet) {
        if (problems) {
            printf("check failed: %u of %u enabled plugin%s cannot be loaded\n", problems, enabled,
                   enabled == 1 ? "" : "s");
        } else {
            printf("check passed: %u enabled plugin%s load%s and validate%s", enabled,
                   enabled == 1 ? "" : "s", enabled == 1 ? "s" : "", enabled == 1 ? "s" : "");
            if (tolerated) {
                printf(" (%u optional plugin%s skipped)", tolerated, tolerated == 1 ? "" : "s");
            }
            printf("\n");
        }
    }
    return problems;
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    gboolean opt_json = FALSE, opt_check = FALSE;
    g_autofree char *opt_config = NULL;
    GOptionEntry entries[] = {
        { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON instead of text", NULL },
        { "check", 'c', 0, G_OPTION_ARG_NONE, &opt_check,
          "Exit with status 0 only if every enabled plugin loads and validates", NULL },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config,
          "Use this deployment config file instead of the default", "FILE" },
        { NULL },
    };
    g_autoptr(GOptionContext) context = g_option_context_new("[NAME] - list channel plugins");
    g_option_context_add_main_entries(context, entries, NULL);
    g_option_context_set_summary(
        context, "Lists the channel plugins in the plugin search path: whether the server\n"
                 "would load each one and why. With NAME, shows everything about one plugin.\n"
                 "Enabled plugins are queried in a child process (init() is never called);\n"
                 "disabled plugins are not opened.");
    g_option_context_set_description(
        context, "Environment: SPICE_PLUGIN_PATH, SPICE_PLUGIN_CONFIG, SPICE_PLUGIN_ENABLE,\n"
                 "SPICE_PLUGIN_DISABLE (see plugin-loader.h).\n\n"
                 "Exit status: 0 on success; 1 if NAME is unknown or --check found a problem;\n"
                 "2 on a usage or config file error.\n");
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, TOOL_NAME ": %s (try --help)\n", error->message);
        return EXIT_USAGE;
    }
    if (argc > 2) {
        fprintf(stderr, TOOL_NAME ": at most one plugin name (try --help)\n");
        return EXIT_USAGE;
    }
    const char *only_name = argc == 2 ? argv[1] : NULL;

    g_autoptr(PluginConfig) config = plugin_config_load(opt_config, &error);
    if (!config) {
        fprintf(stderr, TOOL_NAME ": %s\n", error->message);
        return EXIT_USAGE;
    }
    g_auto(GStrv) dirs = plugin_search_path();
    g_autoptr(GPtrArray) files = plugin_scan(dirs);
    g_autofree char *path_text = g_strjoinv(":", dirs);

    if (only_name) {
        bool found = false;
        for (guint i = 0; i < files->len && !found; i++) {
            found = strcmp(((PluginFile *)g_ptr_array_index(files, i))->name, only_name) == 0;
        }
        if (!found) {
            fprintf(stderr,
                    TOOL_NAME ": no plugin named '%s' (no " PLUGIN_FILE_PREFIX
                              "%s" PLUGIN_FILE_SUFFIX " in the search path %s)\n",
                    only_name, only_name, path_text);
            return EXIT_PROBLEM;
        }
    }

    g_autoptr(GPtrArray) reports = build_reports(config, files, only_name, path_text);
    const PluginReport *only = only_name ? g_ptr_array_index(reports, reports->len - 1) : NULL;

    if (opt_json) {
        print_json(reports, only, dirs, config);
    } else if (only) {
        print_details(only);
    } else if (!opt_check) {
        print_list(reports, path_text, config);
    }
    if (opt_check) {
        if (only && !opt_json) {
            printf("\n");
        }
        return print_check(reports, only, opt_json) ? EXIT_PROBLEM : EXIT_SUCCESS;
    }
    return EXIT_SUCCESS;
}
