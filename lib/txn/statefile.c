/* SPDX-License-Identifier: MIT */
/*
 * The files a transaction keeps: the node lock and the journal. Each is reached through its
 * directory, opened once and checked; every later access goes through that descriptor
 * (openat, renameat, unlinkat) and never follows a symbolic link at the file's name, so the
 * directory cannot be swapped after the check and a link planted at the name is refused.
 *
 * The default directory (state_dir, /run/migctl) is created mode 0700 and refused when it is
 * a symbolic link, not owned by this user, or writable by group or others. A file named
 * explicitly may live in a directory root owns, refused likewise when others can write it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "txn/statefile.h"

void mig_kept_close(struct mig_kept_file *k)
{
	if (k->dirfd >= 0)
		close(k->dirfd);
	k->dirfd = -1;
}

int mig_kept_open(struct mig_kept_file *k, const char *explicit_path, const char *state_dir, const char *name,
		  const char *noun, struct mig_error *err)
{
	char dir[PATH_MAX];
	const char *base = name;
	bool explicit_ = explicit_path && *explicit_path;
	struct stat sb;

	k->dirfd = -1;
	if (explicit_) {
		if ((size_t)snprintf(k->path, sizeof(k->path), "%s", explicit_path) >= sizeof(k->path))
			return mig_error_set(err, MIG_E_INVALID, "the path of %s is too long", noun);
		const char *slash = strrchr(k->path, '/');
		base = slash ? slash + 1 : k->path;
		size_t dlen = slash ? (size_t)(slash - k->path) : 0;
		if (!slash)
			strcpy(dir, ".");
		else if (dlen == 0)
			strcpy(dir, "/");
		else {
			memcpy(dir, k->path, dlen);
			dir[dlen] = '\0';
		}
		if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
			return mig_error_set(err, MIG_E_INVALID, "%s: %s does not name a file", noun, explicit_path);
	} else {
		if ((size_t)snprintf(dir, sizeof(dir), "%s", state_dir && *state_dir ? state_dir : "/run/migctl") >=
		    sizeof(dir) - NAME_MAX - 2)
			return mig_error_set(err, MIG_E_INVALID, "the state directory of %s is too long", noun);
		snprintf(k->path, sizeof(k->path), "%s/%s", dir, name);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return mig_error_set(err, MIG_E_IO, "cannot create %s for %s: %s", dir, noun, strerror(errno));
	}
	if (strlen(base) > NAME_MAX)
		return mig_error_set(err, MIG_E_INVALID, "%s %s: the name is too long", noun, k->path);
	strcpy(k->name, base);
	k->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (explicit_ ? 0 : O_NOFOLLOW));
	if (k->dirfd < 0) {
		if (!explicit_ && (errno == ELOOP || errno == ENOTDIR))
			return mig_error_set(err, MIG_E_PERMISSION,
					     "refusing to keep %s in %s: it is a symbolic link or not a directory; remove it "
					     "(it is created, mode 0700), or choose another place for it",
					     noun, dir);
		return mig_error_set(err, MIG_E_IO, "cannot open %s %s: %s", noun, k->path, strerror(errno));
	}
	const char *why = NULL;
	if (fstat(k->dirfd, &sb) != 0)
		why = "it cannot be inspected";
	else if (!S_ISDIR(sb.st_mode))
		why = "it is not a directory";
	else if (sb.st_uid != geteuid() && (!explicit_ || sb.st_uid != 0))
		why = explicit_ ? "it is owned by another user (neither you nor root)" : "it is owned by another user";
	else if (sb.st_mode & 022)
		why = "group or others can write it, so they could replace the files in it";
	if (why) {
		mig_kept_close(k);
		return mig_error_set(err, MIG_E_PERMISSION, "refusing to keep %s in %s: %s (owner uid %u, mode %03o); %s",
				     noun, dir, why, (unsigned int)sb.st_uid, (unsigned int)(sb.st_mode & 07777),
				     explicit_ ? "choose a directory that only you (or root) can write"
					       : "remove it (it is created, mode 0700), or choose another place for it");
	}
	return 0;
}

int mig_kept_check_file(const struct mig_kept_file *k, int fd, const char *noun, struct mig_error *err)
{
	struct stat sb;
	int r = fd >= 0 ? fstat(fd, &sb) : fstatat(k->dirfd, k->name, &sb, AT_SYMLINK_NOFOLLOW);
	if (r != 0)
		return errno == ENOENT && fd < 0
			       ? 0
			       : mig_error_set(err, MIG_E_IO, "cannot inspect %s %s: %s", noun, k->path, strerror(errno));
	if (S_ISLNK(sb.st_mode))
		return mig_error_set(err, MIG_E_PERMISSION,
				     "refusing %s %s: it is a symbolic link, which is never followed; remove it", noun,
				     k->path);
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink != 1)
		return mig_error_set(err, MIG_E_PERMISSION,
				     "refusing %s %s: it is not a plain file of this user with one link (owner uid %u, "
				     "%lu links); remove it",
				     noun, k->path, (unsigned int)sb.st_uid, (unsigned long)sb.st_nlink);
	return 0;
}

/* The pid a holder wrote into the lock, or 0; a pid left by a holder that was killed is stale. */
static long lock_holder(int fd)
{
	char holder[32];
	/* the holder writes its pid just after locking: give it a moment */
	for (int tries = 0; tries < 20; tries++) {
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		long other = strtol(holder, NULL, 10);
		if (strchr(holder, '\n') && other > 0 && (kill((pid_t)other, 0) == 0 || errno != ESRCH))
			return other;
		struct timespec brief = {0, 5 * 1000 * 1000};
		nanosleep(&brief, NULL);
	}
	return 0;
}

