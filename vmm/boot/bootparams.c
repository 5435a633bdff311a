#include "vmm/boot/bootparams.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/err.h"

int boot_blob_read(const char *what, const char *path, uint64_t max, struct boot_blob *out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t size, done = 0;
	struct stat st;
	void *map;
	size_t map_size;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = err_set(-errno, "%s %s: %s", what, path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(-EINVAL, "%s %s: not a regular file", what, path);
		goto err_close;
	}
	size = (uint64_t)st.st_size;
	if (size > max || size > SIZE_MAX - page) {
		ret = err_set(-EFBIG, "%s %s: file is %llu bytes, more than the %llu allowed",
			      what, path, (unsigned long long)size, (unsigned long long)max);
		goto err_close;
	}
	/* Page-aligned and zero-padded, so a firmware image can back a
	 * memslot directly; an empty file still gets one page. */
	map_size = size ? ALIGN_UP((size_t)size, page) : page;
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		ret = err_set(-ENOMEM, "%s %s: cannot allocate %zu bytes", what, path, map_size);
		goto err_close;
	}
	while (done < size) {
		ssize_t n = pread(fd, (uint8_t *)map + done, (size_t)(size - done), (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = err_set(n < 0 ? -errno : -EIO, "%s %s: read failed at byte %llu: %s",
				      what, path, (unsigned long long)done,
				      n < 0 ? strerror(errno) : "file shrank while reading");
			goto err_unmap;
		}
		done += (uint64_t)n;
	}
	out->name_buf = strdup(path);
	if (!out->name_buf) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	close(fd);
	out->name = out->name_buf;
	out->data = map;
	out->size = size;
	out->map = map;
	out->map_size = map_size;
	return 0;

err_unmap:
	munmap(map, map_size);
err_close:
	close(fd);
	return ret;
}

void boot_blob_free(struct boot_blob *b)
{
	if (b->map)
		munmap(b->map, b->map_size);
	free(b->name_buf);
	memset(b, 0, sizeof(*b));
}

void boot_strings_free(char **strs, int n)
{
	int i;

	if (!strs)
		return;
	for (i = 0; i < n; i++)
		free(strs[i]);
	free(strs);
}

int boot_split_modules(const char *spec, char ***out)
{
	size_t len = strlen(spec), i, o;
	char **strs = NULL, *cur;
	int n = 0, ret;

	*out = NULL;
	/* One entry per unescaped comma, plus the last one. */
	cur = malloc(len + 1);
	if (!cur)
		return -ENOMEM;
	for (i = 0, o = 0; i <= len; i++) {
		char **grown;

		if (spec[i] == ',' && spec[i + 1] == ',') {
			cur[o++] = ',';
			i++;
			continue;
		}
		if (spec[i] && spec[i] != ',') {
			cur[o++] = spec[i];
			continue;
		}
		cur[o] = 0;
		if (!o || cur[0] == ' ') {
			ret = err_set(-EINVAL, "-initrd %s: module %d has no file name", spec, n + 1);
			goto err;
		}
		grown = realloc(strs, (size_t)(n + 1) * sizeof(*strs));
		if (!grown) {
			ret = -ENOMEM;
			goto err;
		}
		strs = grown;
		strs[n] = strdup(cur);
		if (!strs[n]) {
			ret = -ENOMEM;
			goto err;
		}
		n++;
		o = 0;
	}
	free(cur);
	*out = strs;
	return n;

err:
	boot_strings_free(strs, n);
	free(cur);
	return ret;
}

void boot_modules_free(struct boot_module *mods, int n)
{
	int i;

	if (!mods)
		return;
	for (i = 0; i < n; i++) {
		boot_blob_free(&mods[i].file);
		free(mods[i].string_buf);
	}
	free(mods);
}

int boot_modules_read(const char *spec, uint64_t max, struct boot_module **out)
{
	struct boot_module *mods;
	char **strs;
	int n, i, ret;

	*out = NULL;
	n = boot_split_modules(spec, &strs);
	if (n < 0)
		return n;
	mods = calloc((size_t)n, sizeof(*mods));
	if (!mods) {
		boot_strings_free(strs, n);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		char *space = strchr(strs[i], ' ');

		/* The kernel sees "PATH ARGS"; only PATH is opened. */
		mods[i].string_buf = strs[i];
		mods[i].string = strs[i];
		strs[i] = NULL;
		if (space)
			*space = 0;
		ret = boot_blob_read("-initrd", mods[i].string_buf, max, &mods[i].file);
		if (space)
			*space = ' ';
		if (ret < 0)
			goto err;
	}
	free(strs);
	*out = mods;
	return n;

err:
	boot_modules_free(mods, n);
	boot_strings_free(strs, n);
	return ret;
}

int boot_copy(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len,
	      uint64_t total, const char *what)
{
	uint8_t *p;

	if (total < len)
		total = len;
	if (!total)
		return 0;
	p = gmem_ptr(gm, gpa, total, true);
	if (!p)
		return err_set(-EFAULT, "%s [%#llx, +%#llx) is not in guest RAM", what,
			       (unsigned long long)gpa, (unsigned long long)total);
	if (len)
		memcpy(p, src, len);
	memset(p + len, 0, total - len);
	return 0;
}
