/*
 * Unit tests for vmm/boot/acpi.c: table structure and checksums, an
 * independent AML walker over the DSDT, the table-loader commands replayed
 * the way OVMF executes them, and (when installed) iasl as a cross-check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/support.h"
#include "vmm/boot/acpi.h"
#include "vmm/memmap.h"

#define BASE 0xe0000ULL
static uint8_t buf[MM_ACPI_TABLES_SIZE];

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Host pointer of a guest address inside the fixed buffer, checked. */
static const uint8_t *at(uint64_t gpa, size_t need)
{
	ck_assert_uint_ge(gpa, BASE);
	ck_assert_uint_le(gpa - BASE + need, sizeof(buf));
	return buf + (gpa - BASE);
}

/* A table at @gpa: its length fits, its checksum is right. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(gpa, 36);
	uint32_t len = ld_le32(t + 4);

	at(gpa, len);
	ck_assert_mem_eq(t, sig, 4);
	ck_assert_uint_ge(len, 36);
	ck_assert_uint_eq(sum8(t, len), 0);
	ck_assert_mem_eq(t + 10, "KVMRUN", 6);
	return t;
}

/* Find a table by signature through RSDP -> XSDT. */
static const uint8_t *find_table(const char *sig)
{
	const uint8_t *x = table_at(ld_le64(buf + 24), "XSDT");
	unsigned i, n = (ld_le32(x + 4) - 36) / 8;

	for (i = 0; i < n; i++) {
		const uint8_t *t = at(ld_le64(x + 36 + 8 * i), 36);

		if (!memcmp(t, sig, 4))
			return table_at(ld_le64(x + 36 + 8 * i), sig);
	}
	return NULL;
}

/* ---------------- a small, independent AML reader ---------------- */

struct aml_obj {
	char path[64];
	const uint8_t *data;    /* the data object of a Name(), NULL for scopes/devices */
	bool device;
};

struct walker {
	struct aml_obj obj[1024];
	unsigned n;
};

/* PkgLength: returns the bytes it occupies, *len = the value (includes itself). */
static size_t rd_pkglen(const uint8_t *p, const uint8_t *end, uint32_t *len)
{
	unsigned extra = p[0] >> 6, i;

	ck_assert((p + extra) < (end));
	if (!extra) {
		*len = p[0] & 0x3f;
		return 1;
	}
	ck_assert_uint_eq(p[0] & 0x30, 0);   /* bits 5:4 reserved in multi-byte form */
	*len = p[0] & 0xf;
	for (i = 1; i <= extra; i++)
		*len |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	/* the encoder must use the shortest form */
	if (extra == 1)
		ck_assert_uint_gt(*len, 0x3f);
	else
		ck_assert_uint_ge(*len, 1u << (4 + 8 * (extra - 1)));
	return 1 + extra;
}

