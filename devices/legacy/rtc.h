/*
 * MC146818 real-time clock with 128 bytes of CMOS RAM, ports 0x70/0x71
 * (PORT_CMOS), IRQ 8 (GSI_RTC).
 *
 * Ports (offsets from 0x70):
 *   0  write: bits 6:0 select the CMOS index, bit 7 masks NMI (kept and
 *      reported by rtc_nmi_masked(), nothing else). Read: 0xff (write-only
 *      on a PC; QEMU returns 0xff too).
 *   1  data at the selected index. A 16-bit "outw 0x70" is split into the
 *      index byte and the data byte, as on a PC.
 *
 * Registers (index):
 *   0x00 seconds   0x01 seconds alarm   0x02 minutes   0x03 minutes alarm
 *   0x04 hours     0x05 hours alarm     0x06 day of week (1-7, Sunday = 1)
 *   0x07 day of month  0x08 month  0x09 year (2 digits)  0x32 century
 *      In BCD or binary (reg B DM) and 24h or 12h (reg B 24/12; in 12h mode
 *      hours are 1-12 with bit 7 = PM). An alarm byte of 0xc0-0xff is
 *      "don't care".
 *   0x0A reg A: bit 7 UIP (read-only), 6:4 divider (000/001/010 run, taken
 *      as 32.768 kHz; 11x (reset) and the test modes hold the divider
 *      chain: time, updates and periodic edges stop, and the first update
 *      after release comes 500 ms later), 3:0 periodic rate select.
 *   0x0B reg B: SET PIE AIE UIE SQWE DM 24/12 DSE (bit 7..0). SET freezes
 *      the time registers for writing and clears UIE. DSE is stored only.
 *   0x0C reg C: IRQF PF AF UF (bit 7..4), read-only; reading clears it and
 *      lowers the IRQ. Flags are set whether or not enabled (so polling
 *      works); IRQF = PF&PIE | AF&AIE | UF&UIE drives IRQ 8 (a level).
 *   0x0D reg D: VRT (bit 7) = 1, read-only.
 *   other: battery-backed RAM.
 *
 * Time model: the clock reads base_epoch (UTC seconds, given at creation)
 * plus the time elapsed on the injected clock. A guest that sets the time
 * changes an offset, never the host clock. UIP reads 1 during the 244 us
 * before each second's update, computed from the clock, so polling loops
 * (Linux, OVMF) always see it fall again. The update itself is
 * instantaneous at the second boundary. Periodic, update-ended and alarm
 * interrupts are ktimers on the injected clock, armed only while the
 * matching enable bit is set; flags for disabled sources are computed
 * lazily when reg C is read.
 *
 * CMOS bytes the machine is expected to fill (rtc_cmos_set() or
 * rtc_cmos_fill_memory()), with their conventional meaning:
 *   0x0F shutdown status: 0 = normal boot (OVMF: 0xFE = S3 resume)
 *   0x10 floppy types (high nibble A:, low B:; 0 = none)
 *   0x12 hard disk types (0 = none)
 *   0x14 equipment byte: bit 0 floppy present, bit 1 FPU present,
 *        bits 5:4 display (00 = EGA/VGA), bits 7:6 floppies - 1; QEMU: 0x06
 *   0x15/0x16 base memory in KiB (640)
 *   0x17/0x18 memory above 1 MiB in KiB, max 0xffff; 0x30/0x31 the same
 *   0x2E/0x2F checksum of 0x10-0x2D (AT BIOS; QEMU leaves it 0)
 *   0x34/0x35 memory between 16 MiB and 4 GiB in 64 KiB units, max 0xffff.
 *        OVMF's SmmAccessPei places TSEG from this alone, so it must equal
 *        (low RAM top - 16 MiB) / 64 KiB exactly, low RAM 1 MiB aligned.
 *   0x38 bit 0: skip the floppy boot signature check; bits 7:4 third boot
 *        device (SeaBIOS)
 *   0x3D bits 3:0 first, 7:4 second boot device (1 floppy, 2 disk,
 *        3 CD-ROM, 4 network; SeaBIOS)
 *   0x5B-0x5D memory above 4 GiB in 64 KiB units (24 bits, little-endian)
 *   0x5F number of CPUs - 1 (SeaBIOS/QEMU)
 */
#ifndef KVMRUN_DEVICES_LEGACY_RTC_H
#define KVMRUN_DEVICES_LEGACY_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/irq.h"
#include "vmm/util.h"

#define RTC_IO_LEN     2
#define RTC_CMOS_SIZE  128

