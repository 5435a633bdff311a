/* Unit tests for devices/chipset/q35_mch.c: Q35 MCH registers, SMRAM/TSEG, PCIEXBAR, PAM. */
#include <errno.h>

#include "devices/chipset/q35_mch.h"
#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/memmap.h"

#define LOW_TOP (256 * MiB)

static struct bus pio, mmio;
static struct pci_bus *pb;
static struct q35_mch *mch;
static struct io_ctx ctx = { .cpu = 0 };

static struct mch_smram last_smram;
static unsigned smram_calls;
static struct mch_pam_seg last_pam[MCH_PAM_SEGS];
static unsigned pam_calls, pam_n;

static void on_smram(void *opaque, const struct mch_smram *s)
{
	last_smram = *s;
	smram_calls++;
}

static void on_pam(void *opaque, const struct mch_pam_seg *segs, unsigned n)
{
	pam_calls++;
	pam_n = n;
	memcpy(last_pam, segs, MIN(n, (unsigned)MCH_PAM_SEGS) * sizeof(*segs));
}

static void make_mch(uint16_t ext_tseg_mb)
{
	struct q35_mch_config cfg = {
		.low_top = LOW_TOP, .ext_tseg_mb = ext_tseg_mb,
		.on_smram = on_smram, .on_pam = on_pam,
	};

	ck_assert_int_eq(q35_mch_create(pb, &cfg, &mch), 0);
}

static void setup(void)
{
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	ck_assert_int_eq(pci_bus_create(&pio, &mmio, NULL, &pb), 0);
	smram_calls = pam_calls = 0;
	make_mch(Q35_EXT_TSEG_MB_DEFAULT);
}

static void teardown(void)
{
	q35_mch_destroy(mch);
	pci_bus_destroy(pb);
	ck_assert_uint_eq(mmio.n, 0);
	bus_free(&pio);
	bus_free(&mmio);
}

/* Config access the way firmware does it: CF8/CFC. */
static uint32_t rd(unsigned reg, unsigned size)
{
	uint32_t a = 0x80000000u | (reg & 0xfc), v = 0;

	bus_write(&pio, &ctx, 0xcf8, &a, 4);
	bus_read(&pio, &ctx, 0xcfc + (reg & 3), &v, size);
	return v;
}

static void wr(unsigned reg, uint32_t val, unsigned size)
{
	uint32_t a = 0x80000000u | (reg & 0xfc);

	bus_write(&pio, &ctx, 0xcf8, &a, 4);
	bus_write(&pio, &ctx, 0xcfc + (reg & 3), &val, size);
}

static uint32_t ecam_rd(uint64_t addr, unsigned size)
{
	uint32_t v = 0;

	bus_read(&mmio, &ctx, addr, &v, size);
	return v;
}

START_TEST(test_identity)
{
	ck_assert_uint_eq(rd(0, 4), 0x29c08086);
	ck_assert_uint_eq(rd(PCI_CFG_REVISION, 4), 0x06000000);
	ck_assert_uint_eq(rd(PCI_CFG_HEADER_TYPE, 1), 0);
	ck_assert_uint_eq(rd(PCI_CFG_SUBSYS_VENDOR, 4), 0x11001af4);
	ck_assert_uint_eq(rd(PCI_CFG_INT_PIN, 1), 0);
	/* IDs are read-only (OVMF's Q35BoardVerification depends on them) */
	wr(0, 0, 4);
	wr(PCI_CFG_SUBCLASS, 0xffff, 2);
	ck_assert_uint_eq(rd(0, 4), 0x29c08086);
	ck_assert_uint_eq(rd(PCI_CFG_SUBCLASS, 2), 0x0600);
	ck_assert_ptr_eq(pci_bus_find(pb, Q35_MCH_DEVFN), &mch->pci);
}
END_TEST

