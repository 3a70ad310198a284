/* SPDX-License-Identifier: MIT */
/*
 * Hooks at mig-parted's points, from a file in mig-parted's hooks format:
 *
 *   version: v1
 *   hooks:
 *     apply-start:      [{command: /bin/systemctl, args: [stop, kubelet], envs: {K: V}, workdir: /}]
 *     pre-apply-mode:   [...]   only when MIG mode changes
 *     pre-apply-config: [...]   only when instances change
 *     apply-exit:       [...]   always, last; MIGCTL_APPLY_STATUS is success or failure
 *
 * Commands run in order with a minimal environment (a fixed PATH, the hook's envs and
 * MIGCTL_HOOK, MIGCTL_CONFIG_FILE, MIGCTL_SELECTED_CONFIG); the first failure stops the
 * apply. Run as root, a hooks file that another user owns or can write is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

#include "internal.h"
#include "txn/hooks.h"

#define MAX_ARGS 64
#define MAX_ENVS 64
#define ENV_MAX 512 /* one NAME=value of envs, with its NUL */

static const char *const points[] = {"apply-start", "pre-apply-mode", "pre-apply-config", "apply-exit"};

static int bad(struct mig_error *err, const char *file, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(struct mig_error *err, const char *file, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof(err->msg), "%.200s:%zu:%zu: %.280s", file, n->start_mark.line + 1,
		 n->start_mark.column + 1, msg);
	err->status = MIG_E_INVALID;
	return -1;
}