/* CMOS indices */
#define RTC_SECONDS        0x00
#define RTC_SECONDS_ALARM  0x01
#define RTC_MINUTES        0x02
#define RTC_MINUTES_ALARM  0x03
#define RTC_HOURS          0x04
#define RTC_HOURS_ALARM    0x05
#define RTC_DAY_OF_WEEK    0x06
#define RTC_DAY_OF_MONTH   0x07
#define RTC_MONTH          0x08
#define RTC_YEAR           0x09
#define RTC_REG_A          0x0a
#define RTC_REG_B          0x0b
#define RTC_REG_C          0x0c
#define RTC_REG_D          0x0d
#define RTC_CENTURY        0x32

#define RTC_INDEX_MASK     0x7f
#define RTC_NMI_MASK       0x80   /* bit 7 of the index port */

/* Register A */
#define RTC_A_UIP          0x80
#define RTC_A_DV_MASK      0x70
#define RTC_A_DV_32KHZ     0x20
#define RTC_A_RS_MASK      0x0f
#define RTC_A_POWER_ON     0x26   /* 32.768 kHz, 1024 Hz periodic rate */

/* Register B */
#define RTC_B_SET          0x80
#define RTC_B_PIE          0x40
#define RTC_B_AIE          0x20
#define RTC_B_UIE          0x10
#define RTC_B_SQWE         0x08
#define RTC_B_DM_BINARY    0x04
#define RTC_B_24H          0x02
#define RTC_B_DSE          0x01
#define RTC_B_POWER_ON     RTC_B_24H

/* Register C */
#define RTC_C_IRQF         0x80
#define RTC_C_PF           0x40
#define RTC_C_AF           0x20
#define RTC_C_UF           0x10

/* Register D */
#define RTC_D_VRT          0x80

#define RTC_ALARM_DONT_CARE 0xc0  /* (v & 0xc0) == 0xc0 */
/* UIP is set this long before each update: 8 cycles of 32.768 kHz. */
#define RTC_UIP_WINDOW_NS  244141

/* CMOS memory-size fields (see the table above) */
#define CMOS_SHUTDOWN_STATUS  0x0f
#define CMOS_FLOPPY_TYPES     0x10
#define CMOS_DISK_TYPES       0x12
#define CMOS_EQUIPMENT        0x14
#define CMOS_BASE_MEM_LO      0x15
#define CMOS_BASE_MEM_HI      0x16
#define CMOS_EXT_MEM_LO       0x17
#define CMOS_EXT_MEM_HI       0x18
#define CMOS_EXT_MEM2_LO      0x30
#define CMOS_EXT_MEM2_HI      0x31
#define CMOS_MEM_16M_LO       0x34
#define CMOS_MEM_16M_HI       0x35
#define CMOS_BOOT_ORDER3      0x38
#define CMOS_BOOT_ORDER12     0x3d
#define CMOS_MEM_4G_LO        0x5b
#define CMOS_MEM_4G_MID       0x5c
#define CMOS_MEM_4G_HI        0x5d
#define CMOS_CPU_COUNT        0x5f

struct rtc;

/*
 * @clk is required; @irq (IRQ 8) may be NULL and is copied. The clock
 * starts at @base_epoch seconds since 1970-01-01 UTC (time(NULL) for a
 * UTC guest clock; the machine adds the local offset for base=localtime).
 */
int rtc_create(struct clock *clk, const struct irq_line *irq, int64_t base_epoch,
	       struct rtc **out) __must_check;
void rtc_destroy(struct rtc *r);
/* The RESET pin (machine reset): clears PIE/AIE/UIE/SQWE and reg C. Time and RAM stay. */
void rtc_reset(struct rtc *r);
/* Register ports 0x70-0x71 on @pio. */
int rtc_attach(struct rtc *r, struct bus *pio) __must_check;

/*
 * Machine access to CMOS RAM. set: 0x0e-0x7f except the century byte;
 * clock registers are refused (-EINVAL): the time comes from base_epoch.
 * get: any index 0-0x7f, as the guest would read it but without side
 * effects (reg C is not cleared). Both return -EINVAL for index >= 128.
 */
int rtc_cmos_set(struct rtc *r, unsigned index, uint8_t value);
int rtc_cmos_get(const struct rtc *r, unsigned index);
/* Fill 0x15-0x18, 0x30/0x31, 0x34/0x35 and 0x5b-0x5d from the RAM sizes (bytes). */
void rtc_cmos_fill_memory(struct rtc *r, uint64_t ram_below_4g, uint64_t ram_above_4g);

/* Bit 7 of the last index write. */
bool rtc_nmi_masked(const struct rtc *r);

#endif
