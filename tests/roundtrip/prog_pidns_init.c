/* The init of a pid namespace made by clone(CLONE_NEWPID) alone, which sees
 * the /proc of the namespace above; dumped from it (pidns_prog.h). */
#include "pidns_prog.h"

int main(int argc, char **argv)
{
	return pidns_prog_main(argc, argv, false);
}