START_TEST(test_scratch_registers)
{
	/* what SmmAccessPei writes and later reads back */
	wr(MCH_GGC, 0x0002, 2);
	wr(MCH_TOLUD, 256 << 4, 2);
	wr(MCH_GBSM, 256u << 20, 4);
	wr(MCH_BGSM, 256u << 20, 4);
	wr(MCH_TSEGMB, (256u - 16) << 20, 4);
	ck_assert_uint_eq(rd(MCH_GGC, 2), 0x0002);
	ck_assert_uint_eq(rd(MCH_TOLUD, 2), 0x1000);
	ck_assert_uint_eq(rd(MCH_GBSM, 4), 0x10000000);
	ck_assert_uint_eq(rd(MCH_BGSM, 4), 0x10000000);
	ck_assert_uint_eq(rd(MCH_TSEGMB, 4), 0x0f000000);
	/* any other byte of 0x40..0xff, any width */
	wr(0xc1, 0xa5, 1);
	wr(0xfc, 0xdeadbeef, 4);
	wr(0x40, 0x1234, 2);
	ck_assert_uint_eq(rd(0xc1, 1), 0xa5);
	ck_assert_uint_eq(rd(0xfc, 4), 0xdeadbeef);
	ck_assert_uint_eq(rd(0x40, 2), 0x1234);
	/* TSEGMB is scratch: it does not move TSEG (QEMU places TSEG itself) */
	wr(MCH_TSEGMB, 0x01000000, 4);
	ck_assert_uint_eq(last_smram.tseg_base + last_smram.tseg_size, LOW_TOP);
}
END_TEST

START_TEST(test_ext_tseg_probe)
{
	/* QEMU already answers the size right after reset */
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 2), Q35_EXT_TSEG_MB_DEFAULT);
	/* OVMF's Q35TsegMbytesInitialization: write 0xffff, read the size */
	wr(MCH_EXT_TSEG_MBYTES, 0xffff, 2);
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 2), 16);
	/* other values are scratch */
	wr(MCH_EXT_TSEG_MBYTES, 0x1234, 2);
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 2), 0x1234);
	/* byte-wise query: only when the whole word reads 0xffff */
	wr(MCH_EXT_TSEG_MBYTES, 0xff, 1);
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 2), 0x12ff);
	wr(MCH_EXT_TSEG_MBYTES + 1, 0xff, 1);
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 2), 16);
	/* a dword write covering 0x50..0x53 also hits GGC */
	wr(MCH_EXT_TSEG_MBYTES, 0x0002ffff, 4);
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 4), 0x00020010);

	/* without extended TSEG the probe reads 0xffff: OVMF then uses 8 MiB */
	q35_mch_destroy(mch);
	make_mch(0);
	wr(MCH_EXT_TSEG_MBYTES, 0xffff, 2);
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 2), 0xffff);
	/* and a configured 64 MiB answers 64 */
	q35_mch_destroy(mch);
	make_mch(64);
	wr(MCH_EXT_TSEG_MBYTES, 0xffff, 2);
	ck_assert_uint_eq(rd(MCH_EXT_TSEG_MBYTES, 2), 64);
}
END_TEST

START_TEST(test_esmramc_and_f_smbase)
{
	/* SmmAccessPei: "(ESMRAMC & (SM_CACHE|SM_L1|SM_L2)) == 0x38" */
	ck_assert_uint_eq(rd(MCH_ESMRAMC, 1), 0x38);
	wr(MCH_ESMRAMC, 0x00, 1);
	ck_assert_uint_eq(rd(MCH_ESMRAMC, 1), 0x38);
	wr(MCH_ESMRAMC, 0xff, 1);
	ck_assert_uint_eq(rd(MCH_ESMRAMC, 1), 0xbf);    /* E_SMERR stays 0 */
	/* Q35SmramAtDefaultSmbaseInitialization: write 0xff, 0x01 means "present" */
	wr(MCH_F_SMBASE, 0xff, 1);
	ck_assert_uint_ne(rd(MCH_F_SMBASE, 1), 0x01);
	wr(MCH_F_SMBASE, 0x01, 1);
	ck_assert_uint_ne(rd(MCH_F_SMBASE, 1), 0x01);
	wr(MCH_F_SMBASE, 0x02, 1);
	ck_assert_uint_eq(rd(MCH_F_SMBASE, 1), 0);
	/* C_BASE_SEG is hard-wired 010b */
	ck_assert_uint_eq(rd(MCH_SMRAM, 1), 0x02);
	wr(MCH_SMRAM, 0x05, 1);
	ck_assert_uint_eq(rd(MCH_SMRAM, 1) & 7, 2);
}
END_TEST

