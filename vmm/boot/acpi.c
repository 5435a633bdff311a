/*
 * ACPI table generator, see acpi.h. Layouts follow the ACPI 6.3
 * specification; the DSDT's AML is produced by the small encoder below
 * (ACPI 6.3 chapter 20 for the grammar, 6.4 for resource descriptors).
 *
 * All tables are first built into one "tables" blob whose pointer fields
 * hold offsets into that blob; a list of relocations and checksums is kept
 * next to it. The fixed form then adds the final base address and computes
 * the checksums; the loader form turns the same lists into ADD_POINTER and
 * ADD_CHECKSUM commands for the firmware.
 */
#include "vmm/boot/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"
#include "vmm/memmap.h"
#include "vmm/util.h"

#define OEM_ID        "KVMRUN"
#define OEM_TABLE_ID  "KVMRUN  "
#define OEM_REVISION  1
#define CREATOR_ID    "KVMR"
#define CREATOR_REV   1

#define HDR_LEN       36
#define RSDP_LEN      36
#define FACS_LEN      64
#define FADT_LEN      276     /* revision 6, minor 3 */

#define MAX_RELOCS    16
#define MAX_CSUMS     16

/* FADT flags (ACPI 6.3 table 5-35) */
#define FADT_F_WBINVD          BIT(0)
#define FADT_F_PROC_C1         BIT(2)
#define FADT_F_SLP_BUTTON      BIT(5)
#define FADT_F_RTC_S4          BIT(7)
#define FADT_F_RESET_REG_SUP   BIT(10)
#define FADT_F_FORCE_APIC_PHYS BIT(19)
/* IA-PC boot architecture flags */
#define FADT_BOOT_LEGACY_DEVICES BIT(0)
#define FADT_BOOT_8042           BIT(1)
#define FADT_BOOT_NO_VGA         BIT(2)

#define GAS_SYSTEM_IO 1

uint8_t acpi_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* ======================= AML encoder ======================= */

struct aml {
	uint8_t *b;
	size_t len, cap;
	int err;
	size_t open[16];   /* start offsets of objects awaiting their PkgLength */
	unsigned depth;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (a->len + n > a->cap) {
		size_t cap = MAX(a->cap * 2, a->len + n + 256);
		uint8_t *nb = realloc(a->b, cap);

		if (!nb) {
			a->err = -ENOMEM;
			return;
		}
		a->b = nb;
		a->cap = cap;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

/* Start an object with a PkgLength: reserve its maximum size (4 bytes). */
static void aml_open(struct aml *a)
{
	static const uint8_t zero[4];

	if (a->depth >= ARRAY_SIZE(a->open)) {
		a->err = -E2BIG;
		return;
	}
	a->open[a->depth++] = a->len;
	aml_bytes(a, zero, 4);
}

/* Close the innermost object: write its PkgLength in the shortest form. */
static void aml_close(struct aml *a)
{
	size_t start, content;
	uint8_t enc[4];
	unsigned n;
	uint32_t total;

	if (a->err || !a->depth) {
		a->err = a->err ? a->err : -EINVAL;
		return;
	}
	start = a->open[--a->depth];
	content = a->len - start - 4;
	/* The length counts the PkgLength bytes themselves. */
	if (content + 1 <= 0x3f)
		n = 1;
	else if (content + 2 < (1u << 12))
		n = 2;
	else if (content + 3 < (1u << 20))
		n = 3;
	else if (content + 4 < (1u << 28))
		n = 4;
	else {
		a->err = -E2BIG;
		return;
	}
	total = (uint32_t)(content + n);
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		unsigned i;

		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->b + start + n, a->b + start + 4, content);
	memcpy(a->b + start, enc, n);
	a->len -= 4 - n;
}

/* One NameSeg: up to 4 characters, padded with '_'. */
static void aml_nameseg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };

	if (!n || n > 4) {
		a->err = -EINVAL;
		return;
	}
	memcpy(seg, s, n);
	aml_bytes(a, seg, 4);
}

/* NameString: optional '\' root prefix, then dot-separated segments. */
static void aml_namestring(struct aml *a, const char *name)
{
	const char *p = name, *dot;
	unsigned nseg = 1;

	if (*p == '\\') {
		aml_byte(a, '\\');
		p++;
	}
	for (dot = p; *dot; dot++)
		nseg += *dot == '.';
	if (nseg == 2) {
		aml_byte(a, 0x2e);   /* DualNamePrefix */
	} else if (nseg > 2) {
		aml_byte(a, 0x2f);   /* MultiNamePrefix */
		aml_byte(a, (uint8_t)nseg);
	}
	while (*p) {
		dot = strchr(p, '.');
		if (!dot)
			dot = p + strlen(p);
		aml_nameseg(a, p, (size_t)(dot - p));
		p = *dot ? dot + 1 : dot;
	}
}

