/*
 * The SMM test guest, ending with a corrupted state-save area (CR0.PG
 * without CR0.PE): RSM must stop the VM with a triple fault.
 */
#define SMM_TEST_CORRUPT 1
#include "smm_test.S"
