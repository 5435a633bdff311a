/*
 * The SMM test guest followed by 1000 SMIs from long mode: run it with
 * counters on (smm_harness -S, or kvmrun's SMM stats) to time the SMI ->
 * RSM round trip of a backend.
 */
#define SMM_TEST_BENCH 1000
#include "smm_test.S"