static void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[8];

	if (v == 0) {
		aml_byte(a, 0x00);   /* ZeroOp */
	} else if (v == 1) {
		aml_byte(a, 0x01);   /* OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		st_le16(b, (uint16_t)v);
		aml_bytes(a, b, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, 0x0c);
		st_le32(b, (uint32_t)v);
		aml_bytes(a, b, 4);
	} else {
		aml_byte(a, 0x0e);
		st_le64(b, v);
		aml_bytes(a, b, 8);
	}
}

static void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d);   /* StringPrefix */
	aml_bytes(a, s, strlen(s) + 1);
}

/* EISA ID "AAA####" compressed into a DWordConst (ACPI 6.3 19.6.35). */
static void aml_eisaid(struct aml *a, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t b[4];
	unsigned d[4], i;

	for (i = 0; i < 4; i++) {
		const char *h = strchr(hex, id[3 + i]);

		d[i] = h && *h ? (unsigned)(h - hex) : 0;
	}
	b[0] = (uint8_t)(((id[0] - 0x40) & 0x1f) << 2 | ((id[1] - 0x40) & 0x1f) >> 3);
	b[1] = (uint8_t)(((id[1] - 0x40) & 0x07) << 5 | ((id[2] - 0x40) & 0x1f));
	b[2] = (uint8_t)(d[0] << 4 | d[1]);
	b[3] = (uint8_t)(d[2] << 4 | d[3]);
	aml_byte(a, 0x0c);
	aml_bytes(a, b, 4);
}

/* Name(name, <data object follows>) */
static void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, 0x08);
	aml_namestring(a, name);
}

static void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_int(a, v);
}

static void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

static void aml_scope_begin(struct aml *a, const char *name)
{
	aml_byte(a, 0x10);   /* ScopeOp */
	aml_open(a);
	aml_namestring(a, name);
}

static void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, 0x5b);   /* ExtOpPrefix */
	aml_byte(a, 0x82);   /* DeviceOp */
	aml_open(a);
	aml_namestring(a, name);
}

static void aml_package_begin(struct aml *a, uint8_t nelem)
{
	aml_byte(a, 0x12);   /* PackageOp */
	aml_open(a);
	aml_byte(a, nelem);
}

static void aml_end(struct aml *a)
{
	aml_close(a);
}

/* ---- resource templates (ACPI 6.3 section 6.4) ---- */

struct rt {
	uint8_t b[256];
	size_t len;
	int err;
};

static void rt_put(struct rt *r, const void *p, size_t n)
{
	if (r->len + n > sizeof(r->b)) {
		r->err = -E2BIG;
		return;
	}
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

/* IO port descriptor, 16-bit decode */
static void rt_io(struct rt *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01 };

	st_le16(d + 2, min);
	st_le16(d + 4, max);
	d[6] = align;
	d[7] = len;
	rt_put(r, d, sizeof(d));
}

/* IRQNoFlags: edge, active high, exclusive (the ISA default) */
static void rt_irq(struct rt *r, unsigned irq)
{
	uint8_t d[3] = { 0x22 };

	st_le16(d + 1, (uint16_t)(1u << irq));
	rt_put(r, d, sizeof(d));
}

static void rt_mem32_fixed(struct rt *r, bool rw, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { 0x86, 9, 0, rw };

	st_le32(d + 4, base);
	st_le32(d + 8, len);
	rt_put(r, d, sizeof(d));
}

/*
 * Address space descriptors of a bridge: producer, positive decode,
 * fixed minimum and maximum (general flags 0x0c).
 */
#define RT_TYPE_MEM 0
#define RT_TYPE_IO  1
#define RT_TYPE_BUS 2
#define RT_GEN_FLAGS 0x0c

static void st_le(uint8_t *p, unsigned n, uint64_t v)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * Word (2), DWord (4) or QWord (8) address space descriptor: granularity
 * 0, [min, max], no translation, length max - min + 1.
 */
static void rt_addr(struct rt *r, unsigned width, uint8_t type, uint8_t tflags, uint64_t min,
		    uint64_t max)
{
	uint8_t d[46] = { width == 2 ? 0x88 : width == 4 ? 0x87 : 0x8a };
	unsigned len = 3 + 5 * width;   /* type and flag bytes + five fields */

	st_le16(d + 1, (uint16_t)len);
	d[3] = type;
	d[4] = RT_GEN_FLAGS;
	d[5] = tflags;
	st_le(d + 6 + width, width, min);
	st_le(d + 6 + 2 * width, width, max);
	st_le(d + 6 + 4 * width, width, max - min + 1);
	rt_put(r, d, 3 + len);
}

