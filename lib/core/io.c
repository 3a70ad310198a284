/* SPDX-License-Identifier: MIT */
/* The read and write loops every file the library keeps (journal, lease table, CDI spec,
 * /proc tables) goes through: whole buffers, EINTR retried, a size limit on reads. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

int mig_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mig_read_all(int fd, size_t max, char **text, size_t *len)
{
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if (used + 1 >= cap) {
			if (cap >= max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + used, cap - used - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	buf[used] = '\0';
	*text = buf;
	if (len)
		*len = used;
	return 0;
}