START_TEST(test_ovmf_smm_access_sequence)
{
	const unsigned top_mb = LOW_TOP / MiB;
	unsigned tseg_mb, n;
	uint8_t esmramc;

	/* initial report: TSEG not closed, nothing locked */
	ck_assert_uint_ge(smram_calls, 1);
	ck_assert(!last_smram.tseg_closed);
	ck_assert(!last_smram.d_lck);
	ck_assert(!last_smram.g_smrame);

	/* PlatformPei */
	ck_assert_uint_eq(rd(PCI_CFG_DEVICE_ID, 2), 0x29c0);
	wr(MCH_EXT_TSEG_MBYTES, 0xffff, 2);
	tseg_mb = rd(MCH_EXT_TSEG_MBYTES, 2);
	ck_assert_uint_eq(tseg_mb, 16);
	wr(MCH_F_SMBASE, 0xff, 1);
	ck_assert_uint_ne(rd(MCH_F_SMBASE, 1), 0x01);

	/* SmmAccessPei */
	esmramc = (uint8_t)rd(MCH_ESMRAMC, 1);
	ck_assert_uint_eq(esmramc & 0x38, 0x38);
	wr(MCH_GGC, 0x0002, 2);
	wr(MCH_TOLUD, top_mb << 4, 2);
	wr(MCH_GBSM, top_mb << 20, 4);
	wr(MCH_BGSM, top_mb << 20, 4);
	wr(MCH_TSEGMB, (top_mb - tseg_mb) << 20, 4);
	esmramc &= (uint8_t)~MCH_ESMRAMC_TSEG_SZ;
	esmramc |= MCH_ESMRAMC_TSEG_EXT | MCH_ESMRAMC_T_EN;
	n = smram_calls;
	wr(MCH_ESMRAMC, esmramc, 1);
	/* T_EN without G_SMRAME does not close TSEG yet */
	ck_assert(!last_smram.tseg_closed);
	wr(MCH_SMRAM, (rd(MCH_SMRAM, 1) & ~MCH_SMRAM_D_LCK) | MCH_SMRAM_G_SMRAME, 1);
	ck_assert_uint_gt(smram_calls, n);
	ck_assert(last_smram.tseg_closed);
	ck_assert_uint_eq(last_smram.tseg_base, LOW_TOP - 16 * MiB);
	ck_assert_uint_eq(last_smram.tseg_size, 16 * MiB);
	/* what OVMF computes from TSEGMB agrees with what the machine is told */
	ck_assert_uint_eq(rd(MCH_TSEGMB, 4), last_smram.tseg_base);
	ck_assert(last_smram.g_smrame);
	ck_assert(last_smram.low_smram);
	ck_assert(!last_smram.d_lck);

	/* SmramAccessOpen: clear T_EN, must read back clear */
	wr(MCH_ESMRAMC, rd(MCH_ESMRAMC, 1) & ~MCH_ESMRAMC_T_EN, 1);
	ck_assert_uint_eq(rd(MCH_ESMRAMC, 1) & MCH_ESMRAMC_T_EN, 0);
	ck_assert(!last_smram.tseg_closed);
	/* SmramAccessClose */
	wr(MCH_ESMRAMC, rd(MCH_ESMRAMC, 1) | MCH_ESMRAMC_T_EN, 1);
	ck_assert(last_smram.tseg_closed);
	/* SmramAccessLock: T_EN, then D_LCK; both must read back */
	wr(MCH_ESMRAMC, rd(MCH_ESMRAMC, 1) | MCH_ESMRAMC_T_EN, 1);
	wr(MCH_SMRAM, rd(MCH_SMRAM, 1) | MCH_SMRAM_D_LCK, 1);
	ck_assert(rd(MCH_SMRAM, 1) & MCH_SMRAM_D_LCK);
	ck_assert(rd(MCH_ESMRAMC, 1) & MCH_ESMRAMC_T_EN);
	ck_assert(last_smram.d_lck);
	ck_assert(last_smram.tseg_closed);

	/* after the lock nothing reopens TSEG */
	n = smram_calls;
	wr(MCH_ESMRAMC, 0x00, 1);
	wr(MCH_ESMRAMC, MCH_ESMRAMC_H_SMRAME | MCH_ESMRAMC_TSEG_1M, 1);
	ck_assert_uint_eq(rd(MCH_ESMRAMC, 1), 0x38 | MCH_ESMRAMC_TSEG_EXT | MCH_ESMRAMC_T_EN);
	wr(MCH_SMRAM, MCH_SMRAM_D_OPEN, 1);
	wr(MCH_SMRAM, 0x00, 1);
	ck_assert_uint_eq(rd(MCH_SMRAM, 1), MCH_SMRAM_D_LCK | MCH_SMRAM_G_SMRAME | 0x02);
	ck_assert_uint_eq(smram_calls, n);
	ck_assert(last_smram.tseg_closed);
	/* only D_CLS stays writable */
	wr(MCH_SMRAM, 0xff, 1);
	ck_assert_uint_eq(rd(MCH_SMRAM, 1), MCH_SMRAM_D_CLS | MCH_SMRAM_D_LCK |
			  MCH_SMRAM_G_SMRAME | 0x02);
	ck_assert(last_smram.d_cls);
	/* a dword write over 0x9c..0x9f cannot get around the lock either */
	wr(MCH_F_SMBASE, 0xaa0000ff, 4);
	ck_assert_uint_eq(rd(MCH_F_SMBASE, 4),
			  0xaa000000 | (0x38u | MCH_ESMRAMC_TSEG_EXT | MCH_ESMRAMC_T_EN) << 16 |
			  (MCH_SMRAM_D_LCK | MCH_SMRAM_G_SMRAME | 0x02) << 8);
	ck_assert(last_smram.tseg_closed);

	/* reset unlocks everything and reports it */
	n = smram_calls;
	pci_bus_reset(pb);
	ck_assert_uint_gt(smram_calls, n);
	ck_assert(!last_smram.tseg_closed);
	ck_assert(!last_smram.d_lck);
	ck_assert_uint_eq(rd(MCH_SMRAM, 1), MCH_SMRAM_RESET);
	ck_assert_uint_eq(rd(MCH_ESMRAMC, 1), MCH_ESMRAMC_RESET);
	ck_assert_uint_eq(rd(MCH_TSEGMB, 4), 0);
	wr(MCH_ESMRAMC, MCH_ESMRAMC_T_EN, 1);
	ck_assert_uint_eq(rd(MCH_ESMRAMC, 1), 0x39);
}
END_TEST

