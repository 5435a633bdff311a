#include "vmm/boot/bios.h"

#include <errno.h>

#include "vmm/err.h"
#include "vmm/memmap.h"

int bios_check(const char *name, uint64_t size)
{
	if (!size)
		return err_set(-EINVAL, "-bios %s: file is empty", name);
	if (size > MM_FLASH_MAX_SIZE)
		return err_set(-EINVAL, "-bios %s: %llu bytes is larger than the %llu MiB "
			       "firmware window below 4 GiB", name, (unsigned long long)size,
			       (unsigned long long)(MM_FLASH_MAX_SIZE / MiB));
	if (!IS_ALIGNED(size, BIOS_SIZE_ALIGN))
		return err_set(-EINVAL, "-bios %s: size %llu is not a multiple of 64 KiB", name,
			       (unsigned long long)size);
	return 0;
}

void bios_map(struct bios_image *img)
{
	uint64_t size = img->blob.size, isa = MIN(size, MM_ISA_BIOS_ALIAS);
	uint8_t *base = img->blob.map;

	img->high = (struct bios_region){
		.gpa = MM_FLASH_TOP - size, .size = size, .host = base,
	};
	/* The reset code of a legacy BIOS runs in real mode from the
	 * F-segment, so the image's tail must also appear below 1 MiB. */
	img->isa = (struct bios_region){
		.gpa = MM_HIGH_RAM - isa, .size = isa, .host = base + (size - isa),
	};
}

int bios_load_file(const char *path, struct bios_image *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	/* Read at most one byte more than allowed, so that an oversized file
	 * gets bios_check()'s message rather than a generic one. */
	ret = boot_blob_read("-bios", path, MM_FLASH_MAX_SIZE + 1, &out->blob);
	if (ret)
		goto err;
	ret = bios_check(path, out->blob.size);
	if (ret)
		goto err_free;
	bios_map(out);
	return 0;

err_free:
	boot_blob_free(&out->blob);
err:
	if (ret == -EFBIG)
		ret = err_set(-EINVAL, "-bios %s: larger than the %llu MiB firmware window",
			      path, (unsigned long long)(MM_FLASH_MAX_SIZE / MiB));
	return ret;
}

void bios_free(struct bios_image *img)
{
	boot_blob_free(&img->blob);
	memset(img, 0, sizeof(*img));
}
