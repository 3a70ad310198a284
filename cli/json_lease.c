/* SPDX-License-Identifier: MIT */
/*
 * The JSON documents of leases, shared by the lease commands (cmd_lease.c) and the node
 * service (cmd_serve.c), so that `migctl leases --json` and GET /v1/leases print the same
 * objects.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

json_t *cli_lease_json(const struct mig_lease *l)
{
	json_t *owner = l->owner_pid > 0 ? json_pack("{s:I, s:I}", "pid", (json_int_t)l->owner_pid, "start_time",
						     (json_int_t)l->owner_start)
					 : json_null();
	return json_pack("{s:s, s:s, s:o, s:s?, s:f, s:I, s:s, s:I, s:s, s:I, s:I, s:s, s:o, s:f, s:o, s:s, s:s, s:b}",
			 "id", l->id, "state", mig_lease_state_name(l->state), "owner", owner, "name",
			 l->name[0] ? l->name : NULL, "ttl", l->ttl, "uid", (json_int_t)l->uid, "mig_uuid", l->mig_uuid, "gpu",
			 (json_int_t)l->gpu, "gpu_uuid", l->gpu_uuid, "gi", (json_int_t)l->gi_id, "ci", (json_int_t)l->ci_id,
			 "profile", l->profile, "placement", cli_placement_json(l->at), "created", l->created, "expires",
			 l->expires > 0 ? json_real(l->expires) : json_null(), "cdi", l->cdi, "env", l->env, "reused",
			 l->reused);
}

json_t *cli_release_json(const struct mig_lease *l)
{
	return json_pack("{s:s, s:s, s:s, s:b}", "released", l->id, "mig_uuid", l->mig_uuid, "instance",
			 l->destroyed ? "destroyed" : mig_lease_state_name(l->state), "destroyed", l->destroyed);
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
