#include "tdx/tdx_cfg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"

#define OBJ_FMT "-object tdx-guest,id=%s"

const char *tdx_cfg_attr_name(unsigned bit)
{
	switch (bit) {
	case 0: return "DEBUG";
	case 4: return "HGS_PLUS";
	case 5: return "PERF_PROF";
	case 6: return "PMT";
	case 16: return "ICSSD";
	case 27: return "LASS";
	case 28: return "SEPT_VE_DISABLE";
	case 29: return "MIGRATABLE";
	case 30: return "PKS";
	case 31: return "KL";
	case 62: return "TPA";
	case 63: return "PERFMON";
	default: return NULL;
	}
}

const char *tdx_cfg_xfam_name(unsigned bit)
{
	static const char *const names[] = {
		"X87", "SSE", "AVX", "MPX_BNDREGS", "MPX_BNDCSR", "AVX512_OPMASK",
		"AVX512_ZMM_HI256", "AVX512_HI16_ZMM", "PT", "PKRU", "PASID", "CET_U",
		"CET_S", "HDC", "UINTR", "LBR", "HWP", "AMX_TILECFG", "AMX_TILEDATA",
	};

	return bit < ARRAY_SIZE(names) ? names[bit] : NULL;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long tdx_cfg_base64_decode(const char *s, uint8_t *out, size_t max, size_t *bad_pos)
{
	size_t len = strlen(s), i, n = 0, pad = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	*bad_pos = 0;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	/* Report the first character outside the alphabet before any length problem. */
	for (i = 0; i < len - pad; i++) {
		if (b64_value(s[i]) < 0) {
			*bad_pos = i;
			return -EINVAL;
		}
	}
	if (len % 4) {
		*bad_pos = len;
		return -EINVAL;
	}
	for (i = 0; i < len - pad; i++) {
		acc = (acc << 6) | (uint32_t)b64_value(s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return -E2BIG;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, or the text is not the canonical encoding. */
	if (acc & ((1u << bits) - 1)) {
		*bad_pos = len - pad - 1;
		return -EINVAL;
	}
	return (long)n;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -EINVAL : 0;
}

static int parse_onoff(const char *s)
{
	static const char *const on[] = { "on", "yes", "true", "y" };
	static const char *const off[] = { "off", "no", "false", "n" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(on); i++)
		if (!strcmp(s, on[i]))
			return 1;
	for (i = 0; i < ARRAY_SIZE(off); i++)
		if (!strcmp(s, off[i]))
			return 0;
	return -EINVAL;
}

static int parse_digest(const char *id, const char *key, const char *val, uint8_t out[48])
{
	uint8_t buf[TDX_DIGEST_SIZE + 3];
	size_t bad;
	long n = tdx_cfg_base64_decode(val, buf, sizeof(buf), &bad);

	if (n == -E2BIG)
		return err_set(-EINVAL, OBJ_FMT ": %s decodes to more than %d bytes; it must be a "
					"base64 SHA-384 digest (48 bytes)", id, key, TDX_DIGEST_SIZE);
	if (n < 0)
		return err_set(-EINVAL, OBJ_FMT ": %s is not valid base64 (at character %zu)", id,
			       key, bad + 1);
	if (n != TDX_DIGEST_SIZE)
		return err_set(-EINVAL, OBJ_FMT ": %s decodes to %ld bytes; a SHA-384 digest is %d",
			       id, key, n, TDX_DIGEST_SIZE);
	memcpy(out, buf, TDX_DIGEST_SIZE);
	return 0;
}

static int check_attributes(const char *id, uint64_t attrs)
{
	unsigned bit;

	if (attrs & TDX_ATTR_DEBUG)
		return err_set(-EINVAL, OBJ_FMT ": attributes=0x%" PRIx64 ": the DEBUG attribute "
					"(bit 0) is not supported (KVM cannot run debug TDs)", id,
			       attrs);
	for (bit = 0; bit < 64; bit++) {
		const char *n = tdx_cfg_attr_name(bit);

		if (!(attrs & BIT(bit)) || (TDX_ATTR_ALLOWED & BIT(bit)))
			continue;
		return err_set(-EINVAL, OBJ_FMT ": attributes=0x%" PRIx64 ": bit %u (%s) is not "
					"supported by kvmrun (allowed: SEPT_VE_DISABLE, PKS, "
					"PERFMON)", id, attrs, bit, n ? n : "reserved");
	}
	return 0;
}

static struct optlist *find_object(struct config *cfg, const char *id, int *idx)
{
	int i, k;

	for (i = 0; i < cfg->nobjects; i++) {
		struct optlist *o = &cfg->objects[i];

		for (k = 0; k < o->nprops; k++) {
			if (!strcmp(o->props[k].key, "id") && o->props[k].val &&
			    !strcmp(o->props[k].val, id)) {
				*idx = k;
				return o;
			}
		}
	}
	return NULL;
}

static int parse_object(struct optlist *o, const char *id, struct tdx_cfg *out)
{
	int sept = -1, k, r;

	for (k = 0; k < o->nprops; k++) {
		const char *key = o->props[k].key, *val = o->props[k].val ? o->props[k].val : "";
		uint64_t v;

		r = 0;
		if (!strcmp(key, "id")) {
			/* the name we were looked up by */
		} else if (!strcmp(key, "attributes")) {
			r = parse_u64(val, &v);
			if (r < 0)
				return err_set(-EINVAL, OBJ_FMT ": attributes=%s is not a number",
					       id, val);
			out->attributes = v;
		} else if (!strcmp(key, "sept-ve-disable")) {
			sept = parse_onoff(val);
			if (sept < 0)
				return err_set(-EINVAL, OBJ_FMT ": sept-ve-disable=%s: expected on or "
							"off", id, val);
		} else if (!strcmp(key, "mrconfigid")) {
			r = parse_digest(id, key, val, out->mrconfigid);
		} else if (!strcmp(key, "mrowner")) {
			r = parse_digest(id, key, val, out->mrowner);
		} else if (!strcmp(key, "mrownerconfig")) {
			r = parse_digest(id, key, val, out->mrownerconfig);
		} else if (!strcmp(key, "quote-generation-socket")) {
			return err_set(-EINVAL, OBJ_FMT ": quote-generation-socket is not supported "
						"(kvmrun has no quote service; GetQuote returns "
						"SUBFUNC_UNSUPPORTED)", id);
		} else {
			return err_set(-EINVAL, OBJ_FMT ": unknown property '%s' (known: attributes, "
						"sept-ve-disable, mrconfigid, mrowner, mrownerconfig)",
				       id, key);
		}
		if (r < 0)
			return r;
		o->used[k] = true;
	}
	/* sept-ve-disable overrides bit 28 of attributes=, whatever the order. */
	if (sept == 1)
		out->attributes |= TDX_ATTR_SEPT_VE_DISABLE;
	else if (sept == 0)
		out->attributes &= ~TDX_ATTR_SEPT_VE_DISABLE;
	return check_attributes(id, out->attributes);
}

static int check_machine(const struct config *cfg)
{
	int i;

	if (cfg->machine != MACHINE_Q35)
		return err_set(-EINVAL, "-machine confidential-guest-support: TDX needs "
					"-machine q35");
	if (cfg->irqchip != IRQCHIP_SPLIT)
		return err_set(-EINVAL, "-machine: TDX requires kernel-irqchip=split (the TDX "
					"module virtualises the local APIC; the I/O APIC stays "
					"in kvmrun)");
	if (cfg->smm == OOA_ON)
		return err_set(-EINVAL, "-machine smm=on: TDX guests cannot use SMM");
	for (i = 0; i < cfg->ndrives; i++)
		if (cfg->drives[i].iface == DRIVE_IF_PFLASH)
			return err_set(-EINVAL, "-drive if=pflash: a TD cannot use flash (KVM has "
						"no read-only memory for TDs); load TDVF with -bios");
	if (!cfg->bios || !*cfg->bios)
		return err_set(-EINVAL, "TDX needs its firmware: -bios TDVF.fd (a TDX-enabled "
					"OVMF, e.g. OVMF.inteltdx.fd)");
	return 0;
}

int tdx_cfg_parse(struct config *cfg, struct tdx_cfg *out)
{
	const char *id = cfg->confidential_guest_support;
	struct optlist *o;
	int idx, r;

	memset(out, 0, sizeof(*out));
	out->attributes = TDX_ATTR_SEPT_VE_DISABLE;
	if (!id || !*id)
		return err_set(-EINVAL, "-machine confidential-guest-support= names no object");
	o = find_object(cfg, id, &idx);
	if (!o)
		return err_set(-EINVAL, "-machine confidential-guest-support=%s: no -object with "
					"id=%s", id, id);
	if (!o->name || strcmp(o->name, "tdx-guest"))
		return err_set(-EINVAL, "-object %s,id=%s: confidential guest type '%s' is not "
					"supported (only tdx-guest)", o->name ? o->name : "", id,
			       o->name ? o->name : "");
	out->id = id;
	r = parse_object(o, id, out);
	if (r < 0)
		return r;
	r = check_machine(cfg);
	if (r < 0)
		return r;
	out->firmware = cfg->bios;
	out->ram_size = cfg->ram_size ? cfg->ram_size : 128 * MiB;
	out->ncpus = cfg->smp_cpus > 0 ? cfg->smp_cpus : 1;
	return 0;
}