/* Memory type-specific flags: read-write, bits 2:1 = cacheability */
#define RT_MEM_RW_NONCACHE  0x01
#define RT_MEM_RW_CACHE     0x03
#define RT_IO_ENTIRE_RANGE  0x03

/* Name(name, ResourceTemplate(){ ... }) : Buffer with an end tag */
static void aml_name_rt(struct aml *a, const char *name, struct rt *r)
{
	static const uint8_t end[2] = { 0x79, 0x00 };

	rt_put(r, end, sizeof(end));
	if (r->err) {
		a->err = r->err;
		return;
	}
	aml_name(a, name);
	aml_byte(a, 0x11);   /* BufferOp */
	aml_open(a);
	aml_int(a, r->len);
	aml_bytes(a, r->b, r->len);
	aml_close(a);
}

/* ======================= DSDT ======================= */

static const struct {
	uint16_t port;
	uint8_t irq;
} com_ports[4] = {
	{ PORT_COM1, GSI_COM1 },
	{ PORT_COM2, GSI_COM2 },
	{ PORT_COM3, GSI_COM1 },
	{ PORT_COM4, GSI_COM2 },
};

static void dsdt_pci0(struct aml *a, const struct acpi_config *cfg)
{
	struct rt r = { .len = 0 };
	unsigned slot, pin, nprt = 0;

	aml_device_begin(a, "PCI0");
	if (cfg->machine == ACPI_MACHINE_Q35) {
		aml_name_eisaid(a, "_HID", "PNP0A08");
		aml_name_eisaid(a, "_CID", "PNP0A03");
	} else {
		aml_name_eisaid(a, "_HID", "PNP0A03");
	}
	aml_name_int(a, "_UID", 0);
	aml_name_int(a, "_BBN", 0);

	rt_addr(&r, 2, RT_TYPE_BUS, 0, 0,
		cfg->machine == ACPI_MACHINE_Q35 ? cfg->ecam_bus_end : 0xff);
	rt_io(&r, PORT_PCI_CONFIG, PORT_PCI_CONFIG, 0x01, 0x08);
	rt_addr(&r, 2, RT_TYPE_IO, RT_IO_ENTIRE_RANGE, 0x0000, PORT_PCI_CONFIG - 1);
	rt_addr(&r, 2, RT_TYPE_IO, RT_IO_ENTIRE_RANGE, PORT_PCI_CONFIG + 8, 0xffff);
	rt_addr(&r, 4, RT_TYPE_MEM, RT_MEM_RW_CACHE, MM_VGA, MM_VGA + 0x20000 - 1);
	if (cfg->pci_mmio32_size)
		rt_addr(&r, 4, RT_TYPE_MEM, RT_MEM_RW_NONCACHE, cfg->pci_mmio32_base,
			     cfg->pci_mmio32_base + cfg->pci_mmio32_size - 1);
	if (cfg->pci_mmio64_size)
		rt_addr(&r, 8, RT_TYPE_MEM, RT_MEM_RW_NONCACHE, cfg->pci_mmio64_base,
			     cfg->pci_mmio64_base + cfg->pci_mmio64_size - 1);
	aml_name_rt(a, "_CRS", &r);

	if (cfg->pci_irq_gsi) {
		int gsi[32][4];

		for (slot = 0; slot < 32; slot++)
			for (pin = 0; pin < 4; pin++) {
				gsi[slot][pin] = cfg->pci_irq_gsi(cfg->pci_irq_opaque, slot, pin);
				nprt += gsi[slot][pin] >= 0;
			}
		/* _PRT in APIC mode: {address, pin, source 0, GSI} per slot and pin */
		aml_name(a, "_PRT");
		aml_package_begin(a, (uint8_t)nprt);
		for (slot = 0; slot < 32; slot++)
			for (pin = 0; pin < 4; pin++) {
				if (gsi[slot][pin] < 0)
					continue;
				aml_package_begin(a, 4);
				aml_int(a, (uint64_t)slot << 16 | 0xffff);
				aml_int(a, pin);
				aml_int(a, 0);
				aml_int(a, (uint64_t)gsi[slot][pin]);
				aml_end(a);
			}
		aml_end(a);
	}
	aml_end(a);
}

