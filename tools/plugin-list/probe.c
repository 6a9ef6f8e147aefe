/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * probe.c: query one plugin file in a throw-away child process.
 *
 * The query function and the plugin's constructors are someone else's
 * code. Whatever they do (crash, hang, exit, print) happens in a child
 * that runs the loader's gate (plugin_module_query, then
 * plugin_descriptor_validate) and describes the result to the parent as
 * text; init() is never called. The parent rebuilds the descriptor from
 * that text in the ABI's own structs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin-list.h"

/* How long one plugin may take to answer its query. */
#define QUERY_TIMEOUT_S 5
/* An answer larger than this is not a description of a plugin. */
#define QUERY_MAX_ANSWER (1024 * 1024)

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

/* ---- the rebuilt descriptor ------------------------------------------------------ */

static void channel_class_free(gpointer data)
{
    SpiceChannelClass *k = data;
    for (uint32_t i = 0; i < k->n_caps; i++) {
        g_free((char *)k->caps[i].name);
    }
    g_free((SpiceChannelCap *)k->caps);
    g_free((char *)k->name);
    g_free(k);
}

static void interface_class_free(gpointer data)
{
    SpiceInterfaceClass *k = data;
    g_free((char *)k->type);
    g_free((char *)k->subtype);
    g_free((char *)k->portname);
    g_free(k);
}

void probe_description_free(SpicePluginDescriptor *d)
{
    if (!d) {
        return;
    }
    for (const SpiceChannelClass *const *k = d->channels; k && *k; k++) {
        channel_class_free((gpointer)*k);
    }
    for (const SpiceInterfaceClass *const *k = d->interfaces; k && *k; k++) {
        interface_class_free((gpointer)*k);
    }
    g_free((gpointer)d->channels);
    g_free((gpointer)d->interfaces);
    g_free((char *)d->version);
    g_free((char *)d->license);
    g_free((char *)d->description);
    g_free((char *)d->origin);
    g_free(d);
}

/* ---- the child ------------------------------------------------------------------- */

/*
 * The child describes the plugin to the parent as lines of tab-separated
 * fields. Strings are written "=" + g_strescape() (so they hold no tab,
 * newline or non-ASCII byte) or "!" for NULL:
 *
 *   status ok|error
 *   reason =TEXT
 *   abi MAJOR MINOR                    (whenever the header is readable)
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
        g_string_append_printf(out, "\t%u\t%u", (*k)->major, (*k)->minor);
        put_str(out, plugin_interface_portname(d, *k));
        g_string_append_c(out, '\n');
    }
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

/* Runs in the child: the loader's gate, report, exit. Never returns and
 * never runs exit handlers that belong to the parent. */
static _Noreturn void probe_child(const char *path, const char *name, int fd)
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
    uint16_t major, minor;
    bool queried = plugin_module_query(path, name, &module, &desc, &error);
    /* A rejected plugin still says which ABI it was built for. */
    if (queried && plugin_descriptor_abi(desc, &major, &minor)) {
        g_string_append_printf(out, "abi\t%u\t%u\n", major, minor);
    }
    if (queried && plugin_descriptor_validate(desc, path, name, &error)) {
        g_string_append(out, "status\tok\n");
        describe_descriptor(out, desc);
    } else {
        g_string_append(out, "status\terror\nreason");
        put_str(out, error->message);
        g_string_append_c(out, '\n');
    }
    g_string_append(out, "end\n");
    write_all(fd, out->str, out->len);
    _exit(0);
}

/* ---- the answer, seen from the parent -------------------------------------------- */

/* What the answer's lines have built so far. */
typedef struct {
    PluginReport *r;
    bool saw_status;
    SpicePluginDescriptor *desc; /* from the info line */
    GPtrArray *channels;         /* SpiceChannelClass *, owned */
    GPtrArray *interfaces;       /* SpiceInterfaceClass *, owned */
} Answer;

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

