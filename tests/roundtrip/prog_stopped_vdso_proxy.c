/* The vDSO seed case (stopped_vdso.h) restored as on another kernel: the
 * runner sets CRYO_TEST_VDSO_PROXY for it (its line in programs.c). */
#include "stopped_vdso.h"

int main(int argc, char **argv)
{
	return stopped_vdso_main(argc, argv, true);
}
