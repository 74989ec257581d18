/* A tree in mount and pid namespaces of its own, as a container runtime
 * makes one: pid 1 with a /proc of its own and its mounts (mntns_prog.h). */
#include "mntns_prog.h"

int main(int argc, char **argv)
{
	return mntns_prog_main(argc, argv, true);
}
