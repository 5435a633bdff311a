#include "vmm/desc.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/err.h"

#define CHECK(x)                                                                       \
	do {                                                                           \
		int _r = (x);                                                          \
		if (_r < 0) {                                                          \
			r = err_set(-EINVAL, "device tree: %s: %s", #x, fdt_strerror(_r)); \
			goto fail;                                                     \
		}                                                                      \
	} while (0)

static int prop_reg64(void *fdt, uint64_t a, uint64_t s)
{
	fdt64_t v[2] = { cpu_to_fdt64(a), cpu_to_fdt64(s) };

	return fdt_property(fdt, "reg", v, sizeof(v));
}

static int add_bus_nodes(void *fdt, const struct bus *bus, bool io)
{
	unsigned i;
	char name[80];
	int r;

	if (!bus)
		return 0;
	for (i = 0; i < bus->n; i++) {
		const struct bus_range *br = &bus->ranges[i];
		const char *dn = br->ops->name ? br->ops->name : "device";

		snprintf(name, sizeof(name), "%s@%s%llx", dn, io ? "i" : "",
			 (unsigned long long)br->base);
		r = fdt_begin_node(fdt, name);
		if (r < 0)
			return r;
		if (io) {
			fdt32_t reg[3] = { cpu_to_fdt32(1), cpu_to_fdt32((uint32_t)br->base),
					   cpu_to_fdt32((uint32_t)br->len) };

			r = fdt_property(fdt, "reg", reg, sizeof(reg));
		} else {
			r = prop_reg64(fdt, br->base, br->len);
		}
		if (r < 0)
			return r;
		r = fdt_property_string(fdt, "kvmrun,model", dn);
		if (r < 0)
			return r;
		r = fdt_end_node(fdt);
		if (r < 0)
			return r;
	}
	return 0;
}

int desc_build(const struct desc_cfg *cfg, void **out, size_t *size)
{
	size_t cap = 64 * 1024;
	char name[64];
	void *fdt;
	int r = 0, i;

	fdt = malloc(cap);
	if (!fdt)
		return -ENOMEM;
	CHECK(fdt_create(fdt, (int)cap));
	CHECK(fdt_finish_reservemap(fdt));
	CHECK(fdt_begin_node(fdt, ""));
	snprintf(name, sizeof(name), "kvmrun,%s", cfg->model);
	CHECK(fdt_property_string(fdt, "compatible", name));
	CHECK(fdt_property_string(fdt, "model", name));
	CHECK(fdt_property_u32(fdt, "#address-cells", 2));
	CHECK(fdt_property_u32(fdt, "#size-cells", 2));

	CHECK(fdt_begin_node(fdt, "chosen"));
	if (cfg->bootargs)
		CHECK(fdt_property_string(fdt, "bootargs", cfg->bootargs));
	if (cfg->stdout_path)
		CHECK(fdt_property_string(fdt, "stdout-path", cfg->stdout_path));
	CHECK(fdt_end_node(fdt));

	for (i = 0; i < cfg->nr_ram; i++) {
		snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)cfg->ram[i].gpa);
		CHECK(fdt_begin_node(fdt, name));
		CHECK(fdt_property_string(fdt, "device_type", "memory"));
		CHECK(prop_reg64(fdt, cfg->ram[i].gpa, cfg->ram[i].size));
		CHECK(fdt_end_node(fdt));
	}

	CHECK(fdt_begin_node(fdt, "reserved-memory"));
	CHECK(fdt_property_u32(fdt, "#address-cells", 2));
	CHECK(fdt_property_u32(fdt, "#size-cells", 2));
	CHECK(fdt_property(fdt, "ranges", NULL, 0));
	for (i = 0; i < cfg->nr_reserved; i++) {
		snprintf(name, sizeof(name), "%s@%llx",
			 cfg->reserved[i].name ? cfg->reserved[i].name : "reserved",
			 (unsigned long long)cfg->reserved[i].gpa);
		CHECK(fdt_begin_node(fdt, name));
		CHECK(prop_reg64(fdt, cfg->reserved[i].gpa, cfg->reserved[i].size));
		CHECK(fdt_property(fdt, "no-map", NULL, 0));
		CHECK(fdt_end_node(fdt));
	}
	CHECK(fdt_end_node(fdt));

	CHECK(fdt_begin_node(fdt, "cpus"));
	CHECK(fdt_property_u32(fdt, "#address-cells", 1));
	CHECK(fdt_property_u32(fdt, "#size-cells", 0));
	for (i = 0; i < cfg->nr_cpus; i++) {
		snprintf(name, sizeof(name), "cpu@%x", i);
		CHECK(fdt_begin_node(fdt, name));
		CHECK(fdt_property_string(fdt, "device_type", "cpu"));
		CHECK(fdt_property_string(fdt, "compatible", "intel,x86-64"));
		CHECK(fdt_property_u32(fdt, "reg", (uint32_t)i));
		CHECK(fdt_end_node(fdt));
	}
	CHECK(fdt_end_node(fdt));

	/* I/O space: reg = <1 port size> as in the ISA binding. */
	CHECK(fdt_begin_node(fdt, "isa"));
	CHECK(fdt_property_string(fdt, "compatible", "isa"));
	CHECK(fdt_property_u32(fdt, "#address-cells", 2));
	CHECK(fdt_property_u32(fdt, "#size-cells", 1));
	CHECK(add_bus_nodes(fdt, cfg->pio, true));
	CHECK(fdt_end_node(fdt));

	CHECK(fdt_begin_node(fdt, "mmio"));
	CHECK(fdt_property_string(fdt, "compatible", "simple-bus"));
	CHECK(fdt_property_u32(fdt, "#address-cells", 2));
	CHECK(fdt_property_u32(fdt, "#size-cells", 2));
	CHECK(fdt_property(fdt, "ranges", NULL, 0));
	CHECK(add_bus_nodes(fdt, cfg->mmio, false));
	CHECK(fdt_end_node(fdt));

	CHECK(fdt_end_node(fdt));
	CHECK(fdt_finish(fdt));
	CHECK(fdt_pack(fdt));
	*out = fdt;
	*size = fdt_totalsize(fdt);
	return 0;
