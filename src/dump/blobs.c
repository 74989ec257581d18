/* Describes the embedded parasite blob to the injection library. */
#include "blobs/parasite-blob.h"
#include "dump/blobs.h"

const struct inj_blob *parasite_blob(void)
{
	static struct inj_blob blob;

	if (!blob.bytes) {
		blob.bytes = parasite_blob_bytes;
		blob.size = (size_t)(parasite_blob_end - parasite_blob_bytes);
		blob.mem_size = PARASITE_BLOB_MEM_SIZE;
		blob.entry = PARASITE_BLOB_ENTRY;
	}
	return &blob;
}