static bool seg_ok(const uint8_t *s)
{
	unsigned i;

	if (!(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 1; i < 4; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* NameString into "\\_SB_.PCI0" style text (absolute if it was rooted). */
static size_t rd_name(const uint8_t *p, const uint8_t *end, char *out, const char *scope)
{
	const uint8_t *s = p;
	unsigned nseg = 1, i;
	char tmp[64] = "";

	if (*s == '\\') {
		strcpy(tmp, "\\");
		s++;
	} else {
		snprintf(tmp, sizeof(tmp), "%s", scope);
	}
	if (*s == 0x2e) {
		nseg = 2;
		s++;
	} else if (*s == 0x2f) {
		nseg = s[1];
		s += 2;
	}
	for (i = 0; i < nseg; i++, s += 4) {
		ck_assert((s + 4) <= (end));
		ck_assert_msg(seg_ok(s), "bad NameSeg");
		if (strlen(tmp) > 1)
			strcat(tmp, ".");
		strncat(tmp, (const char *)s, 4);
	}
	strcpy(out, tmp);
	return (size_t)(s - p);
}

static size_t rd_data(const uint8_t *p, const uint8_t *end);

static size_t rd_pkg(const uint8_t *p, const uint8_t *end)
{
	uint32_t len;
	size_t n = rd_pkglen(p + 1, end, &len);
	const uint8_t *q = p + 1 + n, *pend = p + 1 + len;
	unsigned count, i;

	ck_assert((pend) <= (end));
	count = *q++;
	for (i = 0; i < count; i++)
		q += rd_data(q, pend);
	ck_assert_ptr_eq(q, pend);
	return 1 + len;
}

/* One DataRefObject; returns its size. */
static size_t rd_data(const uint8_t *p, const uint8_t *end)
{
	ck_assert((p) < (end));
	switch (p[0]) {
	case 0x00: case 0x01: case 0xff:
		return 1;
	case 0x0a:
		return 2;
	case 0x0b:
		return 3;
	case 0x0c:
		return 5;
	case 0x0e:
		return 9;
	case 0x0d:
		return 2 + strlen((const char *)p + 1);
	case 0x12:
		return rd_pkg(p, end);
	case 0x11: {
		uint32_t len;
		size_t n = rd_pkglen(p + 1, end, &len);

		ck_assert((p + 1 + len) <= (end));
		(void)n;
		return 1 + len;
	}
	default:
		ck_abort_msg("unexpected AML opcode 0x%02x", p[0]);
		return 0;
	}
}

static uint64_t aml_intval(const uint8_t *p)
{
	switch (p[0]) {
	case 0x00: return 0;
	case 0x01: return 1;
	case 0x0a: return p[1];
	case 0x0b: return ld_le16(p + 1);
	case 0x0c: return ld_le32(p + 1);
	case 0x0e: return ld_le64(p + 1);
	default:
		ck_abort_msg("not an integer: 0x%02x", p[0]);
		return 0;
	}
}

static void walk_terms(struct walker *w, const uint8_t *p, const uint8_t *end, const char *scope)
{
	while (p < end) {
		char name[64];
		uint32_t len;
		size_t n;

		ck_assert_uint_lt(w->n, ARRAY_SIZE(w->obj));
		if (p[0] == 0x10 || (p[0] == 0x5b && p[1] == 0x82)) {
			bool dev = p[0] == 0x5b;
			const uint8_t *q = p + (dev ? 2 : 1), *oend;

			n = rd_pkglen(q, end, &len);
			oend = q + len;
			ck_assert((oend) <= (end));
			q += n;
			q += rd_name(q, oend, name, scope);
			snprintf(w->obj[w->n].path, 64, "%s", name);
			w->obj[w->n].device = dev;
			w->obj[w->n++].data = NULL;
			walk_terms(w, q, oend, name);
			p = oend;
		} else if (p[0] == 0x08) {
			p++;
			p += rd_name(p, end, name, scope);
			snprintf(w->obj[w->n].path, 64, "%s", name);
			w->obj[w->n++].data = p;
			p += rd_data(p, end);
		} else {
			ck_abort_msg("unexpected term opcode 0x%02x", p[0]);
		}
	}
	ck_assert_ptr_eq(p, end);
}

static const struct aml_obj *aml_find(const struct walker *w, const char *path)
{
	unsigned i;

	for (i = 0; i < w->n; i++)
		if (!strcmp(w->obj[i].path, path))
			return &w->obj[i];
	return NULL;
}

static const uint8_t *aml_value(const struct walker *w, const char *path)
{
	const struct aml_obj *o = aml_find(w, path);

	ck_assert_msg(o && o->data, "%s missing", path);
	return o->data;
}

/* Decode a compressed EISA ID (DWordConst) back to text. */
static void eisa_decode(const uint8_t *p, char out[8])
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t v;

	ck_assert_uint_eq(p[0], 0x0c);
	v = __builtin_bswap32(ld_le32(p + 1));   /* big-endian bit packing */
	out[0] = (char)('@' + ((v >> 26) & 0x1f));
	out[1] = (char)('@' + ((v >> 21) & 0x1f));
	out[2] = (char)('@' + ((v >> 16) & 0x1f));
	out[3] = hex[(v >> 12) & 0xf];
	out[4] = hex[(v >> 8) & 0xf];
	out[5] = hex[(v >> 4) & 0xf];
	out[6] = hex[v & 0xf];
	out[7] = 0;
}

static void check_hid(const struct walker *w, const char *dev, const char *want)
{
	char path[64], id[8];

	snprintf(path, sizeof(path), "%s._HID", dev);
	eisa_decode(aml_value(w, path), id);
	ck_assert_str_eq(id, want);
}

struct res {
	unsigned nio, irq_mask, nwindows;
	uint16_t io_min[8], io_len[8];
	uint64_t mem_min[8], mem_len[8];
	unsigned nmem;
};

/* Walk a ResourceTemplate buffer; it must end exactly with the end tag. */
static void walk_res(const uint8_t *bufop, struct res *r)
{
	uint32_t len;
	size_t n = rd_pkglen(bufop + 1, bufop + 4096, &len);
	const uint8_t *q = bufop + 1 + n, *end = bufop + 1 + len;
	uint64_t size = aml_intval(q);

	memset(r, 0, sizeof(*r));
	q += rd_data(q, end);
	ck_assert_uint_eq(size, (uint64_t)(end - q));
	for (;;) {
		ck_assert((q) < (end));
		if (!(q[0] & 0x80)) {
			unsigned type = (q[0] >> 3) & 0xf, l = q[0] & 7;

			if (type == 0xf) {
				ck_assert_uint_eq(l, 1);
				ck_assert_ptr_eq(q + 2, end);
				return;
			}
			if (type == 0x8) {
				ck_assert_uint_eq(l, 7);
				ck_assert_uint_eq(ld_le16(q + 2), ld_le16(q + 4));
				r->io_min[r->nio] = ld_le16(q + 2);
				r->io_len[r->nio++] = q[7];
			} else if (type == 0x4) {
				r->irq_mask |= ld_le16(q + 1);
			}
			q += 1 + l;
		} else {
			unsigned l = ld_le16(q + 1);

			if (q[0] == 0x87 || q[0] == 0x8a) {
				bool qw = q[0] == 0x8a;
				uint64_t min = qw ? ld_le64(q + 14) : ld_le32(q + 10);
				uint64_t max = qw ? ld_le64(q + 22) : ld_le32(q + 14);
				uint64_t ln = qw ? ld_le64(q + 38) : ld_le32(q + 22);

				ck_assert_uint_eq(max - min + 1, ln);
				r->mem_min[r->nmem] = min;
				r->mem_len[r->nmem++] = ln;
			}
			if (q[0] == 0x87 || q[0] == 0x88 || q[0] == 0x8a)
				r->nwindows++;
			q += 3 + l;
		}
	}
}

static void walk_dsdt(const uint8_t *dsdt, struct walker *w)
{
	memset(w, 0, sizeof(*w));
	walk_terms(w, dsdt + 36, dsdt + ld_le32(dsdt + 4), "\\");
}

static int prt_gsi(void *opaque, unsigned slot, unsigned pin)
{
	return slot < 8 ? (int)(16 + ((slot + pin) & 3)) : -1;
}

/* ---------------- tests ---------------- */

START_TEST(test_checksum)
{
	uint8_t b[5] = { 1, 2, 3, 0, 250 };

	b[3] = acpi_checksum(b, sizeof(b));
	ck_assert_uint_eq(sum8(b, sizeof(b)), 0);
	ck_assert_uint_eq(acpi_checksum(b, 0), 0);
}
END_TEST

static void check_fixed(enum acpi_machine m, unsigned ncpu)
{
	struct acpi_config cfg;
	const uint8_t *fadt, *madt, *mcfg, *dsdt, *facs, *e;
	struct walker *w = malloc(sizeof(*w));
	struct res r;
	unsigned i, nlapic = 0, niso = 0, nnmi = 0, nioapic = 0;
	long n;

	acpi_config_default(&cfg, m, ncpu);
	cfg.pci_irq_gsi = prt_gsi;
	cfg.s5_slp_typ = 5;
	memset(buf, 0xee, sizeof(buf));
	n = acpi_build_fixed(&cfg, buf, sizeof(buf), BASE);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(buf[n], 0xee);   /* nothing written past the reported size */

	/* RSDP: ACPI 2.0+, both checksums, XSDT only */
	ck_assert_mem_eq(buf, "RSD PTR ", 8);
	ck_assert_uint_eq(buf[15], 2);
	ck_assert_uint_eq(sum8(buf, 20), 0);
	ck_assert_uint_eq(ld_le32(buf + 20), 36);
	ck_assert_uint_eq(sum8(buf, 36), 0);
	ck_assert_uint_eq(ld_le32(buf + 16), 0);

	fadt = find_table("FACP");
	madt = find_table("APIC");
	mcfg = find_table("MCFG");
	ck_assert_ptr_nonnull(fadt);
	ck_assert_ptr_nonnull(madt);
	ck_assert_ptr_null(find_table("HPET"));
	ck_assert(m == ACPI_MACHINE_Q35 ? mcfg != NULL : mcfg == NULL);

	/* FADT */
	ck_assert_uint_eq(ld_le32(fadt + 4), 276);
	ck_assert_uint_eq(fadt[8], 6);
	ck_assert_uint_eq(fadt[131], 3);
	ck_assert_uint_eq(ld_le16(fadt + 46), GSI_SCI);
	ck_assert_uint_eq(ld_le32(fadt + 56), PORT_PC_ACPI_PM);
	ck_assert_uint_eq(ld_le32(fadt + 64), PORT_PC_ACPI_PM + 4);
	ck_assert_uint_eq(ld_le32(fadt + 76), PORT_PC_ACPI_PM + 8);
	ck_assert_uint_eq(fadt[91], 4);
	ck_assert_uint_eq(ld_le32(fadt + 80), cfg.gpe0_base);
	ck_assert_uint_eq(fadt[92], cfg.gpe0_len);
	ck_assert_uint_eq(fadt[108], 0x32);
	ck_assert_uint_eq(ld_le16(fadt + 109) & 3, 3);          /* legacy devices + 8042 */
	ck_assert(ld_le32(fadt + 112) & BIT(10));               /* RESET_REG_SUP */
	ck_assert(!(ld_le32(fadt + 112) & BIT(20)));            /* not HW-reduced */
	ck_assert(ld_le32(fadt + 112) & BIT(0));                /* WBINVD */
	ck_assert_uint_eq(fadt[116], 1);                        /* reset reg in I/O space */
	ck_assert_uint_eq(ld_le64(fadt + 120), 0xcf9);
	ck_assert_uint_eq(fadt[128], 0x06);
	ck_assert_uint_eq(ld_le64(fadt + 152), PORT_PC_ACPI_PM);       /* X_PM1a_EVT */
	ck_assert_uint_eq(ld_le64(fadt + 212), PORT_PC_ACPI_PM + 8);   /* X_PM_TMR */
	ck_assert_uint_eq(fadt[209], 32);
	facs = at(ld_le64(fadt + 132), 64);
	ck_assert_uint_eq(ld_le64(fadt + 132) % 64, 0);
	ck_assert_mem_eq(facs, "FACS", 4);
	ck_assert_uint_eq(ld_le32(facs + 4), 64);
	dsdt = table_at(ld_le64(fadt + 140), "DSDT");
	ck_assert_uint_eq(dsdt[8], 2);   /* 64-bit AML integers */

	/* MADT */
	ck_assert_uint_eq(ld_le32(madt + 36), 0xfee00000);
	for (e = madt + 44; e < madt + ld_le32(madt + 4); e += e[1]) {
		ck_assert_uint_ge(e[1], 2);
		switch (e[0]) {
		case 0:
			ck_assert_uint_eq(e[2], nlapic);   /* UID */
			ck_assert_uint_eq(e[3], nlapic);   /* APIC ID */
			ck_assert_uint_eq(ld_le32(e + 4), 1);
			nlapic++;
			break;
		case 1:
			ck_assert_uint_eq(ld_le32(e + 4), 0xfec00000);
			ck_assert_uint_eq(ld_le32(e + 8), 0);
			nioapic++;
			break;
		case 2:
			if (e[3] == 0) {
				ck_assert_uint_eq(ld_le32(e + 4), 2);
			} else {
				ck_assert_uint_eq(e[3], GSI_SCI);
				ck_assert_uint_eq(ld_le32(e + 4), GSI_SCI);
				ck_assert_uint_eq(ld_le16(e + 8), 0x0d);
			}
			niso++;
			break;
		case 4:
			ck_assert_uint_eq(e[2], 0xff);
			ck_assert_uint_eq(e[5], 1);
			nnmi++;
			break;
		default:
			ck_abort_msg("unexpected MADT entry %u", e[0]);
		}
	}
	ck_assert_ptr_eq(e, madt + ld_le32(madt + 4));
	ck_assert_uint_eq(nlapic, ncpu);
	ck_assert_uint_eq(nioapic, 1);
	ck_assert_uint_eq(niso, 2);
	ck_assert_uint_eq(nnmi, 1);

	if (mcfg) {
		ck_assert_uint_eq(ld_le32(mcfg + 4), 60);
		ck_assert_uint_eq(ld_le64(mcfg + 44), 0xb0000000);
		ck_assert_uint_eq(mcfg[54], 0);
		ck_assert_uint_eq(mcfg[55], 255);
	}

	/* DSDT contents through the independent walker */
	walk_dsdt(dsdt, w);
	ck_assert(aml_find(w, "\\_SB_")->device == false);
	check_hid(w, "\\_SB_.COM1", "PNP0501");
	check_hid(w, "\\_SB_.RTC_", "PNP0B00");
	check_hid(w, "\\_SB_.KBD_", "PNP0303");
	check_hid(w, "\\_SB_.PCI0", m == ACPI_MACHINE_Q35 ? "PNP0A08" : "PNP0A03");
	walk_res(aml_value(w, "\\_SB_.COM1._CRS"), &r);
	ck_assert_uint_eq(r.nio, 1);
	ck_assert_uint_eq(r.io_min[0], 0x3f8);
	ck_assert_uint_eq(r.io_len[0], 8);
	ck_assert_uint_eq(r.irq_mask, 1u << 4);
	walk_res(aml_value(w, "\\_SB_.RTC_._CRS"), &r);
	ck_assert_uint_eq(r.io_min[0], 0x70);
	ck_assert_uint_eq(r.irq_mask, 1u << 8);
	walk_res(aml_value(w, "\\_SB_.KBD_._CRS"), &r);
	ck_assert_uint_eq(r.nio, 2);
	ck_assert_uint_eq(r.io_min[1], 0x64);
	ck_assert_uint_eq(r.irq_mask, 1u << 1);
	walk_res(aml_value(w, "\\_SB_.PCI0._CRS"), &r);
	ck_assert_uint_eq(r.nwindows, 6);   /* bus, 2 x IO, VGA, 32-bit, 64-bit */
	ck_assert_uint_eq(r.mem_min[1], 0xc0000000);
	ck_assert_uint_eq(r.mem_min[1] + r.mem_len[1], 0xfec00000);
	ck_assert_uint_eq(r.mem_min[2], MM_PCI_MMIO64);
	/* _PRT: 8 slots x 4 pins, GSI mode */
	{
		const uint8_t *prt = aml_value(w, "\\_SB_.PCI0._PRT");
		uint32_t len;
		size_t nb = rd_pkglen(prt + 1, prt + 4096, &len);

		ck_assert_uint_eq(prt[0], 0x12);
		ck_assert_uint_eq(prt[1 + nb], 32);
	}
	for (i = 0; i < ncpu; i++) {
		char path[32];

		snprintf(path, sizeof(path), "\\_SB_.C%03X._UID", i);
		ck_assert_uint_eq(aml_intval(aml_value(w, path)), i);
	}
	/* \_S5 = Package { SLP_TYP, SLP_TYP, 0, 0 } */
	{
		const uint8_t *s5 = aml_value(w, "\\_S5_");
		uint32_t len;
		size_t nb = rd_pkglen(s5 + 1, s5 + 64, &len);

		ck_assert_uint_eq(s5[0], 0x12);
		ck_assert_uint_eq(s5[1 + nb], 4);
		ck_assert_uint_eq(aml_intval(s5 + 2 + nb), 5);
	}
	if (m == ACPI_MACHINE_Q35) {
		check_hid(w, "\\_SB_.MRES", "PNP0C02");
	} else {
		ck_assert_ptr_null(aml_find(w, "\\_SB_.MRES"));
	}
	free(w);
}

START_TEST(test_fixed_q35)
{
	check_fixed(ACPI_MACHINE_Q35, 4);
	check_fixed(ACPI_MACHINE_Q35, 1);
}
END_TEST

START_TEST(test_fixed_pc)
{
	check_fixed(ACPI_MACHINE_PC, 2);
}
END_TEST

START_TEST(test_many_cpus)
{
	/* 255 CPUs make a DSDT scope above 4 KiB: 3-byte PkgLengths */
	check_fixed(ACPI_MACHINE_Q35, ACPI_MAX_CPUS);
	ck_assert(ld_le32(find_table("FACP") + 112) & BIT(19));   /* physical APIC mode */
}
END_TEST

START_TEST(test_bad_config)
{
	struct acpi_config cfg;

	acpi_config_default(&cfg, ACPI_MACHINE_Q35, 0);
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), -EINVAL);
	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), -EINVAL);
	cfg.nr_cpus = 2;
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, 200, BASE), -ENOSPC);
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE + 8), -EINVAL);
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), 0xfffffe00), -ENOSPC);
	cfg.ecam_base = 0;
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), -EINVAL);
	cfg.ecam_base = 0xb0000001;
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), -EINVAL);
	acpi_config_default(&cfg, ACPI_MACHINE_PC, 2);
	cfg.gpe0_len = 3;
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), -EINVAL);
	acpi_config_default(&cfg, ACPI_MACHINE_PC, 2);
	cfg.pci_mmio32_base = 0xf0000000;
	cfg.pci_mmio32_size = 0x20000000;
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), -EINVAL);
	acpi_config_default(&cfg, ACPI_MACHINE_PC, 2);
	cfg.sci_gsi = 200;
	ck_assert_int_eq(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), -EINVAL);
	/* an SCI on an IOAPIC-only GSI gets no ISA override */
	acpi_config_default(&cfg, ACPI_MACHINE_PC, 2);
	cfg.sci_gsi = 20;
	ck_assert_int_gt(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), 0);
	ck_assert_uint_eq(ld_le32(find_table("APIC") + 4), 36 + 8 + 2 * 8 + 12 + 10 + 6);
	/* a base that is 16- but not 64-aligned still gets an aligned FACS */
	acpi_config_default(&cfg, ACPI_MACHINE_PC, 2);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_gt(acpi_build_fixed(&cfg, buf + 16, sizeof(buf) - 16, BASE + 16), 0);
	memmove(buf, buf + 16, sizeof(buf) - 16);
	{
		/* re-read relative to the shifted base */
		uint64_t x = ld_le64(buf + 24) - 16;
		const uint8_t *xs = at(x, 36);
		uint64_t f = ld_le64(xs + 36) - 16;
		const uint8_t *fadt = at(f, 276);

		ck_assert_mem_eq(fadt, "FACP", 4);
		ck_assert_uint_eq(ld_le64(fadt + 132) % 64, 0);
	}
}
END_TEST

