/* The freestanding blobs embedded in the cryo binary, described for the
 * code that loads them. */
#ifndef CRYO_DUMP_BLOBS_H
#define CRYO_DUMP_BLOBS_H

#include "inject/inject.h"

/* cryo's parasite, as the injection library takes it. */
const struct inj_blob *parasite_blob(void);

#endif
