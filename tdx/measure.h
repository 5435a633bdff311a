/*
 * MRTD prediction: the SHA-384 the TDX module accumulates while KVM adds
 * the initial TD memory. For every 4 KiB page, in the order kvmrun issues
 * KVM_TDX_INIT_MEM_REGION (sections in metadata order, pages ascending):
 *   one 128-byte block "MEM.PAGE.ADD" | 0^4 | LE64(gpa) | 0^104, then, if
 *   the section has MR_EXTEND, 16 times for each 256-byte chunk i:
 *   "MR.EXTEND" | 0^7 | LE64(gpa + 256 i) | 0^104 followed by the chunk.
 * Pure: no I/O.
 */
#ifndef KVMRUN_TDX_MEASURE_H
#define KVMRUN_TDX_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#include "tdx/sha384.h"
#include "tdx/tdvf.h"

#define MEASURE_CHUNK 256
#define MEASURE_PAGE 4096

struct measure {
	struct sha384_ctx sha;
};

void measure_init(struct measure *m);
/* TDH.MEM.PAGE.ADD of the page at @gpa. */
void measure_page_add(struct measure *m, uint64_t gpa);
/* TDH.MR.EXTEND of the 256-byte chunk at @gpa. */
void measure_mr_extend(struct measure *m, uint64_t gpa, const uint8_t chunk[MEASURE_CHUNK]);
/* One page as KVM adds it: PAGE.ADD, then 16 MR.EXTENDs if @extend. */
void measure_page(struct measure *m, uint64_t gpa, const uint8_t page[MEASURE_PAGE], bool extend);
void measure_final(struct measure *m, uint8_t mrtd[SHA384_DIGEST_SIZE]);

/* The MRTD a TD built by kvmrun from this parsed image will have. */
void measure_tdvf(const struct tdvf *t, const uint8_t *img, size_t size,
		  uint8_t mrtd[SHA384_DIGEST_SIZE]);

#endif
