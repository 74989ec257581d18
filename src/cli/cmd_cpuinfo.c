/* `cryo cpuinfo dump|check -D DIR`: criu's cpuinfo commands, also its RPC
 * CPUINFO_DUMP and CPUINFO_CHECK requests: this CPU written as cpuinfo.img
 * of DIR, or DIR's cpuinfo.img compared with this CPU by --cpu-cap (every
 * mode when none is given, as criu). The image and the comparison are
 * task/cpuinfo*.c's. */
#include <errno.h>
#include <string.h>

#include "cli/commands.h"
#include "common/log.h"
#include "images/image.h"
#include "task/cpuinfo.h"

int cmd_cpuinfo(const struct cryo_opts *opts)
{
	bool dump = opts->nargs == 1 && !strcmp(opts->args[0], "dump");
	unsigned int caps = opts->cpu_cap_given ? opts->cpu_cap : CPU_CAP_ALL;
	struct image_dir *dir = NULL;
	int ret;

	if (opts->nargs != 1 || (!dump && strcmp(opts->args[0], "check")) || !opts->images_dir) {
		pr_err("cpuinfo: usage: cryo cpuinfo dump|check -D DIR [--cpu-cap=CAP,...]");
		return 1;
	}
	ret = dump ? image_dir_create(opts->images_dir, &dir) :
		     image_dir_open(opts->images_dir, &dir);
	if (ret)
		return 1;
	if (dump)
		ret = cpuinfo_dump(dir);
	else
		/* As criu: checking nothing is checking everything. */
		ret = cpuinfo_check_dir(dir, caps == CPU_CAP_NONE ? CPU_CAP_ALL : caps, true,
					"cpuinfo check");
	image_dir_close(dir);
	if (!ret)
		pr_info("cpuinfo: %s %s/cpuinfo.img", dump ? "wrote" : "this CPU passes",
			opts->images_dir);
	return ret ? 1 : 0;
}
