/* SPDX-License-Identifier: MIT */
/*
 * The JSON documents of leases, shared by the lease commands (cmd_lease.c) and the node
 * service (cmd_serve.c), so that `migctl leases --json` and GET /v1/leases print the same
 * objects.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* The MIG device's nodes in the order a process opens them (null when not known), and the
 * control nodes. */
static json_t *device_nodes(const struct mig_lease *l)
{
	if (!l->devnodes_known)
		return json_null();
	return json_pack("[o, o, o]", cli_devnode_json(&l->devnodes.gpu), cli_devnode_json(&l->devnodes.gi_cap),
			 cli_devnode_json(&l->devnodes.ci_cap));
}

static json_t *control_nodes(const struct mig_lease *l)
{
	json_t *a = json_array();
	for (size_t i = 0; i < l->ncontrol && i < sizeof(l->control) / sizeof(l->control[0]); i++)
		json_array_append_new(a, cli_devnode_json(&l->control[i]));
	return a;
}

static json_t *add_nodes(json_t *o, const struct mig_lease *l)
{
	if (!o)
		return NULL;
	json_object_set_new(o, "device_nodes", device_nodes(l));
	json_object_set_new(o, "device_nodes_error", l->devnodes_known ? json_null() : json_string(l->devnodes_error));
	json_object_set_new(o, "control_nodes", control_nodes(l));
	return o;
}

json_t *cli_lease_json(const struct mig_lease *l)
{
	json_t *owner = l->owner_pid > 0 ? json_pack("{s:I, s:I}", "pid", (json_int_t)l->owner_pid, "start_time",
						     (json_int_t)l->owner_start)
					 : json_null();
	json_t *o = json_pack(
	    "{s:s, s:s, s:o, s:s?, s:f, s:I, s:s, s:I, s:s, s:I, s:I, s:s, s:o, s:f, s:o, s:s, s:s, s:b}", "id", l->id,
	    "state", mig_lease_state_name(l->state), "owner", owner, "name", l->name[0] ? l->name : NULL, "ttl", l->ttl,
	    "uid", (json_int_t)l->uid, "mig_uuid", l->mig_uuid, "gpu", (json_int_t)l->gpu, "gpu_uuid", l->gpu_uuid,
	    "gi", (json_int_t)l->gi_id, "ci", (json_int_t)l->ci_id, "profile", l->profile, "placement",
	    cli_placement_json(l->at), "created", l->created, "expires",
	    l->expires > 0 ? json_real(l->expires) : json_null(), "cdi", l->cdi, "env", l->env, "reused", l->reused);
	return add_nodes(o, l);
}

json_t *cli_release_json(const struct mig_lease *l)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "released", l->id, "mig_uuid", l->mig_uuid, "instance",
			      l->destroyed ? "destroyed" : mig_lease_state_name(l->state), "destroyed", l->destroyed);
	return add_nodes(o, l);
}

json_t *cli_capacity_json(const struct mig_capacity *c)
{
	return json_pack("{s:I, s:s, s:I, s:I}", "gpu", (json_int_t)c->gpu, "profile", c->profile, "now",
			 (json_int_t)c->now, "reclaimed", (json_int_t)c->reclaimed);
}

json_t *cli_leases_json(const struct mig_lease *ls, size_t n, const struct mig_lease_report *rep)
{
	json_t *arr = json_array(), *ids = json_array();
	char vanished[sizeof(rep->vanished_ids)];
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, cli_lease_json(&ls[i]));
	snprintf(vanished, sizeof(vanished), "%s", rep->vanished_ids);
	char *save = NULL;
	for (char *t = strtok_r(vanished, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(ids, json_string(t));
	return json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:o}}", "leases", arr, "reconciled", "ended",
			 (json_int_t)rep->ended, "destroyed", (json_int_t)rep->destroyed, "pooled", (json_int_t)rep->pooled,
			 "orphans", (json_int_t)rep->orphans, "draining", (json_int_t)rep->draining, "vanished", ids);
}

/* ---- text, from the same documents ------------------------------------------------------
 * The lease commands print text from the JSON above, whether it was made here (the library)
 * or came from the node service (cli/client.c): one printing path for both. */

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long jint(const json_t *o, const char *key)
{
	return (long long)json_number_value(json_object_get(o, key));
}

static double jreal(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* "  LABEL: /dev/x c MAJOR:MINOR, ..." with "(missing)" where no such node is there. */
static void print_nodes(FILE *f, const char *label, const json_t *nodes)
{
	fprintf(f, "  %s:", label);
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		const json_t *d = json_array_get(nodes, i);
		fprintf(f, "%s %s c %lld:%lld%s", i ? "," : "", jstr(d, "path"), jint(d, "major"), jint(d, "minor"),
			json_is_true(json_object_get(d, "exists")) ? "" : " (missing)");
	}
	fputc('\n', f);
}