/* Replay etc/table-loader the way OVMF's QemuFwCfgAcpi.c does. */
START_TEST(test_loader_replay)
{
	struct acpi_config cfg;
	struct acpi_blobs b;
	uint8_t *tables, *rsdp;
	const uint64_t tables_gpa = 0x7ff00000, rsdp_gpa = 0xf5a40;
	size_t i, ncmd;
	bool seen_cksum = false;
	unsigned nptr = 0, ninstall = 0;
	const char *const expect[] = { "FACS", "DSDT", "FACP", "APIC", "MCFG", "XSDT" };
	unsigned found[ARRAY_SIZE(expect)] = { 0 };

	acpi_config_default(&cfg, ACPI_MACHINE_Q35, 2);
	ck_assert_int_eq(acpi_build_loader(&cfg, &b), 0);
	ck_assert_uint_eq(b.loader_len % ACPI_LOADER_ENTRY_SIZE, 0);
	ck_assert_uint_eq(b.rsdp_len, 36);
	ncmd = b.loader_len / ACPI_LOADER_ENTRY_SIZE;
	tables = malloc(b.tables_len);
	rsdp = malloc(b.rsdp_len);
	memcpy(tables, b.tables, b.tables_len);
	memcpy(rsdp, b.rsdp, b.rsdp_len);

	for (i = 0; i < ncmd; i++) {
		const uint8_t *c = b.loader + i * ACPI_LOADER_ENTRY_SIZE;
		const char *f1 = (const char *)c + 4;
		bool is_rsdp = !strcmp(f1, ACPI_FWCFG_RSDP);
		uint8_t *blob = is_rsdp ? rsdp : tables;
		size_t blen = is_rsdp ? b.rsdp_len : b.tables_len;

		ck_assert_uint_eq(c[4 + 55], 0);
		ck_assert(is_rsdp || !strcmp(f1, ACPI_FWCFG_TABLES));
		switch (ld_le32(c)) {
		case ACPI_LOADER_ALLOCATE:
			ck_assert_uint_lt(i, 2);
			ck_assert_uint_eq(ld_le32(c + 60), is_rsdp ? 16 : 64);
			ck_assert_uint_eq(c[64], is_rsdp ? ACPI_LOADER_ZONE_FSEG
							 : ACPI_LOADER_ZONE_HIGH);
			break;
		case ACPI_LOADER_ADD_POINTER: {
			uint32_t off = ld_le32(c + 116);
			uint8_t size = c[120];
			uint64_t v;

			ck_assert(!seen_cksum);   /* pointers must be patched before checksums */
			ck_assert_str_eq((const char *)c + 60, ACPI_FWCFG_TABLES);
			ck_assert(size == 1 || size == 2 || size == 4 || size == 8);
			ck_assert_uint_le(off + size, blen);
			v = size == 8 ? ld_le64(blob + off) : ld_le32(blob + off);
			ck_assert_uint_lt(v, b.tables_len);   /* OVMF: pointee inside the blob */
			st_le64(blob + off, v + tables_gpa);
			nptr++;
			break;
		}
		case ACPI_LOADER_ADD_CHECKSUM: {
			uint32_t res = ld_le32(c + 60), start = ld_le32(c + 64), len = ld_le32(c + 68);

			seen_cksum = true;
			ck_assert_uint_lt(res, blen);
			ck_assert_uint_le((uint64_t)start + len, blen);
			ck_assert_uint_eq(blob[res], 0);   /* the blob leaves it to the firmware */
			blob[res] = acpi_checksum(blob + start, len);
			break;
		}
		default:
			ck_abort_msg("unknown loader command");
		}
	}
	ck_assert_uint_eq(nptr, 6);   /* FADT: FACS, DSDT; XSDT: 3; RSDP: 1 */

	/* second pass: every pointer target is an installable, checksummed table */
	for (i = 0; i < ncmd; i++) {
		const uint8_t *c = b.loader + i * ACPI_LOADER_ENTRY_SIZE;
		const uint8_t *blob, *t;
		unsigned k;

		if (ld_le32(c) != ACPI_LOADER_ADD_POINTER)
			continue;
		blob = !strcmp((const char *)c + 4, ACPI_FWCFG_RSDP) ? rsdp : tables;
		t = tables + (ld_le64(blob + ld_le32(c + 116)) - tables_gpa);
		if (memcmp(t, "FACS", 4))
			ck_assert_uint_eq(sum8(t, ld_le32(t + 4)), 0);
		for (k = 0; k < ARRAY_SIZE(expect); k++)
			if (!memcmp(t, expect[k], 4))
				found[k]++;
		ninstall++;
	}
	for (i = 0; i < ARRAY_SIZE(expect); i++)
		ck_assert_msg(found[i] == 1, "%s referenced %u times", expect[i], found[i]);
	ck_assert_uint_eq(ninstall, 6);
	ck_assert_uint_eq(sum8(rsdp, 20), 0);
	ck_assert_uint_eq(sum8(rsdp, 36), 0);
	ck_assert_uint_eq(ld_le64(rsdp + 24) % 8, 0);
	(void)rsdp_gpa;

	free(tables);
	free(rsdp);
	acpi_blobs_free(&b);
	ck_assert_ptr_null(b.tables);

	cfg.nr_cpus = 0;
	ck_assert_int_eq(acpi_build_loader(&cfg, &b), -EINVAL);
	ck_assert_ptr_null(b.loader);
}
END_TEST

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static int run_iasl_on(const char *dir, const char *name, const uint8_t *t)
{
	char path[256], cmd[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(t, 1, ld_le32(t + 4), f), ld_le32(t + 4));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >iasl-%s.log 2>&1", dir, name, name);
	return system(cmd);
}

