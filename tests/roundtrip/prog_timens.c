/* Round-trip program: a process in a time namespace of its own whose
 * clocks run ahead of the machine's (timens_prog.h). */
#include "timens_prog.h"

int main(int argc, char **argv)
{
	return timens_prog_main(argc, argv);
}
