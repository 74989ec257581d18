/* A tree in a mount namespace of its own, in cryo's pid namespace, with its
 * mounts (mntns_prog.h): dumped from inside that mount namespace. */
#include "mntns_prog.h"

int main(int argc, char **argv)
{
	return mntns_prog_main(argc, argv, false);
}