static void dsdt_legacy(struct aml *a, const struct acpi_config *cfg)
{
	char name[5];
	unsigned i;

	for (i = 0; i < 4; i++) {
		struct rt r = { .len = 0 };

		if (!(cfg->com_mask & (1u << i)))
			continue;
		memcpy(name, "COM1", 5);
		name[3] = (char)('1' + i);
		aml_device_begin(a, name);
		aml_name_eisaid(a, "_HID", "PNP0501");
		aml_name_int(a, "_UID", i + 1);
		rt_io(&r, com_ports[i].port, com_ports[i].port, 0x01, 0x08);
		rt_irq(&r, com_ports[i].irq);
		aml_name_rt(a, "_CRS", &r);
		aml_end(a);
	}
	if (cfg->rtc) {
		struct rt r = { .len = 0 };

		aml_device_begin(a, "RTC");
		aml_name_eisaid(a, "_HID", "PNP0B00");
		rt_io(&r, PORT_CMOS, PORT_CMOS, 0x01, 0x02);
		rt_irq(&r, GSI_RTC);
		aml_name_rt(a, "_CRS", &r);
		aml_end(a);
	}
	if (cfg->i8042) {
		struct rt r = { .len = 0 };

		aml_device_begin(a, "KBD");
		aml_name_eisaid(a, "_HID", "PNP0303");
		rt_io(&r, PORT_I8042_DATA, PORT_I8042_DATA, 0x01, 0x01);
		rt_io(&r, PORT_I8042_CMD, PORT_I8042_CMD, 0x01, 0x01);
		rt_irq(&r, GSI_KBD);
		aml_name_rt(a, "_CRS", &r);
		aml_end(a);
	}
	if (cfg->machine == ACPI_MACHINE_Q35) {
		/*
		 * Linux only trusts MCFG if the ECAM is reserved, in e820 or as a
		 * motherboard resource: declare it here too.
		 */
		struct rt r = { .len = 0 };
		uint32_t ecam_len = ((uint32_t)cfg->ecam_bus_end + 1) << 20;

		aml_device_begin(a, "MRES");
		aml_name_eisaid(a, "_HID", "PNP0C02");
		aml_name_int(a, "_UID", 1);
		rt_mem32_fixed(&r, false, (uint32_t)cfg->ecam_base, ecam_len);
		aml_name_rt(a, "_CRS", &r);
		aml_end(a);
	}
}

static int build_dsdt_aml(const struct acpi_config *cfg, struct aml *a)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned i;

	aml_scope_begin(a, "\\_SB");
	if (cfg->pci)
		dsdt_pci0(a, cfg);
	for (i = 0; i < cfg->nr_cpus; i++) {
		char name[5] = { 'C', hex[(i >> 8) & 0xf], hex[(i >> 4) & 0xf], hex[i & 0xf], 0 };

		aml_device_begin(a, name);
		aml_name(a, "_HID");
		aml_string(a, "ACPI0007");
		aml_name_int(a, "_UID", i);
		aml_end(a);
	}
	dsdt_legacy(a, cfg);
	aml_end(a);

	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved */
	aml_name(a, "\\_S5");
	aml_package_begin(a, 4);
	aml_int(a, cfg->s5_slp_typ);
	aml_int(a, cfg->s5_slp_typ);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a);

	if (!a->err && a->depth)
		a->err = -EINVAL;
	return a->err;
}

/* ======================= tables blob ======================= */

struct reloc {
	bool in_rsdp;       /* pointer field lives in the RSDP blob */
	uint32_t off;
	uint8_t size;
};

struct csum {
	bool in_rsdp;
	uint32_t off, start, len;
};

struct tables {
	uint8_t *b;
	size_t len, cap;
	int err;
	uint8_t rsdp[RSDP_LEN];
	struct reloc rel[MAX_RELOCS];
	unsigned nrel;
	struct csum cs[MAX_CSUMS];
	unsigned ncs;
};

/* Append @len zero bytes aligned to @align; returns their offset. */
static uint32_t tb_alloc(struct tables *t, size_t len, size_t align)
{
	size_t off = ALIGN_UP(t->len, align);

	if (t->err)
		return 0;
	if (off + len > t->cap) {
		size_t cap = MAX(t->cap * 2, off + len + 4096);
		uint8_t *nb = realloc(t->b, cap);

		if (!nb) {
			t->err = -ENOMEM;
			return 0;
		}
		t->b = nb;
		t->cap = cap;
	}
	memset(t->b + t->len, 0, off + len - t->len);
	t->len = off + len;
	return (uint32_t)off;
}

static void add_reloc(struct tables *t, bool in_rsdp, uint32_t off, uint8_t size)
{
	if (t->nrel >= MAX_RELOCS) {
		t->err = -E2BIG;
		return;
	}
	t->rel[t->nrel++] = (struct reloc){ in_rsdp, off, size };
}

static void add_csum(struct tables *t, bool in_rsdp, uint32_t off, uint32_t start, uint32_t len)
{
	if (t->ncs >= MAX_CSUMS) {
		t->err = -E2BIG;
		return;
	}
	t->cs[t->ncs++] = (struct csum){ in_rsdp, off, start, len };
}

