/* The vDSO seed case: stopped children whose vDSO moved or went away
 * (stopped_vdso.h), restored on the kernel they were dumped on. */
#include "stopped_vdso.h"

int main(int argc, char **argv)
{
	return stopped_vdso_main(argc, argv, false);
}
