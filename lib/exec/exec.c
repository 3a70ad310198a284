/* SPDX-License-Identifier: MIT */
/*
 * Carrying a plan out: its operations in order through NVML, and after a failure the undoing
 * that leaves no GPU instance without compute instances.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"


int mig_op_format(const struct mig_op *op, char *buf, size_t len)
{
	static const char *const verbs[] = {"destroy compute instance", "destroy GPU instance", "disable MIG mode",
					    "enable MIG mode", "create GPU instance", "create compute instance"};
	const char *verb = (unsigned int)op->kind < 6 ? verbs[op->kind] : "?";
	switch (op->kind) {
	case MIG_OP_DESTROY_CI:
		return snprintf(buf, len, "GPU %u: %s %u (%s) in GPU instance %u", op->gpu, verb, op->ci_id, op->profile,
				op->gi_id);
	case MIG_OP_DESTROY_GI:
		return snprintf(buf, len, "GPU %u: %s %u (%s at %u:%u)", op->gpu, verb, op->gi_id, op->profile, op->at.start,
				op->at.size);
	case MIG_OP_CREATE_GI:
		return snprintf(buf, len, "GPU %u: %s %s (profile ID %u) at placement %u:%u", op->gpu, verb, op->profile,
				op->profile_id, op->at.start, op->at.size);
	case MIG_OP_CREATE_CI:
		if (op->new_gi >= 0)
			return snprintf(buf, len, "GPU %u: %s %s in the new GPU instance at %u:%u", op->gpu, verb, op->profile,
					op->at.start, op->at.size);
		return snprintf(buf, len, "GPU %u: %s %s in GPU instance %u", op->gpu, verb, op->profile, op->gi_id);
	default:
		return snprintf(buf, len, "GPU %u: %s", op->gpu, verb);
	}
}

/* After a failed operation, leave no GPU instance without compute instances that the plan
 * did not mean to leave so: a GPU instance this apply created loses the compute instances
 * it got and goes; one whose compute instances this apply destroyed and that is left with
 * none is destroyed when the plan destroys it (unless its own destroy is what failed), else
 * gets them back at their placements (new MIG device UUIDs). Best effort: says in note what
 * it did or could not do. */
void mig_exec_roll_back(struct mig_ctx *ctx, const struct mig_plan *plan, size_t failed, const bool *ok,
		      const unsigned int *ids, char *note, size_t len)
{
	size_t removed = 0, restored = 0, finished = 0, failures = 0;
	struct mig_error e;
	note[0] = '\0';
	for (size_t k = 0; k < failed; k++) {
		const struct mig_op *gi_op = &plan->ops[k];
		if (gi_op->kind != MIG_OP_CREATE_GI || !ok[k])
			continue;
		size_t want = 0, got = 0;
		for (size_t i = 0; i < plan->nops; i++)
			if (plan->ops[i].kind == MIG_OP_CREATE_CI && plan->ops[i].new_gi == (int)k) {
				want++;
				got += i < failed && ok[i];
			}
		if (got == want)
			continue;
		bool fine = true;
		for (size_t i = 0; i < failed; i++)
			if (plan->ops[i].kind == MIG_OP_CREATE_CI && plan->ops[i].new_gi == (int)k && ok[i])
				fine &= mig_ci_destroy(ctx, gi_op->gpu, ids[k], ids[i], &e) == 0;
		fine = fine && mig_gi_destroy(ctx, gi_op->gpu, ids[k], &e) == 0;
		removed += fine;
		failures += !fine;
	}
	for (size_t k = 0; k < failed; k++) {
		const struct mig_op *first = &plan->ops[k];
		if (first->kind != MIG_OP_DESTROY_CI || !ok[k])
			continue;
		bool seen = false; /* handle each GPU instance once, at its first destroyed compute instance */
		for (size_t i = 0; i < k && !seen; i++)
			seen = plan->ops[i].kind == MIG_OP_DESTROY_CI && ok[i] && plan->ops[i].gpu == first->gpu &&
			       plan->ops[i].gi_id == first->gi_id;
		unsigned int left;
		if (seen || mig_gi_count_cis(ctx, first->gpu, first->gi_id, &left, &e) || left > 0)
			continue;
		bool planned = false; /* the plan destroys it later, and that is not what failed */
		for (size_t i = failed + 1; i < plan->nops; i++)
			planned |= plan->ops[i].kind == MIG_OP_DESTROY_GI && plan->ops[i].gpu == first->gpu &&
				   plan->ops[i].gi_id == first->gi_id;
		if (planned && mig_gi_destroy(ctx, first->gpu, first->gi_id, &e) == 0) {
			finished++;
			continue;
		}
		bool fine = true;
		for (size_t i = k; i < failed; i++) {
			const struct mig_op *op = &plan->ops[i];
			if (op->kind == MIG_OP_DESTROY_CI && ok[i] && op->gpu == first->gpu && op->gi_id == first->gi_id)
				fine &= mig_ci_create(ctx, op->gpu, op->gi_id, op->profile_id, &op->ci_at, NULL, &e) == 0;
		}
		restored += fine;
		failures += !fine;
	}
	if (removed || restored || finished || failures)
		snprintf(note, len,
			 " (so that no GPU instance is left without compute instances: %zu new one(s) removed, %zu given "
			 "their compute instances back, %zu destroyed as planned%s)",
			 removed, restored, finished, failures ? "; some could not be" : "");
}