/* Reserve a table of @len bytes with a standard header; checksum recorded. */
static uint32_t table_new(struct tables *t, const char *sig, uint32_t len, uint8_t rev)
{
	uint32_t off = tb_alloc(t, len, 8);
	uint8_t *h;

	if (t->err)
		return 0;
	h = t->b + off;
	memcpy(h, sig, 4);
	st_le32(h + 4, len);
	h[8] = rev;
	memcpy(h + 10, OEM_ID, 6);
	memcpy(h + 16, OEM_TABLE_ID, 8);
	st_le32(h + 24, OEM_REVISION);
	memcpy(h + 28, CREATOR_ID, 4);
	st_le32(h + 32, CREATOR_REV);
	add_csum(t, false, off + 9, off, len);
	return off;
}

static void gas_io(uint8_t *g, uint8_t bit_width, uint8_t access_size, uint64_t addr)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = bit_width;
	g[2] = 0;
	g[3] = access_size;   /* 1 byte, 2 word, 3 dword */
	st_le64(g + 4, addr);
}

static uint32_t build_fadt(struct tables *t, const struct acpi_config *cfg, uint32_t facs,
			   uint32_t dsdt)
{
	uint32_t off = table_new(t, "FACP", FADT_LEN, 6);
	uint32_t flags;
	uint16_t pm = cfg->pm_base;
	uint8_t *f;

	if (t->err)
		return 0;
	f = t->b + off;
	f[45] = 0;                                  /* preferred PM profile: unspecified */
	st_le16(f + 46, cfg->sci_gsi);
	st_le32(f + 48, cfg->smi_cmd);
	f[52] = cfg->smi_cmd ? cfg->acpi_enable : 0;
	f[53] = cfg->smi_cmd ? cfg->acpi_disable : 0;
	st_le32(f + 56, pm);                        /* PM1a_EVT_BLK */
	st_le32(f + 64, pm + 4u);                   /* PM1a_CNT_BLK */
	st_le32(f + 76, pm + 8u);                   /* PM_TMR_BLK */
	st_le32(f + 80, cfg->gpe0_len ? cfg->gpe0_base : 0);
	f[88] = 4;                                  /* PM1_EVT_LEN */
	f[89] = 2;                                  /* PM1_CNT_LEN */
	f[91] = 4;                                  /* PM_TMR_LEN */
	f[92] = cfg->gpe0_len;
	st_le16(f + 96, 0x0fff);                    /* P_LVL2_LAT > 100: no C2 */
	st_le16(f + 98, 0x0fff);                    /* P_LVL3_LAT > 1000: no C3 */
	f[108] = cfg->rtc ? 0x32 : 0;               /* CENTURY (CMOS index) */
	st_le16(f + 109, (cfg->com_mask || cfg->rtc ? FADT_BOOT_LEGACY_DEVICES : 0) |
			 (cfg->i8042 ? FADT_BOOT_8042 : 0) | FADT_BOOT_NO_VGA);
	flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4;
	if (cfg->reset_port)
		flags |= FADT_F_RESET_REG_SUP;
	if (cfg->nr_cpus > 8)
		flags |= FADT_F_FORCE_APIC_PHYS;    /* logical flat mode stops at 8 */
	st_le32(f + 112, flags);
	if (cfg->reset_port) {
		gas_io(f + 116, 8, 1, cfg->reset_port);
		f[128] = cfg->reset_value;
	}
	f[131] = 3;                                 /* FADT minor version: 6.3 */
	/* Only the 64-bit pointers: the 32-bit ones stay 0, as ACPI 6.3 allows. */
	st_le64(f + 132, facs);
	add_reloc(t, false, off + 132, 8);
	st_le64(f + 140, dsdt);
	add_reloc(t, false, off + 140, 8);
	gas_io(f + 148, 32, 2, pm);                 /* X_PM1a_EVT_BLK */
	gas_io(f + 172, 16, 2, pm + 4u);            /* X_PM1a_CNT_BLK */
	gas_io(f + 208, 32, 3, pm + 8u);            /* X_PM_TMR_BLK */
	if (cfg->gpe0_len)
		gas_io(f + 220, (uint8_t)(cfg->gpe0_len * 8), 1, cfg->gpe0_base);
	return off;
}