static const char *str(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int hooks_load(const char *path, struct hooks *h, struct mig_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret = -1;

	memset(h, 0, sizeof(*h));
	mig_error_reset(err);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snprintf(err->msg, sizeof(err->msg), "cannot open hooks file %.300s: %s", path, strerror(errno)), -1;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return snprintf(err->msg, sizeof(err->msg), "cannot read hooks file %.300s", path), -1;
	}
	/* root must not run what someone else can change (cli/common.c) */
	if (mig_check_trusted_fd("hooks file", "its commands run as root", path, fd, err)) {
		fclose(f);
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err->msg, sizeof(err->msg), "%.300s:%zu:%zu: %.150s", path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	h->doc = malloc(sizeof(yaml_document_t));
	if (!h->doc)
		goto out;
	memcpy(h->doc, &doc, sizeof(doc));
	snprintf(h->file, sizeof(h->file), "%s", path);
	yaml_node_t *root = yaml_document_get_root_node(h->doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		snprintf(err->msg, sizeof(err->msg), "%.300s: a hooks file is a mapping with version: v1 and hooks", path);
		goto out;
	}
	const yaml_node_t *version = NULL, *hooks = NULL;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(h->doc, p->key), *v = yaml_document_get_node(h->doc, p->value);
		if (str(k) && strcmp(str(k), "version") == 0)
			version = v;
		else if (str(k) && strcmp(str(k), "hooks") == 0)
			hooks = v;
		else {
			bad(err, path, k, "unexpected field '%s'; a hooks file has version and hooks", str(k) ? str(k) : "?");
			goto out;
		}
	}
	if (!version || !str(version) || strcmp(str(version), "v1") != 0) {
		bad(err, path, version ? version : root, "a hooks file needs version: v1");
		goto out;
	}
	if (!hooks || hooks->type != YAML_MAPPING_NODE) {
		bad(err, path, hooks ? hooks : root, "'hooks' must map hook points to lists of commands");
		goto out;
	}
	for (yaml_node_pair_t *p = hooks->data.mapping.pairs.start; p < hooks->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(h->doc, p->key), *v = yaml_document_get_node(h->doc, p->value);
		int point = -1;
		for (int i = 0; i < HOOK_POINTS; i++)
			if (str(k) && strcmp(str(k), points[i]) == 0)
				point = i;
		if (point < 0) {
			bad(err, path, k, "unknown hook point '%s'; the points are apply-start, pre-apply-mode, "
					  "pre-apply-config and apply-exit",
			    str(k) ? str(k) : "?");
			goto out;
		}
		if (v->type != YAML_SEQUENCE_NODE) {
			bad(err, path, v, "hook point %s takes a list of commands", points[point]);
			goto out;
		}
		if (h->point[point]) {
			bad(err, path, k, "hook point %s is given twice", points[point]);
			goto out;
		}
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *cmd = yaml_document_get_node(h->doc, *it);
			if (cmd->type != YAML_MAPPING_NODE) {
				bad(err, path, cmd, "each hook is a mapping with command, args, envs, workdir");
				goto out;
			}
			bool has_command = false;
			for (yaml_node_pair_t *q = cmd->data.mapping.pairs.start; q < cmd->data.mapping.pairs.top; q++) {
				yaml_node_t *ck = yaml_document_get_node(h->doc, q->key), *cv = yaml_document_get_node(h->doc, q->value);
				const char *key = str(ck);
				if (key && strcmp(key, "command") == 0 && str(cv) && str(cv)[0] == '/') {
					has_command = true;
					/* root runs it: the same rule as for the hooks file (a command that is
					 * missing now fails when its point runs) */
					int cfd = open(str(cv), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
					int bad_owner = cfd >= 0 && mig_check_trusted_fd("hook command", "root runs it", str(cv), cfd, err);
					if (cfd >= 0)
						close(cfd);
					if (bad_owner) {
						char why[MIG_ERROR_MSG_MAX];
						snprintf(why, sizeof(why), "%s", err->msg);
						bad(err, path, cv, "%s", why);
						goto out;
					}
				} else if (key && strcmp(key, "command") == 0) {
					bad(err, path, cv, "command must be an absolute path (hooks run with a fixed PATH)");
					goto out;
				} else if (key && strcmp(key, "args") == 0 && cv->type == YAML_SEQUENCE_NODE) {
					/* checked here, not when the hook runs: a bad hooks file must fail before anything runs */
					size_t n = 0;
					for (yaml_node_item_t *a = cv->data.sequence.items.start; a < cv->data.sequence.items.top; a++, n++) {
						const yaml_node_t *an = yaml_document_get_node(h->doc, *a);
						if (!str(an)) {
							bad(err, path, an, "each argument in args must be a string");
							goto out;
						}
					}
					if (n >= MAX_ARGS) {
						bad(err, path, cv, "a hook takes at most %d arguments", MAX_ARGS - 1);
						goto out;
					}
				} else if (key && strcmp(key, "envs") == 0 && cv->type == YAML_MAPPING_NODE) {
					size_t n = 0;
					for (yaml_node_pair_t *e = cv->data.mapping.pairs.start; e < cv->data.mapping.pairs.top; e++, n++) {
						const yaml_node_t *ek = yaml_document_get_node(h->doc, e->key);
						const yaml_node_t *ev = yaml_document_get_node(h->doc, e->value);
						bool key_ok = str(ek) && str(ek)[0] && !strchr(str(ek), '=');
						if (!key_ok || !str(ev)) {
							bad(err, path, key_ok ? ev : ek,
							    "envs maps variable names to strings, e.g. envs: {NAME: value}");
							goto out;
						}
						if (strncmp(str(ek), "MIGCTL_", 7) == 0) {
							bad(err, path, ek, "envs cannot set %s: the MIGCTL_ variables are set by the change itself",
							    str(ek));
							goto out;
						}
						if (strlen(str(ek)) + strlen(str(ev)) + 2 > ENV_MAX) {
							bad(err, path, ev, "%s is too long: NAME=value takes at most %d characters", str(ek),
							    ENV_MAX - 1);
							goto out;
						}
					}
					if (n > MAX_ENVS) {
						bad(err, path, cv, "a hook takes at most %d envs", MAX_ENVS);
						goto out;
					}
				} else if (key && strcmp(key, "workdir") == 0 && str(cv))
					;
				else {
					bad(err, path, ck, "unexpected or malformed field '%s'; a hook has command (a path), args "
							   "(a list), envs (a mapping), workdir (a path)",
					    key ? key : "?");
					goto out;
				}
			}
			if (!has_command) {
				bad(err, path, cmd, "this hook has no command");
				goto out;
			}
		}
		h->point[point] = v;
	}
	ret = 0;
out:
	yaml_parser_delete(&parser);
	fclose(f);
	if (ret)
		hooks_free(h);
	return ret;
}