/* All or nothing: destroy what the plan created before operation failed, newest first. */
void mig_exec_undo_creates(struct mig_ctx *ctx, const struct mig_plan *plan, size_t failed, bool *ok,
			 const unsigned int *ids, char *note, size_t len)
{
	size_t gis = 0, cis = 0, stuck = 0, other = 0;
	struct mig_error e;
	for (size_t i = failed; i-- > 0;) {
		const struct mig_op *op = &plan->ops[i];
		if (!ok[i])
			continue;
		other += op->kind != MIG_OP_CREATE_CI && op->kind != MIG_OP_CREATE_GI;
		if (op->kind == MIG_OP_CREATE_CI) {
			unsigned int gi = op->new_gi >= 0 ? ids[op->new_gi] : op->gi_id;
			if (mig_ci_destroy(ctx, op->gpu, gi, ids[i], &e) == 0) {
				ok[i] = false;
				cis += op->new_gi < 0; /* counted with their GPU instance otherwise */
			} else {
				stuck++;
			}
		} else if (op->kind == MIG_OP_CREATE_GI) {
			bool empty = true;
			for (size_t k = i + 1; k < failed; k++)
				empty &= !(ok[k] && plan->ops[k].new_gi == (int)i);
			if (empty && mig_gi_destroy(ctx, op->gpu, ids[i], &e) == 0) {
				ok[i] = false;
				gis++;
			} else {
				stuck++;
			}
		}
	}
	if (stuck)
		snprintf(note, len, "; could not roll back %zu instance(s) this command had created", stuck);
	else if (gis && !other)
		snprintf(note, len, "; rolled back the %zu GPU instance(s) this command had created; nothing was changed",
			 gis);
	else if (cis && !other)
		snprintf(note, len, "; rolled back the %zu compute instance(s) this command had created; nothing was "
				    "changed",
			 cis);
	else if (!other)
		snprintf(note, len, "; nothing was changed");
	else
		note[0] = '\0'; /* destroys and mode changes cannot be undone: the caller says how far it got */
}

