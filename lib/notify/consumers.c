/* SPDX-License-Identifier: MIT */
/*
 * Keeping the node's consumers current after every change: the CDI spec, and nvidia-ctk's
 * own spec where the toolkit is installed and asked for. Called with a node snapshot taken
 * after the change (or at start-up, to repair what an interrupted change left).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* The file mig_cdi_write would write for this output. */
static void spec_path(const struct mig_settings *s, char *out, size_t len)
{
	size_t n = strlen(s->cdi_output);
	if (!mig_cdi_path_is_file(s->cdi_output))
		snprintf(out, len, "%.*s/%s-%s.%s", (int)(n > 1 && s->cdi_output[n - 1] == '/' ? n - 1 : n),
			 s->cdi_output, s->cdi_vendor, s->cdi_class, s->cdi_format == MIG_CDI_JSON ? "json" : "yaml");
	else
		snprintf(out, len, "%s", s->cdi_output);
}

/* Does path hold exactly text? */
static bool same_content(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct stat sb;
	bool same = false;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len && (sb.st_mode & 07777) == 0644) {
		char *buf = malloc(len + 1);
		size_t got = 0;
		while (buf && got < len) {
			ssize_t r = read(fd, buf + got, len - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		same = buf && got == len && memcmp(buf, text, len) == 0;
		free(buf);
	}
	close(fd);
	return same;
}

static int refresh_cdi(struct mig_ctx *ctx, struct mig_node *node, const struct mig_settings *s,
		       struct mig_refresh_result *res, struct mig_error *err)
{
	struct mig_cdi_options opt = {
		.vendor = s->cdi_vendor,
		.class_name = s->cdi_class,
		.driver_root = s->cdi_driver_root[0] ? s->cdi_driver_root : NULL,
		.format = s->cdi_format,
	};
	if ((!node->devnodes || s->cdi_mknod) &&
	    mig_node_read_devnodes(ctx, node, s->cdi_mknod ? MIG_DEVNODES_CREATE : 0, err))
		return -1;
	spec_path(s, res->cdi_path, sizeof(res->cdi_path));
	char *text;
	size_t len;
	if (mig_cdi_spec(node, &opt, &text, &len, err)) {
		/* A spec that cannot be rebuilt must not go on naming devices that may be gone. */
		if (err && err->status != MIG_E_NOMEM && unlink(res->cdi_path) == 0) {
			size_t used = strlen(err->msg);
			snprintf(err->msg + used, sizeof(err->msg) - used, "; removed the stale CDI spec %s", res->cdi_path);
		}
		return -1;
	}
	if (same_content(res->cdi_path, text, len)) {
		res->cdi_current = true;
		free(text);
		return 0;
	}
	int r = mig_cdi_write(s->cdi_output, &opt, text, len, res->cdi_path, sizeof(res->cdi_path), err);
	free(text);
	if (r == 0)
		res->cdi_written = true;
	return r;
}

static int run_ctk(const struct mig_settings *s, struct mig_refresh_result *res, struct mig_error *err)
{
	if (access(s->nvidia_ctk_path, X_OK) != 0) {
		res->ctk_missing = true; /* no toolkit: nothing to keep current */
		return 0;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return mig_error_set(err, MIG_E_INVALID, "cannot run %s: %s", s->nvidia_ctk_path, strerror(errno));
	char output[4200];
	snprintf(output, sizeof(output), "--output=%s", s->nvidia_ctk_output);
	pid_t pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return mig_error_set(err, MIG_E_INVALID, "cannot run %s: %s", s->nvidia_ctk_path, strerror(errno));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		dup2(pipefd[1], 2);
		execl(s->nvidia_ctk_path, s->nvidia_ctk_path, "cdi", "generate", output, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	char why[300];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(pipefd[0], why + got, got < sizeof(why) - 1 ? sizeof(why) - 1 - got : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (got == sizeof(why) - 1) { /* drain the rest */
				char sink[256];
				while (read(pipefd[0], sink, sizeof(sink)) > 0)
					;
			}
			break;
		}
		got += (size_t)r;
	}
	why[got] = '\0';
	close(pipefd[0]);
	char *nl = strchr(why, '\n');
	if (nl)
		*nl = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return mig_error_set(err, MIG_E_INVALID, "waiting for %s: %s", s->nvidia_ctk_path, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return mig_error_set(err, MIG_E_INVALID, "%s cdi generate %s failed (%s %d)%s%s", s->nvidia_ctk_path, output,
				     WIFEXITED(status) ? "exit" : "signal",
				     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), why[0] ? ": " : "", why);
	res->ctk_ran = true;
	return 0;
}

int mig_consumers_refresh(struct mig_ctx *ctx, struct mig_node *node, const struct mig_settings *settings,
			  struct mig_refresh_result *res, struct mig_error *err)
{
	struct mig_refresh_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!settings || (!settings->cdi && !settings->nvidia_ctk))
		return 0;
	int ret = 0;
	if (settings->cdi && refresh_cdi(ctx, node, settings, res, err))
		ret = -1;
	/* the toolkit's spec: whenever ours changed, or always when ours is not kept */
	if (ret == 0 && settings->nvidia_ctk && (!settings->cdi || res->cdi_written) && run_ctk(settings, res, err))
		ret = -1;
	return ret;
}