START_TEST(test_d_open_and_lock_in_one_write)
{
	/* D_OPEN set together with D_LCK: the lock wins */
	wr(MCH_SMRAM, MCH_SMRAM_D_OPEN | MCH_SMRAM_G_SMRAME, 1);
	ck_assert(last_smram.d_open);
	ck_assert(last_smram.low_open);
	ck_assert(last_smram.low_smram);
	wr(MCH_SMRAM, MCH_SMRAM_D_OPEN | MCH_SMRAM_D_LCK | MCH_SMRAM_G_SMRAME, 1);
	ck_assert_uint_eq(rd(MCH_SMRAM, 1) & MCH_SMRAM_D_OPEN, 0);
	ck_assert(!last_smram.d_open);
	ck_assert(!last_smram.low_open);
	ck_assert(last_smram.d_lck);
	q35_mch_get_smram(mch, &(struct mch_smram){ 0 });
}
END_TEST

START_TEST(test_tseg_sizes_and_low_smram)
{
	static const struct {
		uint8_t sz;
		uint64_t size;
	} cases[] = {
		{ MCH_ESMRAMC_TSEG_1M, 1 * MiB },
		{ MCH_ESMRAMC_TSEG_2M, 2 * MiB },
		{ MCH_ESMRAMC_TSEG_8M, 8 * MiB },
		{ MCH_ESMRAMC_TSEG_EXT, 16 * MiB },
	};
	struct mch_smram s;
	unsigned i;

	wr(MCH_SMRAM, MCH_SMRAM_G_SMRAME, 1);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		wr(MCH_ESMRAMC, cases[i].sz | MCH_ESMRAMC_T_EN, 1);
		q35_mch_get_smram(mch, &s);
		ck_assert_uint_eq(s.tseg_size, cases[i].size);
		ck_assert_uint_eq(s.tseg_base, LOW_TOP - cases[i].size);
		ck_assert(s.tseg_closed);
		ck_assert_uint_eq(last_smram.tseg_size, cases[i].size);
	}
	/* H_SMRAME moves SMRAM away from the A/B segment */
	wr(MCH_ESMRAMC, MCH_ESMRAMC_H_SMRAME | MCH_ESMRAMC_TSEG_1M, 1);
	ck_assert(last_smram.h_smrame);
	ck_assert(!last_smram.low_smram);
	ck_assert(!last_smram.tseg_closed);
	wr(MCH_SMRAM, MCH_SMRAM_G_SMRAME | MCH_SMRAM_D_OPEN, 1);
	ck_assert(!last_smram.low_open);
	/* no G_SMRAME: no SMRAM at all */
	wr(MCH_ESMRAMC, MCH_ESMRAMC_T_EN, 1);
	wr(MCH_SMRAM, 0, 1);
	ck_assert(!last_smram.tseg_closed);
	ck_assert(!last_smram.low_smram);

	/* extended TSEG larger than low RAM is clamped; none configured: size 0 */
	q35_mch_destroy(mch);
	ck_assert_int_eq(q35_mch_create(pb, &(struct q35_mch_config){
		.low_top = 8 * MiB, .ext_tseg_mb = 16, .on_smram = on_smram }, &mch), 0);
	wr(MCH_SMRAM, MCH_SMRAM_G_SMRAME, 1);
	wr(MCH_ESMRAMC, MCH_ESMRAMC_TSEG_EXT | MCH_ESMRAMC_T_EN, 1);
	ck_assert_uint_eq(last_smram.tseg_size, 8 * MiB);
	ck_assert_uint_eq(last_smram.tseg_base, 0);
	q35_mch_destroy(mch);
	make_mch(0);
	wr(MCH_SMRAM, MCH_SMRAM_G_SMRAME, 1);
	wr(MCH_ESMRAMC, MCH_ESMRAMC_TSEG_EXT | MCH_ESMRAMC_T_EN, 1);
	ck_assert_uint_eq(last_smram.tseg_size, 0);
	ck_assert(!last_smram.tseg_closed);
}
END_TEST