fail:
	free(fdt);
	return r;
}

static int read_reg64(const void *fdt, int node, uint64_t *a, uint64_t *s)
{
	int len;
	const fdt64_t *v = fdt_getprop(fdt, node, "reg", &len);

	if (!v || len != 16)
		return -EINVAL;
	*a = fdt64_to_cpu(v[0]);
	*s = fdt64_to_cpu(v[1]);
	return 0;
}

int desc_ram_ranges(const void *fdt, struct desc_range *out, int max)
{
	int node, n = 0;

	fdt_for_each_subnode(node, fdt, 0) {
		const char *t = fdt_getprop(fdt, node, "device_type", NULL);

		if (!t || strcmp(t, "memory"))
			continue;
		if (n < max && read_reg64(fdt, node, &out[n].gpa, &out[n].size) == 0) {
			out[n].name = "ram";
			n++;
		}
	}
	return n;
}

int desc_reserved_ranges(const void *fdt, struct desc_range *out, int max)
{
	int parent = fdt_path_offset(fdt, "/reserved-memory"), node, n = 0;

	if (parent < 0)
		return 0;
	fdt_for_each_subnode(node, fdt, parent) {
		if (n < max && read_reg64(fdt, node, &out[n].gpa, &out[n].size) == 0) {
			out[n].name = fdt_get_name(fdt, node, NULL);
			n++;
		}
	}
	return n;
}

int desc_nr_cpus(const void *fdt)
{
	int parent = fdt_path_offset(fdt, "/cpus"), node, n = 0;

	if (parent < 0)
		return 0;
	fdt_for_each_subnode(node, fdt, parent)
		n++;
	return n;
}

uint64_t desc_low_ram_top(const void *fdt)
{
	struct desc_range r[DESC_MAX_RANGES];
	int n = desc_ram_ranges(fdt, r, DESC_MAX_RANGES), i;

	for (i = 0; i < n; i++)
		if (r[i].gpa == 0)
			return r[i].size;
	return 0;
}

uint64_t desc_high_ram_size(const void *fdt)
{
	struct desc_range r[DESC_MAX_RANGES];
	int n = desc_ram_ranges(fdt, r, DESC_MAX_RANGES), i;
	uint64_t total = 0;

	for (i = 0; i < n; i++)
		if (r[i].gpa >= 0x100000000ULL)
			total += r[i].size;
	return total;
}

int desc_dump(const void *fdt, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = fdt_totalsize(fdt), done = 0;

	if (fd < 0)
		return err_set(-errno, "dumpdtb: cannot create '%s': %s", path, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, (const char *)fdt + done, len - done);

		if (n < 0) {
			int e = errno;

			close(fd);
			return err_set(-e, "dumpdtb: write to '%s' failed: %s", path, strerror(e));
		}
		done += (size_t)n;
	}
	if (close(fd) < 0)
		return err_set(-errno, "dumpdtb: '%s': %s", path, strerror(errno));
	return 0;
}
