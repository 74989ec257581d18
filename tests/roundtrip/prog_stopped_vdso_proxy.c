/* The vDSO seed case (stopped_vdso.h) restored as on another kernel: the
 * runner sets CRYO_TEST_VDSO_PROXY for programs named *vdso_proxy*. */
#include "stopped_vdso.h"

int main(int argc, char **argv)
{
	return stopped_vdso_main(argc, argv, true);
}