static uint32_t build_madt(struct tables *t, const struct acpi_config *cfg)
{
	uint32_t len = HDR_LEN + 8 + cfg->nr_cpus * 8 + 12 + (cfg->sci_gsi < 16 ? 2 : 1) * 10 + 6;
	uint32_t off = table_new(t, "APIC", len, 5);
	uint8_t *m, *e;
	unsigned i;

	if (t->err)
		return 0;
	m = t->b + off;
	st_le32(m + 36, (uint32_t)MM_LAPIC);
	st_le32(m + 40, 1);                         /* PCAT_COMPAT: 8259s present */
	e = m + 44;
	for (i = 0; i < cfg->nr_cpus; i++, e += 8) {
		e[0] = 0;                           /* Processor Local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;                  /* ACPI processor UID (= _UID) */
		e[3] = (uint8_t)i;                  /* APIC ID */
		st_le32(e + 4, 1);                  /* enabled */
	}
	e[0] = 1;                                   /* I/O APIC */
	e[1] = 12;
	e[2] = cfg->ioapic_id;
	st_le32(e + 4, cfg->ioapic_addr);
	st_le32(e + 8, 0);                          /* GSI base */
	e += 12;
	/* ISA IRQ0 (PIT) is wired to IOAPIC pin 2 */
	e[0] = 2;
	e[1] = 10;
	e[2] = 0;                                   /* bus: ISA */
	e[3] = 0;
	st_le32(e + 4, 2);
	st_le16(e + 8, 0);                          /* conforms to the bus */
	e += 10;
	/* SCI: level triggered, active high (only an ISA IRQ can be overridden) */
	if (cfg->sci_gsi < 16) {
		e[0] = 2;
		e[1] = 10;
		e[2] = 0;
		e[3] = (uint8_t)cfg->sci_gsi;
		st_le32(e + 4, cfg->sci_gsi);
		st_le16(e + 8, 0x0d);               /* polarity 01 high, trigger 11 level */
		e += 10;
	}
	/* NMI on LINT1 of every processor */
	e[0] = 4;
	e[1] = 6;
	e[2] = 0xff;
	st_le16(e + 3, 0);
	e[5] = 1;
	return off;
}

static uint32_t build_mcfg(struct tables *t, const struct acpi_config *cfg)
{
	uint32_t off = table_new(t, "MCFG", HDR_LEN + 8 + 16, 1);
	uint8_t *e;

	if (t->err)
		return 0;
	e = t->b + off + HDR_LEN + 8;
	st_le64(e, cfg->ecam_base);
	st_le16(e + 8, 0);                          /* segment */
	e[10] = 0;                                  /* start bus */
	e[11] = cfg->ecam_bus_end;
	return off;
}

static int validate(const struct acpi_config *cfg)
{
	if (!cfg->nr_cpus || cfg->nr_cpus > ACPI_MAX_CPUS)
		return err_set(-EINVAL, "acpi: %u CPUs (1..%d supported)", cfg->nr_cpus,
			       ACPI_MAX_CPUS);
	if (cfg->gpe0_len & 1)
		return err_set(-EINVAL, "acpi: GPE0 block length %u is odd", cfg->gpe0_len);
	if (cfg->sci_gsi > 23 || !cfg->pm_base || !cfg->ioapic_addr)
		return err_set(-EINVAL, "acpi: SCI GSI, PM base or IOAPIC address invalid");
	if (cfg->pci && cfg->pci_mmio32_size &&
	    (uint64_t)cfg->pci_mmio32_base + cfg->pci_mmio32_size > 0x100000000ULL)
		return err_set(-EINVAL, "acpi: 32-bit PCI window crosses 4 GiB");
	if (cfg->pci && cfg->pci_mmio64_size &&
	    cfg->pci_mmio64_base + cfg->pci_mmio64_size < cfg->pci_mmio64_base)
		return err_set(-EINVAL, "acpi: 64-bit PCI window wraps");
	if (cfg->machine == ACPI_MACHINE_Q35 &&
	    (!cfg->ecam_base || !IS_ALIGNED(cfg->ecam_base, 1 << 20) ||
	     cfg->ecam_base + (((uint64_t)cfg->ecam_bus_end + 1) << 20) > 0x100000000ULL))
		return err_set(-EINVAL, "acpi: ECAM base 0x%llx invalid",
			       (unsigned long long)cfg->ecam_base);
	return 0;
}

