/* SPDX-License-Identifier: MIT */
/* migctl internals: the command table's shared state and helpers. */
#ifndef MIGCTL_CLI_H
#define MIGCTL_CLI_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "../include/mig.h"

/* Exit codes (documented in migctl(8)). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_PENDING 3 /* a MIG mode change was accepted but waits for a reset or idle GPU */
#define EXIT_DIFFERS 4 /* assert: the GPUs differ from the configuration */

struct cli {
	bool json;
	int verbose;
	const char *gpu_selector; /* -i/--gpu; NULL: every GPU */
	const char *nvml_lib;     /* --nvml-lib, --sim or $MIGCTL_NVML_LIB */
	struct mig_ctx *ctx;
	struct mig_node *node;
	bool *selected; /* node->ngpus entries */
	unsigned int read_flags; /* what cli_load reads beyond the basics (enum mig_read_flags) */
	bool node_borrowed; /* node belongs to the transaction under way (cli_use_node) */
	const char *const *journal_info; /* "key=value" for the journal of the next transaction */
	/* set by read-only commands that use only node->gpus[i].index, never i, to name a GPU:
	 * cli_load then reads only the GPUs -i names (mig_node_read_gpus), and node->gpus holds
	 * just those (all selected) */
	bool read_selected_only;
	const char *root;        /* --root: device nodes and /proc read under it (issue 11) */
	struct mig_settings *settings; /* the consumers kept current (cli_consumers_watch) */
	bool consumers_refreshed;      /* a change refreshed them already */
};

/* The command line once the global options are taken out: the command and its arguments. */
struct cli_line {
	char *rest[256];
	int nrest;
	bool sim; /* --sim or --sim=GPUS: the caller finds the simulator and sets c->nvml_lib */
};

/* Take the global options (anywhere on the line) into c and line. Returns -1 to go on, or
 * an exit code after printing the usage error. */
int cli_parse_line(struct cli *c, int argc, char **argv, struct cli_line *line);
/* Run the command the line names; returns its exit code. */
int cli_run(struct cli *c, struct cli_line *line);
/* Free what running loaded (context, node, selection); c can be parsed into again. */
void cli_free(struct cli *c);
/* The whole of migctl: parse, find the simulator for --sim, run, free. */
int cli_main(int argc, char **argv);

/* --nvml-lib's default: $MIGCTL_NVML_LIB, when no library was named. */
void cli_nvml_from_env(struct cli *c);

/* Load NVML and read the node (once). Prints the error and returns -1 on failure. */
int cli_load(struct cli *c);
/* Before a change: load NVML (if not yet) and check that this process may make the changes
 * in what (enum mig_admin bits), without changing anything. Prints the error and returns -1
 * when not. */
int cli_require_admin(struct cli *c, unsigned int what);
/* Begin the transaction of a change (admin check, node lock, journal, apply-start hooks, node
 * read), with the lock and journal where $MIGCTL_LOCK, $MIGCTL_JOURNAL or the private default
 * directory say; c->node becomes the transaction's node. Prints the error and returns -1. */
int cli_txn_begin(struct cli *c, unsigned int admin, double lock_timeout, const char *hooks_file,
		  const char *const *hook_env, struct mig_txn **out);
/* The same without printing the library's error: 0; -1 with err filled (not printed); -2
 * when a step printed its own error (err says what, in short). For the service (cmd_serve.c). */
int cli_txn_begin_err(struct cli *c, unsigned int admin, double lock_timeout, const char *hooks_file,
		      const char *const *hook_env, struct mig_txn **out, struct mig_error *err);
/* Execute a plan in the transaction; c->node follows the node re-read after it. Returns 0 or
 * -1 with err filled (not printed). */
