/* Round-trip program: prog_timens as root of a user namespace of its own,
 * which owns the time namespace it makes (timens_prog.h). */
#include "timens_prog.h"

int main(int argc, char **argv)
{
	return timens_prog_main(argc, argv);
}