void cli_lease_print_text(FILE *f, const json_t *l, bool renewed)
{
	const json_t *at = json_object_get(l, "placement");
	fprintf(f, "Lease %s: %s (%s on GPU %lld, GPU instance %lld, compute instance %lld, placement %lld:%lld)%s\n",
		jstr(l, "id"), jstr(l, "mig_uuid"), jstr(l, "profile"), jint(l, "gpu"), jint(l, "gi"), jint(l, "ci"),
		jint(at, "start"), jint(at, "size"),
		renewed ? ", renewed" : json_is_true(json_object_get(l, "reused")) ? ", reused from the pool" : "");
	long long pid = jint(json_object_get(l, "owner"), "pid");
	if (pid > 0)
		fprintf(f, "  owner: process %lld (the lease ends when it exits)\n", pid);
	double expires = jreal(l, "expires");
	const char *name = jstr(l, "name");
	if (expires > 0)
		fprintf(f, "  %s%s%sexpires: in %.0f s unless renewed\n", name[0] ? "name: " : "", name,
			name[0] ? ", " : "", expires - (double)time(NULL));
	fprintf(f, "  CDI device: %s\n  environment: %s\n", jstr(l, "cdi"), jstr(l, "env"));
	/* the device nodes, where the lease has them ("device_nodes": null when they are not known) */
	const json_t *dn = json_object_get(l, "device_nodes"), *cn = json_object_get(l, "control_nodes");
	if (json_is_array(dn))
		print_nodes(f, "device nodes", dn);
	else if (dn)
		fprintf(f, "  device nodes unknown: %s\n", jstr(l, "device_nodes_error"));
	if (json_array_size(cn))
		print_nodes(f, "control nodes", cn);
}

void cli_release_print_text(const json_t *doc)
{
	const char *inst = jstr(doc, "instance");
	printf("Released lease %s (%s): %s\n", jstr(doc, "released"), jstr(doc, "mig_uuid"),
	       strcmp(inst, "destroyed") == 0 ? "its instance was destroyed"
	       : strcmp(inst, "pooled") == 0  ? "its instance stays warm in the pool"
					      : "processes still run on its instance: it is destroyed once they exit");
}

void cli_leases_warn(const json_t *doc)
{
	const json_t *ids = json_object_get(json_object_get(doc, "reconciled"), "vanished");
	if (json_array_size(ids) == 0)
		return;
	fprintf(stderr, "migctl: warning: the instance of lease ");
	for (size_t i = 0; i < json_array_size(ids); i++)
		fprintf(stderr, "%s%s", i ? "," : "", json_string_value(json_array_get(ids, i)));
	fprintf(stderr, " vanished (destroyed by someone else); the lease ended\n");
}

void cli_leases_print_text(const json_t *doc)
{
	const json_t *rec = json_object_get(doc, "reconciled"), *ls = json_object_get(doc, "leases");
	if (jint(rec, "ended") || jint(rec, "orphans"))
		printf("Reconciled: %lld lease(s) ended, %lld orphan instance(s), %lld destroyed, %lld pooled\n",
		       jint(rec, "ended"), jint(rec, "orphans"), jint(rec, "destroyed"), jint(rec, "pooled"));
	if (json_array_size(ls) == 0)
		printf("No leases.\n");
	for (size_t i = 0; i < json_array_size(ls); i++) {
		const json_t *l = json_array_get(ls, i);
		char owner[96];
		long long pid = jint(json_object_get(l, "owner"), "pid");
		const char *name = jstr(l, "name");
		if (pid > 0)
			snprintf(owner, sizeof(owner), "pid %lld", pid);
		else if (name[0])
			snprintf(owner, sizeof(owner), "%s, %.0f s left", name, jreal(l, "expires") - (double)time(NULL));
		else
			snprintf(owner, sizeof(owner), "-");
		printf("%-11s %-8s uid %-5lld GPU %lld  %-12s %s  %s\n", jstr(l, "id"), jstr(l, "state"), jint(l, "uid"),
		       jint(l, "gpu"), jstr(l, "profile"), jstr(l, "mig_uuid"), owner);
	}
}

void cli_capacity_print_text(const json_t *arr)
{
	printf("%-4s %-16s %5s %15s\n", "GPU", "PROFILE", "FREE", "POOL RECLAIMED");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *e = json_array_get(arr, i);
		printf("%-4lld %-16s %5lld %15lld\n", jint(e, "gpu"), jstr(e, "profile"), jint(e, "now"),
		       jint(e, "reclaimed"));
	}
}