/* The same for a member of a rebuilt struct. */
static bool get_member(const char *field, const char **out)
{
    char *s = NULL;
    bool ok = get_str(field, &s);
    *out = s;
    return ok;
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

static bool parse_info(Answer *a, char **f)
{
    if (a->desc) {
        return false;
    }
    a->desc = g_new0(SpicePluginDescriptor, 1);
    a->desc->magic = SPICE_PLUGIN_MAGIC;
    a->desc->size = sizeof(SpicePluginDescriptor);
    return get_member(f[1], &a->desc->version) && get_member(f[2], &a->desc->license) &&
           get_member(f[3], &a->desc->description) && get_member(f[4], &a->desc->origin);
}

static bool parse_channel(Answer *a, char **f)
{
    SpiceChannelClass *k = g_new0(SpiceChannelClass, 1);
    k->size = sizeof(SpiceChannelClass);
    g_ptr_array_add(a->channels, k);
    uint32_t type;
    if (!get_u32(f[1], UINT8_MAX, &type) || !get_u32(f[2], UINT32_MAX, &k->flags) ||
        !get_u32(f[3], UINT32_MAX, &k->max_message_size)) {
        return false;
    }
    k->type = (uint8_t)type;
    return get_member(f[4], &k->name);
}

static bool parse_cap(Answer *a, char **f)
{
    if (a->channels->len == 0) {
        return false;
    }
    SpiceChannelClass *k = g_ptr_array_index(a->channels, a->channels->len - 1);
    SpiceChannelCap cap = { 0, NULL };
    if (!get_u32(f[1], UINT32_MAX, &cap.cap) || !get_member(f[2], &cap.name)) {
        return false;
    }
    SpiceChannelCap *caps = g_renew(SpiceChannelCap, (SpiceChannelCap *)k->caps, k->n_caps + 1);
    caps[k->n_caps++] = cap;
    k->caps = caps;
    return true;
}

static bool parse_interface(Answer *a, char **f)
{
    SpiceInterfaceClass *k = g_new0(SpiceInterfaceClass, 1);
    k->size = sizeof(SpiceInterfaceClass);
    g_ptr_array_add(a->interfaces, k);
    return get_member(f[1], &k->type) && k->type && get_member(f[2], &k->subtype) &&
           get_u32(f[3], UINT32_MAX, &k->major) && get_u32(f[4], UINT32_MAX, &k->minor) &&
           get_member(f[5], &k->portname);
}

/* Parse one answer line. False: the line is malformed. */
static bool parse_line(Answer *a, char **f)
{
    PluginReport *r = a->r;
    guint n = g_strv_length(f);
    const char *key = f[0];
    if (strcmp(key, "status") == 0 && n == 2) {
        a->saw_status = true;
        r->status = strcmp(f[1], "ok") == 0 ? STATUS_OK : STATUS_ERROR;
        return r->status == STATUS_OK || strcmp(f[1], "error") == 0;
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
        return parse_info(a, f);
    }
    if (strcmp(key, "channel") == 0 && n == 5) {
        return parse_channel(a, f);
    }
    if (strcmp(key, "cap") == 0 && n == 3) {
        return parse_cap(a, f);
    }
    if (strcmp(key, "iface") == 0 && n == 6) {
        return parse_interface(a, f);
    }
    return false;
}

/* NULL-terminate and hand over an array of classes. */
static gpointer steal_classes(GPtrArray **classes)
{
    g_ptr_array_set_free_func(*classes, NULL);
    g_ptr_array_add(*classes, NULL);
    return g_ptr_array_free(g_steal_pointer(classes), FALSE);
}

/* Fill r from the child's answer. False: incomplete or malformed. */
static bool parse_answer(PluginReport *r, const char *answer)
{
    Answer a = { .r = r };
    a.channels = g_ptr_array_new_with_free_func(channel_class_free);
    a.interfaces = g_ptr_array_new_with_free_func(interface_class_free);
    g_auto(GStrv) lines = g_strsplit(answer, "\n", -1);
    bool complete = false;
    for (char **l = lines; *l; l++) {
        if (strcmp(*l, "end") == 0) {
            complete =
                a.saw_status && (r->status == STATUS_OK ? a.desc != NULL : r->reason != NULL);
            break;
        }
        g_auto(GStrv) fields = g_strsplit(*l, "\t", -1);
        if (!fields[0] || !parse_line(&a, fields)) {
            break;
        }
    }
    /* Nothing but the header of a rejected descriptor is trusted. */
    if (complete && r->status == STATUS_OK) {
        a.desc->abi_major = r->abi_major;
        a.desc->abi_minor = r->abi_minor;
        a.desc->channels = steal_classes(&a.channels);
        a.desc->interfaces = steal_classes(&a.interfaces);
        r->desc = g_steal_pointer(&a.desc);
    }
    probe_description_free(a.desc);
    if (a.channels) {
        g_ptr_array_unref(a.channels);
    }
    if (a.interfaces) {
        g_ptr_array_unref(a.interfaces);
    }
    return complete;
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

void probe_plugin(PluginReport *r)
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
        probe_child(r->path, r->name, fds[1]);
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
        probe_description_free(g_steal_pointer(&r->desc));
    }
}