START_TEST(test_pciexbar)
{
	const uint64_t e = MM_PCIE_ECAM;

	/* reset: the default base, disabled */
	ck_assert_uint_eq(rd(MCH_PCIEXBAR, 4), 0xb0000000);
	ck_assert_uint_eq(rd(MCH_PCIEXBAR + 4, 4), 0);
	ck_assert_ptr_null(bus_find(&mmio, e));
	/* PlatformPei's PciExBarInitialization */
	wr(MCH_PCIEXBAR + 4, 0, 4);
	wr(MCH_PCIEXBAR, 0xb0000000 | 1, 4);
	ck_assert_uint_eq(ecam_rd(e, 4), 0x29c08086);
	ck_assert_ptr_nonnull(bus_find(&mmio, e + 256 * MiB - 1));
	ck_assert_uint_eq(ecam_rd(e + (1 << 20), 4), 0xffffffff);
	/* register reads back through ECAM itself */
	ck_assert_uint_eq(ecam_rd(e + MCH_PCIEXBAR, 4), 0xb0000001);
	/* 128 MiB at 0xe8000000 (bit 27 is an address bit for 128 MiB) */
	wr(MCH_PCIEXBAR, 0xe8000000 | 2 | 1, 4);
	ck_assert_ptr_null(bus_find(&mmio, e));
	ck_assert_uint_eq(ecam_rd(0xe8000000, 2), 0x8086);
	ck_assert_ptr_null(bus_find(&mmio, 0xe8000000 + 128 * MiB));
	/* 64 MiB: bits 27:26 are address */
	wr(MCH_PCIEXBAR, 0xe4000000 | 4 | 1, 4);
	ck_assert_uint_eq(ecam_rd(0xe4000000, 2), 0x8086);
	ck_assert_ptr_null(bus_find(&mmio, 0xe4000000 + 64 * MiB));
	/* with 256 MiB, bits 27:26 are not address bits */
	wr(MCH_PCIEXBAR, 0xec000000 | 1, 4);
	ck_assert_uint_eq(ecam_rd(0xe0000000, 2), 0x8086);
	/* reserved LENGTH: guest error, the window stays where it was */
	wr(MCH_PCIEXBAR, 0xc0000000 | 6 | 1, 4);
	ck_assert_uint_eq(ecam_rd(0xe0000000, 2), 0x8086);
	ck_assert_ptr_null(bus_find(&mmio, 0xc0000000));
	/* above 4 GiB through the high dword (bits 35:32) */
	wr(MCH_PCIEXBAR + 4, 0xf, 4);
	wr(MCH_PCIEXBAR, 0xb0000001, 4);
	ck_assert_uint_eq(ecam_rd(0xfb0000000ULL, 2), 0x8086);
	ck_assert_uint_eq(rd(MCH_PCIEXBAR + 4, 4), 0xf);
	/* reserved bits don't stick */
	wr(MCH_PCIEXBAR + 4, 0xfffffff0, 4);
	ck_assert_uint_eq(rd(MCH_PCIEXBAR + 4, 4), 0);
	/* clearing EN unmaps */
	wr(MCH_PCIEXBAR, 0xb0000000, 4);
	ck_assert_uint_eq(mmio.n, 0);
	/* reset goes back to disabled even if enabled before */
	wr(MCH_PCIEXBAR, 0xb0000001, 4);
	ck_assert_uint_eq(mmio.n, 1);
	q35_mch_reset(mch);
	ck_assert_uint_eq(mmio.n, 0);
	ck_assert_uint_eq(rd(MCH_PCIEXBAR, 4), 0xb0000000);
}
END_TEST

