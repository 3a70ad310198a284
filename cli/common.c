/* SPDX-License-Identifier: MIT */
/* Loading the node, selecting GPUs, reporting errors, and JSON pieces the commands share. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../nvml/nvml_abi.h"
#include "cli.h"

void cli_print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

static int emit_error(struct cli *c, const char *msg, int nvml)
{
	fprintf(stderr, "migctl: %s\n", msg);
	if (c->json) {
		json_t *doc = json_pack("{s:{s:s}}", "error", "message", msg);
		if (!doc) { /* not UTF-8 (a byte of what was typed): JSON strings must be */
			char ascii[2048];
			size_t i = 0;
			for (; msg[i] && i + 1 < sizeof(ascii); i++)
				ascii[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
			ascii[i] = '\0';
			doc = json_pack("{s:{s:s}}", "error", "message", ascii);
		}
		if (nvml)
			json_object_set_new(json_object_get(doc, "error"), "nvml_return", json_integer(nvml));
		cli_print_json(doc);
		json_decref(doc);
	}
	return EXIT_FAIL;
}

int cli_fail(struct cli *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return emit_error(c, msg, 0);
}

int cli_fail_err(struct cli *c, const struct mig_error *err)
{
	char msg[2048];
	const char *hint = "";
	/* the permission, support and in-use hints are about changes, not about reading the node */
	switch (err->change || err->nvml == NVML_ERROR_GPU_IS_LOST ? err->nvml : NVML_SUCCESS) {
	case NVML_ERROR_NO_PERMISSION:
		hint = "; changing MIG mode needs root, and creating or destroying instances needs root or read "
		       "access to /proc/driver/nvidia/capabilities/mig/config";
		break;
	case NVML_ERROR_NOT_SUPPORTED:
		hint = "; is MIG mode enabled on this GPU? See 'migctl status'";
		break;
	case NVML_ERROR_IN_USE:
		hint = "; something still uses it (compute instances, or processes: see 'migctl status')";
		break;
	case NVML_ERROR_GPU_IS_LOST:
		hint = "; the GPU has fallen off the bus: check dmesg, then reset the GPU or reboot";
		break;
	default:
		break;
	}
	/* what the library cannot know: this tool's own ways out */
	if (err->status == MIG_E_LIBRARY)
		hint = "; point --nvml-lib or MIGCTL_NVML_LIB at libnvidia-ml.so.1, or use --sim to run on the simulator";
	else if (err->status == MIG_E_BUSY && !strstr(err->msg, "is leased"))
		hint = ". Stop its processes, or pass --force";
	snprintf(msg, sizeof(msg), "%s%s", err->msg, hint);
	return emit_error(c, msg, err->nvml);
}

/* The context, with --root applied (issue 11). */
static int new_ctx(struct cli *c, struct mig_error *err)
{
	if (mig_ctx_new(&c->ctx, c->nvml_lib, err))
		return -1;
	if (c->root && mig_ctx_set_root(c->ctx, c->root, err)) {
		mig_ctx_free(c->ctx);
		c->ctx = NULL;
		return -1;
	}
	return 0;
}

void cli_nvml_from_env(struct cli *c)
{
	/* $MIGCTL_NVML_LIB is migctl's (libmig reads no environment) */
	const char *env = getenv("MIGCTL_NVML_LIB");
	if (!c->nvml_lib && env && *env)
		c->nvml_lib = env;
}