START_TEST(test_iasl)
{
	struct acpi_config cfg;
	char dir[] = "/tmp/kvmrun-acpi-XXXXXX", cmd[512];
	const uint8_t *fadt;
	int m;

	if (!have_iasl()) {
		fprintf(stderr, "\n*** SKIP test_iasl: iasl not found (install acpica-tools); "
				"AML is only checked by the built-in walker ***\n\n");
		return;
	}
	for (m = 0; m < 2; m++) {
		ck_assert_ptr_nonnull(mkdtemp(dir));
		acpi_config_default(&cfg, m ? ACPI_MACHINE_Q35 : ACPI_MACHINE_PC, 3);
		cfg.pci_irq_gsi = prt_gsi;
		ck_assert_int_gt(acpi_build_fixed(&cfg, buf, sizeof(buf), BASE), 0);
		fadt = find_table("FACP");
		ck_assert_int_eq(run_iasl_on(dir, "dsdt", table_at(ld_le64(fadt + 140), "DSDT")), 0);
		ck_assert_int_eq(run_iasl_on(dir, "facp", fadt), 0);
		ck_assert_int_eq(run_iasl_on(dir, "apic", find_table("APIC")), 0);
		ck_assert_int_eq(run_iasl_on(dir, "xsdt", table_at(ld_le64(buf + 24), "XSDT")), 0);
		if (m)
			ck_assert_int_eq(run_iasl_on(dir, "mcfg", find_table("MCFG")), 0);
		/* the disassembly must compile back without errors or warnings */
		snprintf(cmd, sizeof(cmd),
			 "cd %s && iasl -p re dsdt.dsl >re.log 2>&1 && "
			 "grep -q ' 0 Errors, 0 Warnings' re.log", dir);
		ck_assert_msg(system(cmd) == 0, "iasl recompile of the DSDT failed, see %s", dir);
		snprintf(cmd, sizeof(cmd),
			 "cd %s && grep -q 'Reset Register Supported (V2) : 1' facp.dsl && "
			 "grep -q 'Processor Local APIC' apic.dsl && "
			 "grep -q 'PNP0501' dsdt.dsl && grep -q '_S5_' dsdt.dsl", dir);
		ck_assert_msg(system(cmd) == 0, "unexpected iasl disassembly, see %s", dir);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ck_assert_int_eq(system(cmd), 0);
		strcpy(dir, "/tmp/kvmrun-acpi-XXXXXX");
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_checksum);
	tcase_add_test(tc, test_fixed_q35);
	tcase_add_test(tc, test_fixed_pc);
	tcase_add_test(tc, test_many_cpus);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_loader_replay);
	tcase_add_test(tc, test_iasl);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
