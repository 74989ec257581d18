/* Linked into every unit test binary: registers every part's image kinds
 * before the tests run, as cryo's main() does. A constructor is safe here
 * because this is an object on the link line, not an archive member. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/image_kinds.h"

__attribute__((constructor)) static void register_image_kinds(void)
{
	if (cryo_register_image_kinds()) {
		fprintf(stderr, "unit tests: cannot register the image kinds\n");
		exit(1);
	}
}