int cli_load(struct cli *c)
{
	struct mig_error err;
	if (c->node)
		return 0;
	if (!c->ctx && new_ctx(c, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	bool partial = c->read_selected_only && c->gpu_selector;
	if (partial ? mig_node_read_gpus(c->ctx, c->gpu_selector, c->read_flags, &c->node, &err)
		    : mig_node_read(c->ctx, &c->node, c->read_flags, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	free(c->selected);
	c->selected = calloc(c->node->ngpus ? c->node->ngpus : 1, sizeof(bool));
	if (!c->selected) {
		cli_fail(c, "out of memory");
		return -1;
	}
	if (partial && c->node->ngpus > 0) {
		/* the node holds exactly the GPUs the selector names */
		for (size_t i = 0; i < c->node->ngpus; i++)
			c->selected[i] = true;
		return 0;
	}
	return cli_select(c);
}

int cli_require_admin(struct cli *c, unsigned int what)
{
	struct mig_error err;
	if (!c->ctx && new_ctx(c, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	if (mig_ctx_check_admin(c->ctx, what, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	return 0;
}

/* Show c->node (borrowed from a transaction) and select on it. */
static int use_node(struct cli *c, const struct mig_node *node)
{
	if (!c->node_borrowed)
		mig_node_free(c->node);
	c->node = (struct mig_node *)node; /* read only: the transaction owns it */
	c->node_borrowed = true;
	free(c->selected);
	c->selected = calloc(node->ngpus ? node->ngpus : 1, sizeof(bool));
	if (!c->selected)
		return cli_fail(c, "out of memory"), -1;
	return cli_select(c);
}

static void waiting_for_lock(long holder, void *arg)
{
	struct cli *c = arg;
	if (!c->json) {
		if (holder)
			fprintf(stderr, "migctl: waiting for another change to this node (pid %ld) to finish...\n", holder);
		else
			fprintf(stderr, "migctl: waiting for another change to this node to finish...\n");
	}
}

int cli_txn_begin_err(struct cli *c, unsigned int admin, double lock_timeout, const char *hooks_file,
		      const char *const *hook_env, struct mig_txn **out, struct mig_error *err)
{
	char dir[PATH_MAX];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	/* the lock and journal live in a private directory: root's /run/migctl, else the user's own */
	if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/run/migctl");
	else if (xdg && *xdg)
		snprintf(dir, sizeof(dir), "%.*s/migctl", PATH_MAX - 64, xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/migctl-%u", (unsigned int)geteuid());
	struct mig_txn_options o = {
		.size = sizeof(o),
		.admin = admin,
		.state_dir = dir,
		.lock_path = getenv("MIGCTL_LOCK"),
		.journal_path = getenv("MIGCTL_JOURNAL"),
		.lock_timeout = lock_timeout,
		.hooks_file = hooks_file,
		.hook_env = hook_env,
		.read_flags = c->read_flags | MIG_READ_CAPACITY,
		.waiting = waiting_for_lock,
		.arg = c,
		.journal_info = c->journal_info,
	};
	mig_error_reset(err);
	if (!c->ctx && new_ctx(c, err))
		return -1;
	if (cli_consumers_watch(c)) {
		err->status = MIG_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "cannot watch the node's changes for the consumers");
		return -2;
	}
	if (mig_txn_begin(c->ctx, &o, out, err))
		return -1;
	if (use_node(c, mig_txn_node(*out))) {
		/* a selector that names no GPU here: end the transaction, nothing was done */
		struct mig_error end_err;
		cli_txn_end(c, *out, false, &end_err);
		*out = NULL;
		err->status = MIG_E_NOT_FOUND;
		snprintf(err->msg, sizeof(err->msg), "no GPU selected");
		return -2;
	}
	return 0;
}

int cli_txn_begin(struct cli *c, unsigned int admin, double lock_timeout, const char *hooks_file,
		  const char *const *hook_env, struct mig_txn **out)
{
	struct mig_error err;
	int rc = cli_txn_begin_err(c, admin, lock_timeout, hooks_file, hook_env, out, &err);
	if (rc == 0 || rc == -2)
		return rc ? -1 : 0; /* -2: printed already */
	if (err.status == MIG_E_LOCKED) {
		char msg[MIG_ERROR_MSG_MAX + 64];
		snprintf(msg, sizeof(msg), "%s (raise --lock-timeout, or wait for it)", err.msg);
		return cli_fail(c, "%s", msg), -1;
	}
	return cli_fail_err(c, &err), -1;
}

int cli_txn_execute(struct cli *c, struct mig_txn *txn, const struct mig_plan *plan, struct mig_error *err)
{
	int rc = mig_txn_execute(txn, plan, err);
	if (use_node(c, mig_txn_node(txn)) && rc == 0) {
		mig_error_reset(err);
		err->status = MIG_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory after the change");
		return -1;
	}
	return rc;
}

int cli_txn_end(struct cli *c, struct mig_txn *txn, bool ok, struct mig_error *err)
{
	if (c->node_borrowed) {
		c->node = NULL;
		c->node_borrowed = false;
	}
	return mig_txn_end(txn, ok, err);
}

int cli_reload(struct cli *c)
{
	if (c->node_borrowed)
		c->node = NULL;
	c->node_borrowed = false;
	mig_node_free(c->node);
	c->node = NULL;
	return cli_load(c);
}

int cli_select(struct cli *c)
{
	struct mig_error err;
	if (c->node->ngpus == 0) {
		cli_fail(c, "no NVIDIA GPUs found");
		return -1;
	}
	if (mig_select_gpus(c->node, c->gpu_selector ? c->gpu_selector : "all", c->selected, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	return 0;
}

int cli_single_gpu(struct cli *c, const char *what)
{
	int found = -1;
	for (size_t i = 0; i < c->node->ngpus; i++) {
		if (!c->selected[i])
			continue;
		if (found >= 0) {
			cli_fail(c, "%s: instance ids are per GPU; choose one GPU with -i (this node has %zu)", what,
				 c->node->ngpus);
			return -1;
		}
		found = (int)i;
	}
	return found;
}

const char *cli_mode_name(enum mig_mode m)
{
	return m == MIG_MODE_ENABLED ? "enabled" : m == MIG_MODE_DISABLED ? "disabled" : "unsupported";
}

const char *cli_gpu_label(const struct mig_gpu *g)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "GPU %u (%s, %s)", g->index, g->name, g->pci_bus_id);
	return buf;
}

json_t *cli_placement_json(struct mig_placement p)
{
	return json_pack("{s:I, s:I}", "start", (json_int_t)p.start, "size", (json_int_t)p.size);
}

static json_t *processes_json(const struct mig_process *p, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:I, s:I}", "pid", (json_int_t)p[i].pid, "used_memory_mib",
						     (json_int_t)p[i].used_mib));
	return arr;
}

json_t *cli_gpu_json(const struct mig_gpu *g, bool with_instances)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:{s:s, s:s}}", "index", (json_int_t)g->index, "uuid", g->uuid,
			      "name", g->name, "pci_bus_id", g->pci_bus_id, "memory_mib", (json_int_t)g->memory_mib,
			      "mig_mode", "current", cli_mode_name(g->mode_current), "pending",
			      cli_mode_name(g->mode_pending));
	/* what a config's device-filter matches: "0x20B010DE" (device << 16 | vendor) */
	char id[16];
	snprintf(id, sizeof(id), "0x%08X", g->pci_device_id);
	json_object_set_new(o, "pci_device_id", json_string(id));
	snprintf(id, sizeof(id), "0x%08X", g->pci_subsystem_id);
	json_object_set_new(o, "pci_subsystem_id", json_string(id));
	if (!with_instances)
		return o;
	json_t *gis = json_array();
	for (size_t i = 0; i < g->ngis; i++) {
		const struct mig_gi *gi = &g->gis[i];
		json_t *cis = json_array();
		for (size_t k = 0; k < gi->ncis; k++) {
			const struct mig_ci *ci = &gi->cis[k];
			json_t *co = json_pack("{s:I, s:s, s:I, s:o, s:s}", "id", (json_int_t)ci->id, "profile", ci->profile,
					       "profile_id", (json_int_t)ci->profile_id, "placement",
					       cli_placement_json(ci->placement), "uuid", ci->uuid);
			json_object_set_new(co, "mig_index", ci->mig_index >= 0 ? json_integer(ci->mig_index) : json_null());
			json_object_set_new(co, "sms", json_integer(ci->sms));
			json_object_set_new(co, "memory_mib", json_integer((json_int_t)ci->memory_mib));
			json_object_set_new(co, "processes", processes_json(ci->procs, ci->nprocs));
			json_array_append_new(cis, co);
		}
		json_array_append_new(gis, json_pack("{s:I, s:s, s:I, s:o, s:o}", "id", (json_int_t)gi->id, "profile",
						     gi->profile, "profile_id", (json_int_t)gi->profile_id, "placement",
						     cli_placement_json(gi->placement), "compute_instances", cis));
	}
	json_object_set_new(o, "gpu_instances", gis);
	/* processes on the GPU itself (MIG off); MIG processes are listed under their devices */
	json_t *procs = json_array();
	for (size_t i = 0; i < g->nprocs; i++)
		if (g->proc_gi[i] == NVML_VALUE_NOT_AVAILABLE_U32)
			json_array_append_new(procs, json_pack("{s:I, s:I}", "pid", (json_int_t)g->procs[i].pid,
							       "used_memory_mib", (json_int_t)g->procs[i].used_mib));
	json_object_set_new(o, "processes", procs);
	return o;
}

static int owner_of(const struct mig_gpu *g, unsigned int unit)
{
	for (size_t i = 0; i < g->ngis; i++)
		if (unit >= g->gis[i].placement.start && unit < g->gis[i].placement.start + g->gis[i].placement.size)
			return (int)g->gis[i].id;
	return -1;
}

void cli_print_slices(const struct mig_gpu *g, const char *indent)
{
	printf("%smemory slices ", indent);
	for (unsigned int u = 0; u < g->grid; u++)
		printf(" %-4u", u);
	printf("\n%s              ", indent);
	for (unsigned int u = 0; u < g->grid; u++) {
		int owner = owner_of(g, u);
		if (owner < 0)
			printf("[ . ]");
		else
			printf("[%3d]", owner);
	}
	printf("\n");
}

/* Append to buf, counting what snprintf would have written; past len, nothing more is written
 * (and no pointer past the end of buf is formed). */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(*used < len ? buf + *used : NULL, *used < len ? len - *used : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

void cli_explain_no_room(const struct mig_gpu *g, const struct mig_gi_profile *p, const struct mig_placement *only,
			 char *buf, size_t len)
{
	size_t used = 0;
	bool any_free = false;
#define ADD(...) append(buf, len, &used, __VA_ARGS__)
	buf[0] = '\0';
	if (g->ngis) {
		ADD("; in use:");
		for (size_t i = 0; i < g->ngis; i++)
			ADD("%s GI %u (%s) at %u:%u", i ? "," : "", g->gis[i].id, g->gis[i].profile,
			    g->gis[i].placement.start, g->gis[i].placement.size);
	}
	for (size_t k = 0; k < p->nplacements; k++) {
		struct mig_placement pl = p->placements[k];
		bool first = true;
		if (only && (only->start != pl.start || only->size != pl.size))
			continue;
		for (size_t i = 0; i < g->ngis; i++) {
			struct mig_placement o = g->gis[i].placement;
			if (o.start < pl.start + pl.size && pl.start < o.start + o.size) {
				if (first)
					ADD("; %s fits at %u:%u after destroying", p->name, pl.start, pl.size);
				ADD("%s GI %u", first ? "" : ",", g->gis[i].id);
				first = false;
			}
		}
		if (first)
			ADD("; %u:%u is free", pl.start, pl.size);
		any_free |= first;
	}
	char rule[300];
	const struct mig_gi_profile *one[1] = {p};
	if (any_free && mig_explain_unfit(g, one, 1, rule, sizeof(rule))) /* the limit that blocks it, by name */
		ADD("; so a limit blocks it: %s", rule);
	else if (any_free) /* a free placement did not do: a limit blocks it */
		ADD("; so a limit of the profile blocks it: at most %u instance%s of %s, the media engines (+me, +me.all), "
		    "or the GPU's compute slices",
		    p->instance_count, p->instance_count == 1 ? "" : "s", p->name);
	else if (only) {
		bool any = false;
		for (size_t k = 0; k < p->nplacements; k++) {
			struct mig_placement pl = p->placements[k];
			bool free_pl = true;
			for (size_t i = 0; i < g->ngis; i++) {
				struct mig_placement o = g->gis[i].placement;
				free_pl &= !(o.start < pl.start + pl.size && pl.start < o.start + o.size);
			}
			if (free_pl) {
				ADD("%s%u:%u", any ? ", " : "; free placements of this profile: ", pl.start, pl.size);
				any = true;
			}
		}
	}
#undef ADD
}

int cli_parse_id_list(const char *s, unsigned int *out, size_t max, size_t *n)
{
	*n = 0;
	while (*s) {
		char *end;
		if (*s < '0' || *s > '9')
			return -1;
		unsigned long v = strtoul(s, &end, 10);
		if (v > 1000 || *n >= max)
			return -1;
		out[(*n)++] = (unsigned int)v;
		if (*end == ',' && end[1])
			s = end + 1;
		else if (*end == '\0')
			s = end;
		else
			return -1;
	}
	return *n > 0 ? 0 : -1;
}