int mig_plan_apply(struct mig_ctx *ctx, const struct mig_plan *plan, size_t *done, enum mig_pending *pending,
		   const struct mig_apply_events *events, struct mig_error *err)
{
	static const struct mig_apply_events none = {NULL, NULL, NULL};
	/* new_ids[i]: the id operation i created (GPU or compute instance); ok[i]: it was done */
	unsigned int *new_ids = calloc(plan->nops ? plan->nops : 1, sizeof(*new_ids));
	bool *ok = calloc(plan->nops ? plan->nops : 1, sizeof(*ok));
	size_t nwaiting = 0, failed = plan->nops, ngpus = 1;
	for (size_t i = 0; i < plan->nops; i++)
		if (plan->ops[i].gpu >= ngpus)
			ngpus = plan->ops[i].gpu + 1;
	bool *waiting = calloc(ngpus, sizeof(*waiting)); /* GPUs whose mode change is pending */
	char which[256] = "";
	int ret = 0;
	if (!new_ids || !ok || !waiting) {
		free(new_ids);
		free(ok);
		free(waiting);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	*done = 0;
	if (!events)
		events = &none;
	for (size_t i = 0; i < plan->nops && ret == 0; i++) {
		const struct mig_op *op = &plan->ops[i];
		struct mig_mode_result res;
		if (i == plan->nmode_ops && events->before_instances && events->before_instances(events->arg, err)) {
			ret = -1;
			break;
		}
		if (waiting[op->gpu])
			continue;
		switch (op->kind) {
		case MIG_OP_DESTROY_CI:
			ret = mig_ci_destroy(ctx, op->gpu, op->gi_id, op->ci_id, err);
			break;
		case MIG_OP_DESTROY_GI:
			ret = mig_gi_destroy(ctx, op->gpu, op->gi_id, err);
			break;
		case MIG_OP_DISABLE_MIG:
		case MIG_OP_ENABLE_MIG: {
			bool enable = op->kind == MIG_OP_ENABLE_MIG;
			ret = mig_gpu_set_mig_mode(ctx, op->gpu, enable, &res, err);
			if (ret == 0 && res.current != (enable ? MIG_MODE_ENABLED : MIG_MODE_DISABLED)) {
				/* the rest of this GPU waits; the others go on */
				waiting[op->gpu] = true;
				if (pending)
					pending[op->gpu] = res.activation == NVML_ERROR_IN_USE	     ? MIG_PENDING_IN_USE
							   : res.activation == NVML_ERROR_RESET_REQUIRED ? MIG_PENDING_RESET
													 : MIG_PENDING_REBOOT;
				size_t used = strlen(which);
				snprintf(which + used, sizeof(which) - used, "%sGPU %u (%s)", nwaiting++ ? ", " : "", op->gpu,
					 res.activation == NVML_ERROR_RESET_REQUIRED ? "reset required" : "in use");
				continue;
			}
			break;
		}
		case MIG_OP_CREATE_GI:
			ret = mig_gi_create(ctx, op->gpu, op->profile_id, &op->at, &new_ids[i], NULL, err);
			break;
		case MIG_OP_CREATE_CI: {
			unsigned int gi = op->new_gi >= 0 ? new_ids[op->new_gi] : op->gi_id;
			ret = mig_ci_create(ctx, op->gpu, gi, op->profile_id, &op->ci_at, &new_ids[i], err);
			break;
		}
		}
		if (ret == 0) {
			ok[i] = true;
			(*done)++;
			if (events->progress)
				events->progress(op, i, new_ids[i], events->arg);
		} else {
			failed = i;
		}
	}
	if (ret && failed < plan->nops) {
		/* name the step, then undo what would leave a GPU instance without compute instances */
		char step[256], note[200], cause[MIG_ERROR_MSG_MAX];
		mig_op_format(&plan->ops[failed], step, sizeof(step));
		snprintf(cause, sizeof(cause), "%s", err ? err->msg : ""); /* err may be NULL */
		if (plan->atomic)
			mig_exec_undo_creates(ctx, plan, failed, ok, new_ids, note, sizeof(note));
		else
			mig_exec_roll_back(ctx, plan, failed, ok, new_ids, note, sizeof(note));
		if (err) {
			/* the cause matters most: the step and the note give way to it */
			int for_note = (int)strlen(note), for_step = (int)strlen(step);
			if (for_note > 190)
				for_note = 190;
			if (for_step > 150)
				for_step = 150;
			int for_cause = (int)sizeof(err->msg) - 64 - for_step - for_note;
			snprintf(err->msg, sizeof(err->msg), "operation %zu of %zu failed (%.*s): %.*s%.*s", failed + 1,
				 plan->nops, for_step, step, for_cause > 0 ? for_cause : 0, cause, for_note, note);
		}
	}
	free(new_ids);
	free(ok);
	free(waiting);
	if (ret == 0 && nwaiting)
		ret = mig_error_set(err, MIG_E_PENDING,
				    "the MIG mode change is pending on %s; those GPUs must be idle or reset before their "
				    "instances can be changed (the other GPUs were done)",
				    which);
	return ret;
}