START_TEST(test_pam)
{
	unsigned i, n;

	/* reported at creation: everything off */
	ck_assert_uint_ge(pam_calls, 1);
	ck_assert_uint_eq(pam_n, MCH_PAM_SEGS);
	ck_assert_uint_eq(last_pam[0].base, 0xf0000);
	ck_assert_uint_eq(last_pam[0].size, 0x10000);
	for (i = 1; i < MCH_PAM_SEGS; i++) {
		ck_assert_uint_eq(last_pam[i].base, 0xc0000 + (i - 1) * 0x4000);
		ck_assert_uint_eq(last_pam[i].size, 0x4000);
	}
	for (i = 0; i < MCH_PAM_SEGS; i++)
		ck_assert(!last_pam[i].re && !last_pam[i].we);
	/* PAM0: only the high nibble exists */
	wr(MCH_PAM0, 0xff, 1);
	ck_assert_uint_eq(rd(MCH_PAM0, 1), 0x30);
	ck_assert(last_pam[0].re && last_pam[0].we);
	/* PAM1 lo = read-only RAM at 0xC0000, hi = write-only at 0xC4000 */
	wr(MCH_PAM0 + 1, MCH_PAM_RE_LO | MCH_PAM_WE_HI, 1);
	ck_assert(last_pam[1].re && !last_pam[1].we);
	ck_assert(!last_pam[2].re && last_pam[2].we);
	/* PAM6 hi = 0xEC000 */
	wr(MCH_PAM0 + 6, 0xcc, 1);
	ck_assert_uint_eq(rd(MCH_PAM0 + 6, 1), 0x00);
	wr(MCH_PAM0 + 6, 0x33, 1);
	ck_assert_uint_eq(last_pam[12].base, 0xec000);
	ck_assert(last_pam[12].re && last_pam[12].we && last_pam[11].re);
	/* writing the same value again does not call back */
	n = pam_calls;
	wr(MCH_PAM0 + 6, 0x33, 1);
	wr(MCH_PAM0 + 6, 0x33 | 0x88, 1);
	ck_assert_uint_eq(pam_calls, n);
	/* a dword write across PAM3..PAM6 */
	wr(MCH_PAM0 + 4, 0x11111111, 4);
	ck_assert_uint_eq(pam_calls, n + 1);
	ck_assert_uint_eq(rd(MCH_PAM0 + 4, 4), 0x11111111);     /* 0x97 is scratch */
	ck_assert(last_pam[7].re && !last_pam[7].we);
	/* reset reports everything off again */
	n = pam_calls;
	q35_mch_reset(mch);
	ck_assert_uint_eq(pam_calls, n + 1);
	for (i = 0; i < MCH_PAM_SEGS; i++)
		ck_assert(!last_pam[i].re && !last_pam[i].we);
}
END_TEST