/* Build every table into @t (relative pointers, zero checksums). */
static int build_tables(const struct acpi_config *cfg, struct tables *t)
{
	struct aml a = { .b = NULL };
	uint32_t facs, dsdt, fadt, madt, mcfg = 0, xsdt, n = 2, i = 0;
	uint8_t *p;
	int ret;

	ret = validate(cfg);
	if (ret < 0)
		return ret;

	/* FACS first: it needs 64-byte alignment and has no checksum. */
	facs = tb_alloc(t, FACS_LEN, 64);
	if (!t->err) {
		memcpy(t->b + facs, "FACS", 4);
		st_le32(t->b + facs + 4, FACS_LEN);
		t->b[facs + 32] = 2;                /* version */
	}

	ret = build_dsdt_aml(cfg, &a);
	if (ret < 0) {
		free(a.b);
		return err_set(ret, "acpi: DSDT encoding failed");
	}
	dsdt = table_new(t, "DSDT", (uint32_t)(HDR_LEN + a.len), 2);
	if (!t->err)
		memcpy(t->b + dsdt + HDR_LEN, a.b, a.len);
	free(a.b);

	fadt = build_fadt(t, cfg, facs, dsdt);
	madt = build_madt(t, cfg);
	if (cfg->machine == ACPI_MACHINE_Q35) {
		mcfg = build_mcfg(t, cfg);
		n++;
	}
	xsdt = table_new(t, "XSDT", HDR_LEN + 8 * n, 1);
	if (t->err)
		return t->err;
	p = t->b + xsdt + HDR_LEN;
	st_le64(p + 8 * i, fadt);
	add_reloc(t, false, xsdt + HDR_LEN + 8 * i++, 8);
	st_le64(p + 8 * i, madt);
	add_reloc(t, false, xsdt + HDR_LEN + 8 * i++, 8);
	if (mcfg) {
		st_le64(p + 8 * i, mcfg);
		add_reloc(t, false, xsdt + HDR_LEN + 8 * i++, 8);
	}

	/* RSDP, revision 2, pointing at the XSDT only */
	memcpy(t->rsdp, "RSD PTR ", 8);
	memcpy(t->rsdp + 9, OEM_ID, 6);
	t->rsdp[15] = 2;
	st_le32(t->rsdp + 20, RSDP_LEN);
	st_le64(t->rsdp + 24, xsdt);
	add_reloc(t, true, 24, 8);
	add_csum(t, true, 8, 0, 20);
	add_csum(t, true, 32, 0, RSDP_LEN);
	return t->err;
}

static void tables_free(struct tables *t)
{
	free(t->b);
	t->b = NULL;
}

/* Add @delta to the little-endian pointer of @size bytes at @p. */
static void reloc_apply(uint8_t *p, unsigned size, uint64_t delta)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	v += delta;
	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void acpi_config_default(struct acpi_config *cfg, enum acpi_machine machine, unsigned nr_cpus)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine = machine;
	cfg->nr_cpus = nr_cpus;
	cfg->pm_base = PORT_PC_ACPI_PM;
	/* ICH9 layout: GPE0 at PMBASE + 0x20, 16 bytes */
	cfg->gpe0_base = PORT_PC_ACPI_PM + 0x20;
	cfg->gpe0_len = 16;
	cfg->sci_gsi = GSI_SCI;
	/* APM_CNT writes of 2/3 switch SCI_EN (ICH9 semantics) */
	cfg->smi_cmd = PORT_APM_CNT;
	cfg->acpi_enable = 0x02;
	cfg->acpi_disable = 0x03;
	cfg->s5_slp_typ = 0;
	cfg->reset_port = PORT_RESET_CONTROL;
	cfg->reset_value = 0x06;
	cfg->ioapic_addr = (uint32_t)MM_IOAPIC;
	cfg->ioapic_id = 0;
	cfg->pci = true;
	cfg->pci_mmio32_base = (uint32_t)MM_PCI_MMIO32;
	cfg->pci_mmio32_size = (uint32_t)(MM_PCI_MMIO32_END - MM_PCI_MMIO32);
	cfg->pci_mmio64_base = MM_PCI_MMIO64;
	cfg->pci_mmio64_size = MM_PCI_MMIO64_SIZE;
	if (machine == ACPI_MACHINE_Q35) {
		cfg->ecam_base = MM_PCIE_ECAM;
		cfg->ecam_bus_end = (uint8_t)((MM_PCIE_ECAM_SIZE >> 20) - 1);
	}
	cfg->com_mask = 1;
	cfg->i8042 = true;
	cfg->rtc = true;
}

