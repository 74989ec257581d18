/* The init of a pid namespace in a mount namespace with a /proc of its own,
 * as `unshare --pid --fork --mount-proc` makes it; dumped from it
 * (pidns_prog.h). */
#include "pidns_prog.h"

int main(int argc, char **argv)
{
	return pidns_prog_main(argc, argv, true);
}