START_TEST(test_create_rejects)
{
	struct q35_mch *m = NULL;
	struct q35_mch_config cfg = { .low_top = LOW_TOP };

	err_clear();
	cfg.low_top = LOW_TOP + 4096;
	ck_assert_int_eq(q35_mch_create(pb, &cfg, &m), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "low RAM top"));
	cfg.low_top = 0;
	ck_assert_int_eq(q35_mch_create(pb, &cfg, &m), -EINVAL);
	cfg.low_top = 8 * GiB;
	ck_assert_int_eq(q35_mch_create(pb, &cfg, &m), -EINVAL);
	cfg.low_top = LOW_TOP;
	cfg.ext_tseg_mb = 0x1000;
	ck_assert_int_eq(q35_mch_create(pb, &cfg, &m), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "TSEG"));
	cfg.ext_tseg_mb = 16;
	/* 00:00.0 is taken by the fixture's MCH */
	ck_assert_int_eq(q35_mch_create(pb, &cfg, &m), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err_get(), "00:00.0"));
	ck_assert_int_eq(q35_mch_create(NULL, &cfg, &m), -EINVAL);
	ck_assert_ptr_null(m);
	q35_mch_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("q35_mch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_scratch_registers);
	tcase_add_test(tc, test_ext_tseg_probe);
	tcase_add_test(tc, test_esmramc_and_f_smbase);
	tcase_add_test(tc, test_ovmf_smm_access_sequence);
	tcase_add_test(tc, test_d_open_and_lock_in_one_write);
	tcase_add_test(tc, test_tseg_sizes_and_low_smram);
	tcase_add_test(tc, test_pciexbar);
	tcase_add_test(tc, test_pam);
	tcase_add_test(tc, test_create_rejects);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