long acpi_build_fixed(const struct acpi_config *cfg, void *buf, size_t size, uint64_t gpa_base)
{
	struct tables t = { .b = NULL };
	uint8_t *out = buf;
	uint64_t tables_gpa;
	size_t tables_off = ALIGN_UP((size_t)RSDP_LEN, 64), total;
	unsigned i;
	int ret;

	if (!IS_ALIGNED(gpa_base, 16))
		return err_set(-EINVAL, "acpi: table base 0x%llx is not 16-byte aligned",
			       (unsigned long long)gpa_base);
	ret = build_tables(cfg, &t);
	if (ret < 0)
		goto out;
	total = tables_off + t.len;
	if (total > size || gpa_base + total > 0x100000000ULL) {
		ret = err_set(-ENOSPC, "acpi: %zu bytes of tables do not fit in %zu at 0x%llx",
			      total, size, (unsigned long long)gpa_base);
		goto out;
	}
	/* FACS must stay 64-byte aligned in guest-physical terms. */
	tables_gpa = gpa_base + tables_off;
	if (!IS_ALIGNED(tables_gpa, 64)) {
		size_t pad = ALIGN_UP(tables_gpa, 64) - tables_gpa;

		if (total + pad > size) {
			ret = err_set(-ENOSPC, "acpi: tables do not fit");
			goto out;
		}
		tables_off += pad;
		tables_gpa += pad;
		total += pad;
	}
	memset(out, 0, total);
	memcpy(out, t.rsdp, RSDP_LEN);
	memcpy(out + tables_off, t.b, t.len);
	for (i = 0; i < t.nrel; i++)
		reloc_apply(t.rel[i].in_rsdp ? out + t.rel[i].off
					     : out + tables_off + t.rel[i].off,
			    t.rel[i].size, tables_gpa);
	for (i = 0; i < t.ncs; i++) {
		uint8_t *base = t.cs[i].in_rsdp ? out : out + tables_off;

		base[t.cs[i].off] = 0;
		base[t.cs[i].off] = acpi_checksum(base + t.cs[i].start, t.cs[i].len);
	}
	ret = (int)total;
out:
	tables_free(&t);
	return ret;
}

static void loader_name(uint8_t *dst, const char *name)
{
	memcpy(dst, name, strlen(name));   /* 56-byte field, zero padded */
}

int acpi_build_loader(const struct acpi_config *cfg, struct acpi_blobs *out)
{
	struct tables t = { .b = NULL };
	uint8_t *cmd;
	unsigned i, ncmd;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = build_tables(cfg, &t);
	if (ret < 0)
		goto err;
	ncmd = 2 + t.nrel + t.ncs;
	out->loader = calloc(ncmd, ACPI_LOADER_ENTRY_SIZE);
	out->rsdp = malloc(RSDP_LEN);
	if (!out->loader || !out->rsdp) {
		ret = -ENOMEM;
		goto err;
	}
	memcpy(out->rsdp, t.rsdp, RSDP_LEN);
	out->rsdp_len = RSDP_LEN;
	out->tables = t.b;
	out->tables_len = t.len;
	t.b = NULL;
	out->loader_len = (size_t)ncmd * ACPI_LOADER_ENTRY_SIZE;

	cmd = out->loader;
	/* ALLOCATE: tables anywhere (FACS wants 64), RSDP in the F segment */
	st_le32(cmd, ACPI_LOADER_ALLOCATE);
	loader_name(cmd + 4, ACPI_FWCFG_TABLES);
	st_le32(cmd + 60, 64);
	cmd[64] = ACPI_LOADER_ZONE_HIGH;
	cmd += ACPI_LOADER_ENTRY_SIZE;
	st_le32(cmd, ACPI_LOADER_ALLOCATE);
	loader_name(cmd + 4, ACPI_FWCFG_RSDP);
	st_le32(cmd + 60, 16);
	cmd[64] = ACPI_LOADER_ZONE_FSEG;
	cmd += ACPI_LOADER_ENTRY_SIZE;
	/* Every pointer before any checksum: checksums run immediately. */
	for (i = 0; i < t.nrel; i++, cmd += ACPI_LOADER_ENTRY_SIZE) {
		st_le32(cmd, ACPI_LOADER_ADD_POINTER);
		loader_name(cmd + 4, t.rel[i].in_rsdp ? ACPI_FWCFG_RSDP : ACPI_FWCFG_TABLES);
		loader_name(cmd + 60, ACPI_FWCFG_TABLES);
		st_le32(cmd + 116, t.rel[i].off);
		cmd[120] = t.rel[i].size;
	}
	for (i = 0; i < t.ncs; i++, cmd += ACPI_LOADER_ENTRY_SIZE) {
		st_le32(cmd, ACPI_LOADER_ADD_CHECKSUM);
		loader_name(cmd + 4, t.cs[i].in_rsdp ? ACPI_FWCFG_RSDP : ACPI_FWCFG_TABLES);
		st_le32(cmd + 60, t.cs[i].off);
		st_le32(cmd + 64, t.cs[i].start);
		st_le32(cmd + 68, t.cs[i].len);
	}
	return 0;

err:
	tables_free(&t);
	acpi_blobs_free(out);
	return ret;
}

void acpi_blobs_free(struct acpi_blobs *b)
{
	free(b->tables);
	free(b->rsdp);
	free(b->loader);
	memset(b, 0, sizeof(*b));
}