void hooks_free(struct hooks *h)
{
	if (h->doc) {
		yaml_document_delete(h->doc);
		free(h->doc);
	}
	memset(h, 0, sizeof(*h));
}

static const yaml_node_t *field(yaml_document_t *doc, const yaml_node_t *map, const char *name)
{
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++)
		if (str(yaml_document_get_node(doc, q->key)) && strcmp(str(yaml_document_get_node(doc, q->key)), name) == 0)
			return yaml_document_get_node(doc, q->value);
	return NULL;
}

int hooks_run(struct hooks *h, enum hook_point point, const char *const *extra_env, struct mig_error *err)
{
	const yaml_node_t *list = h->point[point];
	if (!list)
		return 0;
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		const yaml_node_t *cmd = yaml_document_get_node(h->doc, *it);
		const char *command = str(field(h->doc, cmd, "command"));
		const yaml_node_t *args = field(h->doc, cmd, "args"), *envs = field(h->doc, cmd, "envs");
		const char *workdir = str(field(h->doc, cmd, "workdir"));
		char *argv[MAX_ARGS + 2], *envp[MAX_ENVS + 16], envbuf[MAX_ENVS][ENV_MAX];
		size_t na = 0, ne = 0;

		argv[na++] = (char *)command;
		for (yaml_node_item_t *a = args ? args->data.sequence.items.start : NULL; a && a < args->data.sequence.items.top && na < MAX_ARGS; a++)
			argv[na++] = (char *)str(yaml_document_get_node(h->doc, *a));
		argv[na] = NULL;
		if (!envs || !field(h->doc, envs, "PATH")) /* envs may give its own PATH; one of each name */
			envp[ne++] = (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
		static char hookvar[64];
		snprintf(hookvar, sizeof(hookvar), "MIGCTL_HOOK=%s", points[point]);
		envp[ne++] = hookvar;
		for (size_t i = 0; extra_env && extra_env[i] && ne < MAX_ENVS; i++)
			envp[ne++] = (char *)extra_env[i];
		size_t nb = 0;
		for (yaml_node_pair_t *q = envs ? envs->data.mapping.pairs.start : NULL; q && q < envs->data.mapping.pairs.top && nb < MAX_ENVS; q++) {
			snprintf(envbuf[nb], sizeof(envbuf[nb]), "%s=%s", str(yaml_document_get_node(h->doc, q->key)),
				 str(yaml_document_get_node(h->doc, q->value)) ? str(yaml_document_get_node(h->doc, q->value)) : "");
			envp[ne++] = envbuf[nb++];
		}
		envp[ne] = NULL;
		for (size_t i = 1; i < na; i++)
			if (!argv[i])
				return snprintf(err->msg, sizeof(err->msg), "%.300s: hook %s: every argument must be a string", h->file,
						points[point]), -1;

		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0)
			return snprintf(err->msg, sizeof(err->msg), "hook %s: cannot fork: %s", points[point], strerror(errno)), -1;
		if (pid == 0) {
			/* a hook's output must not mix into migctl's (--json) */
			dup2(2, 1);
			if (workdir && chdir(workdir) != 0)
				_exit(126);
			execve(command, argv, envp);
			_exit(127);
		}
		int status;
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return snprintf(err->msg, sizeof(err->msg), "hook %s: wait: %s", points[point], strerror(errno)), -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (WIFEXITED(status))
				snprintf(err->msg, sizeof(err->msg), "hook %s: %.300s %s (exit status %d)", points[point], command,
					 WEXITSTATUS(status) == 127 ? "could not be run" : "failed", WEXITSTATUS(status));
			else
				snprintf(err->msg, sizeof(err->msg), "hook %s: %.300s was killed by signal %d", points[point], command,
					 WTERMSIG(status));
			err->status = MIG_E_HOOK;
			return -1;
		}
	}
	return 0;
}

int mig_hooks_check(const char *path, struct mig_error *err)
{
	struct hooks h;
	memset(&h, 0, sizeof(h));
	int rc = hooks_load(path, &h, err);
	hooks_free(&h);
	return rc;
}