int mig_lock_take(const char *path_opt, const char *state_dir, double timeout,
		  void (*waiting)(long holder_pid, void *arg), void *arg, int *fd_out, struct mig_error *err)
{
	struct mig_kept_file lk;
	if (mig_kept_open(&lk, path_opt, state_dir, "apply.lock", "the node lock", err))
		return -1;
	int fd = openat(lk.dirfd, lk.name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int open_errno = errno;
	if (fd < 0) {
		mig_kept_close(&lk);
		if (open_errno == ELOOP)
			return mig_error_set(err, MIG_E_PERMISSION,
					     "refusing the node lock %s: it is a symbolic link, which is never followed; "
					     "remove it",
					     lk.path);
		return mig_error_set(err, MIG_E_IO, "cannot open the node lock %s: %s", lk.path, strerror(open_errno));
	}
	if (mig_kept_check_file(&lk, fd, "the node lock", err)) {
		mig_kept_close(&lk);
		close(fd);
		return -1;
	}
	mig_kept_close(&lk);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	bool said = false;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			close(fd);
			return mig_error_set(err, MIG_E_IO, "cannot lock %s: %s", lk.path, strerror(e));
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		double waited = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		long holder = lock_holder(fd);
		if (waited >= timeout) {
			close(fd);
			char who[32] = "?";
			if (holder)
				snprintf(who, sizeof(who), "%ld", holder);
			return mig_error_set(err, MIG_E_LOCKED,
					     "another change to this node (pid %s) holds %s; gave up after %.1f s",
					     who, lk.path, timeout);
		}
		if (!said && waiting) {
			waiting(holder, arg);
			said = true;
		}
		/* Poll often: a waiter that sleeps long loses the lock, each time it is free, to
		 * whoever asks in between (under 8 lease clients, a 50 ms poll let one client win
		 * round after round: p99 wait 18 s at 200 ms per driver operation, see
		 * bench/README.md). 2 ms, jittered so that waiters do not ask in step. */
		struct timespec ts = {0, (2000 + (long)(now.tv_nsec % 1000)) * 1000};
		nanosleep(&ts, NULL);
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	/* write, then cut: a reader never sees an empty file */
	if (pwrite(fd, pid, (size_t)len, 0) != len || ftruncate(fd, len) != 0) {
		int e = errno;
		close(fd);
		return mig_error_set(err, MIG_E_IO, "cannot write the node lock %s: %s", lk.path, strerror(e));
	}
	*fd_out = fd;
	return 0;
}

void mig_lock_release(int fd)
{
	if (fd < 0)
		return;
	/* leave no pid behind for the next change to blame */
	if (ftruncate(fd, 0) != 0) {
		/* nothing to do: the pid of a dead holder is ignored anyway */
	}
	close(fd);
}

int mig_kept_replace(const struct mig_kept_file *k, const char *text, size_t len)
{
	char tmp[NAME_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%.*s.tmp", NAME_MAX - 4, k->name);
	unlinkat(k->dirfd, tmp, 0);
	int fd = openat(k->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int e = mig_write_all(fd, text, len) == 0 ? 0 : errno;
	if (close(fd) != 0 || e || renameat(k->dirfd, tmp, k->dirfd, k->name) != 0) {
		e = e ? e : errno;
		unlinkat(k->dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

char *mig_kept_read(const struct mig_kept_file *k)
{
	int fd = openat(k->dirfd, k->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *text = NULL;
	if (mig_read_all(fd, 128u << 20, &text, NULL) != 0)
		text = NULL;
	int e = errno;
	close(fd);
	errno = e;
	return text;
}
