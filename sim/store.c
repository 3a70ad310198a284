/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"
#include "store.h"

#define STATE_MAX_BYTES (4u << 20)

static int private_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return sim_errorf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
	if (lstat(dir, &sb) != 0)
		return sim_errorf(err, errlen, "cannot inspect %s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return sim_errorf(err, errlen, "%s is not a directory (a symlink?); set MIGSIM_STATE to a path of your own",
			    dir);
	if (sb.st_uid != geteuid() || (sb.st_mode & 022))
		return sim_errorf(err, errlen,
			    "%s is not a private directory of this user; set MIGSIM_STATE to a path of your own", dir);
	return 0;
}

int sim_store_default_path(char *out, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("MIGSIM_STATE");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dir[PATH_MAX];

	if (env && *env) {
		if ((size_t)snprintf(out, len, "%s", env) >= len)
			return sim_errorf(err, errlen, "MIGSIM_STATE is too long");
		return 0;
	}
	if (xdg && *xdg)
		snprintf(dir, sizeof(dir), "%s/migsim", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/migsim-%u", (unsigned int)geteuid());
	if (private_dir(dir, err, errlen))
		return -1;
	if ((size_t)snprintf(out, len, "%s/state.json", dir) >= len)
		return sim_errorf(err, errlen, "state path is too long");
	return 0;
}

int sim_store_open(struct sim_store *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (path) {
		if ((size_t)snprintf(s->path, sizeof(s->path), "%s", path) >= sizeof(s->path))
			return sim_errorf(err, errlen, "state path is too long");
	} else if (sim_store_default_path(s->path, sizeof(s->path), err, errlen)) {
		return -1;
	}
	if ((size_t)snprintf(s->lock_path, sizeof(s->lock_path), "%s.lock", s->path) >= sizeof(s->lock_path))
		return sim_errorf(err, errlen, "state path is too long");
	const char *root = getenv("MIGSIM_ROOT");
	if (root && *root) {
		if ((size_t)snprintf(s->root, sizeof(s->root), "%s", root) >= sizeof(s->root))
			return sim_errorf(err, errlen, "MIGSIM_ROOT is too long");
	} else if ((size_t)snprintf(s->root, sizeof(s->root), "%s.root", s->path) >= sizeof(s->root)) {
		return sim_errorf(err, errlen, "state path is too long");
	}
	return 0;
}

int sim_store_sync_root(const struct sim_store *s, char *err, size_t errlen)
{
	char why[1024];
	if (sim_procfs_sync(s->root, &s->st, why, sizeof(why)))
		return sim_errorf(err, errlen, "simulator root %s (MIGSIM_ROOT): %s", s->root, why);
	return 0;
}

/* The state is the truth; a root that cannot be written (another user's) is said, not fatal:
 * readers of it then find its files missing, as on a node without the driver's files. */
static void sync_root_or_warn(const struct sim_store *s)
{
	char err[1200];
	if (sim_store_sync_root(s, err, sizeof(err)) && !sim_env_flag("MIGSIM_QUIET"))
		fprintf(stderr, "migsim: warning: %s\n", err);
}

void sim_store_close(struct sim_store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
	s->locked = false;
	free(s->text);
	s->text = NULL;
	s->loaded = false;
}

bool sim_store_exists(const struct sim_store *s)
{
	struct stat sb;
	return lstat(s->path, &sb) == 0;
}

int sim_store_lock(struct sim_store *s, char *err, size_t errlen)
{
	if (s->lock_fd < 0) {
		s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s->lock_fd < 0)
			return sim_errorf(err, errlen, "cannot open lock file %s: %s", s->lock_path, strerror(errno));
	}
	while (flock(s->lock_fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return sim_errorf(err, errlen, "cannot lock %s: %s", s->lock_path, strerror(errno));
	s->locked = true;
	return 0;
}

void sim_store_unlock(struct sim_store *s)
{
	if (s->locked)
		flock(s->lock_fd, LOCK_UN);
	s->locked = false;
}

/* Read the whole file; 1 when it does not exist, -1 (err set) on failure. The -1 is spelled
 * out rather than sim_errorf()'s result, so that static analysis sees *text set on 0. */
static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat sb;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		sim_errorf(err, errlen, "cannot open state file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > STATE_MAX_BYTES) {
		close(fd);
		sim_errorf(err, errlen, "state file %s is not a regular file of at most %u bytes", path,
			   STATE_MAX_BYTES);
		return -1;
	}
	size_t cap = (size_t)sb.st_size + 1, used = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		sim_errorf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			close(fd);
			sim_errorf(err, errlen, "cannot read state file %s: %s", path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used + 1 == cap)
			break;
	}
	close(fd);
	buf[used] = '\0';
	*text = buf;
	*len = used;
	return 0;
}

static int create_initial(struct sim_store *s, char *err, size_t errlen)
{
	char why[512];
	const char *gpus = getenv("MIGSIM_GPUS");

	if (sim_state_init(&s->st, gpus && *gpus ? gpus : NULL, why, sizeof(why)))
		return sim_errorf(err, errlen, "MIGSIM_GPUS=%s: %s", gpus ? gpus : "", why);
	s->loaded = true;
	return sim_store_save(s, err, errlen);
}

int sim_store_load(struct sim_store *s, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	char why[512];

	int r = read_file(s->path, &text, &len, err, errlen);
	if (r < 0)
		return -1;
	if (r == 1) {
		/* First use: create it under the lock, unless another process just did. */
		bool was_locked = s->locked;
		if (!was_locked && sim_store_lock(s, err, errlen))
			return -1;
		r = read_file(s->path, &text, &len, err, errlen);
		if (r == 1)
			r = create_initial(s, err, errlen);
		if (!was_locked)
			sim_store_unlock(s);
		if (r != 0 || !text)
			return r;
	}
	if (s->loaded && s->text && s->text_len == len && memcmp(s->text, text, len) == 0) {
		free(text);
		return 0;
	}
	if (sim_state_from_json(&s->st, text, len, why, sizeof(why))) {
		free(text);
		s->loaded = false;
		return sim_errorf(err, errlen,
			    "state file %s is not a valid simulator state (%s); fix or remove it, or run "
			    "'migsim init GPUS' to start over",
			    s->path, why);
	}
	free(s->text);
	s->text = text;
	s->text_len = len;
	s->loaded = true;
	/* the writer keeps the root current; a root never written (a state file from before it
	 * existed, or a removed root) is filled here */
	char minors[PATH_MAX + 64];
	snprintf(minors, sizeof(minors), "%s/proc/driver/nvidia-caps/mig-minors", s->root);
	if (access(minors, F_OK) != 0)
		sync_root_or_warn(s);
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int sim_store_save(struct sim_store *s, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 32];

	s->st.generation++;
	char *text = sim_state_to_json(&s->st);
	if (!text)
		return sim_errorf(err, errlen, "out of memory");
	size_t len = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", s->path, (long)getpid());
	unlink(tmp); /* a leftover of a killed writer with our pid */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(text);
		return sim_errorf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
	}
	bool ok = write_all(fd, text, len) == 0;
	/* Rename is atomic against kills; fsync only guards against power loss and costs ms. */
	if (ok && sim_env_flag("MIGSIM_FSYNC"))
		ok = fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, s->path) != 0) {
		int e = errno;
		unlink(tmp);
		free(text);
		return sim_errorf(err, errlen, "cannot write state file %s: %s", s->path, strerror(e));
	}
	free(s->text);
	s->text = text;
	s->text_len = len;
	s->loaded = true;
	sync_root_or_warn(s);
	return 0;
}
