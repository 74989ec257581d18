/* A program one thread of which has a cwd of its own: it unshared its fs
 * info (unshare(CLONE_FS)) and entered the program's folder, while the
 * main thread is at "/". Restore would make it share its process's, so
 * the dump refuses it (test_proc_refusals); on SIGTERM the thread checks
 * it is still in its folder, and the main thread at "/". */
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

/* The thread says 'r' (ready) or 'n' on @said, waits for a byte on @asked,
 * then says whether it is still in its folder. */
static int said[2], asked[2];

static bool cwd_is(const char *path)
{
	struct stat cwd, want;

	return !stat(".", &cwd) && !stat(path, &want) && cwd.st_dev == want.st_dev &&
	       cwd.st_ino == want.st_ino;
}

static void *own_cwd(void *arg)
{
	char byte;

	(void)arg;
	byte = unshare(CLONE_FS) || chdir(prog_dir()) ? 'n' : 'r';
	if (write(said[1], &byte, 1) != 1 || byte == 'n' || read(asked[0], &byte, 1) != 1)
		return NULL;
	byte = cwd_is(prog_dir()) ? 'y' : 'n';
	if (write(said[1], &byte, 1) != 1)
		return NULL;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t thread;
	char byte = 0;

	prog_init(argc, argv);
	if (chdir("/") || pipe(said) || pipe(asked) ||
	    pthread_create(&thread, NULL, own_cwd, NULL) || read(said[0], &byte, 1) != 1 ||
	    byte != 'r')
		return 1;
	prog_ready();
	prog_run_until_sigterm();
	PROG_CHECK(write(asked[1], "c", 1) == 1 && read(said[0], &byte, 1) == 1 && byte == 'y',
		   "the thread left its own cwd");
	pthread_join(thread, NULL);
	PROG_CHECK(cwd_is("/"), "the main thread is not at /");
	prog_finish();
}