int cli_txn_execute(struct cli *c, struct mig_txn *txn, const struct mig_plan *plan, struct mig_error *err);
/* End it (apply-exit hooks told ok); 0, or -1 with err filled when an apply-exit hook failed. */
int cli_txn_end(struct cli *c, struct mig_txn *txn, bool ok, struct mig_error *err);
/* Re-read the node after changes. */
int cli_reload(struct cli *c);
/* Apply -i to the node: fills c->selected. */
int cli_select(struct cli *c);
/* The one selected GPU, for commands that act on instance ids; -1 (printed) if not exactly one. */
int cli_single_gpu(struct cli *c, const char *what);

/* "migctl: <msg>" on stderr, and {"error": ...} on stdout with --json. Returns EXIT_FAIL. */
int cli_fail(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a libmig error, adding what to do for NVML codes users hit. */
int cli_fail_err(struct cli *c, const struct mig_error *err);
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a JSON document (always with --json; the caller prints text otherwise). */
void cli_print_json(json_t *doc);

/* JSON pieces shared by commands. */
const char *cli_mode_name(enum mig_mode m);
json_t *cli_placement_json(struct mig_placement p);
json_t *cli_gpu_json(const struct mig_gpu *g, bool with_instances);
/* The slice picture: which GI holds each placement unit, "." for free. */
void cli_print_slices(const struct mig_gpu *g, const char *indent);
/* "GPU 0 (NVIDIA A100-SXM4-40GB, 00000000:07:00.0)" */
const char *cli_gpu_label(const struct mig_gpu *g);
/* Why a profile does not fit: which GIs block each placement (only that one if given). */
void cli_explain_no_room(const struct mig_gpu *g, const struct mig_gi_profile *p, const struct mig_placement *only,
			 char *buf, size_t len);

/* `migctl list --json`'s document of the loaded node's selected GPUs (cmd_show.c). */
json_t *cli_node_json(struct cli *c);
int cmd_list(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_mode(struct cli *c, int argc, char **argv);
int cmd_profiles(struct cli *c, int argc, char **argv);
int cmd_placements(struct cli *c, int argc, char **argv);
int cmd_ci_profiles(struct cli *c, int argc, char **argv);
int cmd_create(struct cli *c, int argc, char **argv);
int cmd_create_ci(struct cli *c, int argc, char **argv);
int cmd_destroy(struct cli *c, int argc, char **argv);
int cmd_mig(struct cli *c, int argc, char **argv);
int cmd_plan(struct cli *c, int argc, char **argv);
int cmd_apply(struct cli *c, int argc, char **argv);
int cmd_assert(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);

/* ---- issue 11: device nodes, CDI, consumers kept current (cli/cmd_cdi.c) ---- */
int cmd_cdi(struct cli *c, int argc, char **argv);
/* JSON of one MIG device's nodes (null when unknown) and of the node's (control nodes, majors). */
json_t *cli_ci_devnodes_json(const struct mig_ci *ci);
json_t *cli_node_devnodes_json(const struct mig_node *node);
/* After every command: bring the consumers /etc/migctl/migctl.conf (or $MIGCTL_CONF) names up
 * to date with the node as it now is; repairs what an interrupted change left. Prints a
 * warning when it cannot; never changes the command's exit code. */
void cli_consumers_after(struct cli *c);
/* Keep the configured consumers (CDI specs, nvidia-ctk) current from the transaction's
 * after-change event; 0, or -1 (printed). */
int cli_consumers_watch(struct cli *c);

/* Shared by create and the nvidia-smi spelling: create GIs (with -C their default CIs)
 * from a comma list of profiles on every selected GPU; nvidia_smi_words picks the wording. */
int cli_create_gis(struct cli *c, const char *profiles, const char *placement, bool default_ci,
		   bool nvidia_smi_words);
int cli_create_cis(struct cli *c, unsigned int gi_id, const char *profiles, bool nvidia_smi_words);
/* What destroy removes on the selected GPUs; an empty id list means any. */
enum destroy_mode {
	DESTROY_ALL,        /* every compute instance, then every GPU instance */
	DESTROY_GI_CASCADE, /* the listed GIs, their compute instances first */
	DESTROY_CIS,        /* the listed CIs in the listed GIs; GIs stay */
	DESTROY_GIS,        /* the listed GIs only (nvidia-smi -dgi): refused while they have CIs */
};
int cli_destroy(struct cli *c, enum destroy_mode mode, const unsigned int *gi_ids, size_t ngi,
		const unsigned int *ci_ids, size_t nci, bool force, bool nvidia_smi_words);
int cli_parse_id_list(const char *s, unsigned int *out, size_t max, size_t *n);


/* ---- issue 14: Slurm's gres.conf and task prolog (cli/cmd_slurm.c) ---- */
int cmd_slurm(struct cli *c, int argc, char **argv);
/* Rewrite the gres.conf at path (migctl.conf's slurm-gres) when it no longer matches node
 * (read with its device nodes); prints a warning when it cannot, never fails. */
void cli_slurm_gres_refresh(struct cli *c, const struct mig_node *node, const char *path);
/* ---- leases (cmd_lease.c, issue 12) ---- */
int cmd_lease(struct cli *c, int argc, char **argv);
int cmd_release(struct cli *c, int argc, char **argv);
int cmd_leases(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_capacity(struct cli *c, int argc, char **argv);
/* The JSON of a lease, of a release (`migctl release --json`) and of one capacity entry
 * (cli/json_lease.c; the service prints the same). */
json_t *cli_lease_json(const struct mig_lease *l);
json_t *cli_release_json(const struct mig_lease *l);
json_t *cli_capacity_json(const struct mig_capacity *c);
/* `migctl leases --json`: {"leases": [...], "reconciled": {...}} */
json_t *cli_leases_json(const struct mig_lease *ls, size_t n, const struct mig_lease_report *rep);
/* The lease policy of migctl.conf ($MIGCTL_CONF) and the table ($MIGCTL_LEASES); -1 with err
 * filled (not printed) when migctl.conf is unreadable. */
int cli_lease_options_err(struct cli *c, struct mig_settings *s, struct mig_lease_options *o, struct mig_error *err);
/* migctl.conf as the consumers read it ($MIGCTL_CONF, else /etc/migctl/migctl.conf unless the
 * node is simulated); defaults when there is none. -1 with err filled when it is unreadable. */
int cli_settings_read(struct cli *c, struct mig_settings *s, struct mig_error *err);
/* Mark leased instances in the transaction's node before planning (apply); -1 printed. */
int cli_mark_leased(struct cli *c, struct mig_txn *txn);
/* A plan made elsewhere (apply --plan) must not destroy a leased instance; -1 printed. */
int cli_plan_spares_leases(struct cli *c, struct mig_txn *txn, const struct mig_plan *plan);

/* ---- mig-parted compatibility (cmd_parted.c, issue 15) ---- */
/* nvidia-mig-parted's command line, as "migctl parted ..." or through an nvidia-mig-parted link. */
int cmd_parted(struct cli *c, int argc, char **argv);
/* main() for a binary invoked as nvidia-mig-parted (argv[0]'s last component). */
int cli_parted_main(int argc, char **argv);
bool cli_invoked_as_parted(const char *argv0);
/* The MIG_PARTED_ variables mig-parted gives its hooks (one per apply flag), from apply's own
 * arguments: fills buf and env (CLI_PARTED_ENVS entries at most) and returns how many. */
#define CLI_PARTED_ENVS 5
size_t cli_parted_hook_env(const char *file, const char *set, const char *hooks, bool mode_only, bool skip_reset,
			   char buf[][PATH_MAX + 40], const char **env);
/* --mode-only: a target whose GPU's MIG mode is already right is left alone (its instances are
 * not looked at); a GPU to enable gets no instances. */
void cli_targets_mode_only(const struct mig_node *node, struct mig_gpu_target *targets, bool mode_only);

#endif
