/* libnftables, loaded on first use (see dynlib.h): the network lock's
 * tables (net/netlock_nft.c) and a network namespace's ruleset
 * (ns/net_nft.c). */
#ifndef CRYO_NFT_LIB_H
#define CRYO_NFT_LIB_H

#include <nftables/libnftables.h>

#include "common/dynlib.h"

#define NFT_LIB_FUNCTIONS(X)          \
	X(nft_ctx_new)                \
	X(nft_ctx_free)               \
	X(nft_ctx_buffer_output)      \
	X(nft_ctx_buffer_error)       \
	X(nft_ctx_get_output_buffer)  \
	X(nft_ctx_get_error_buffer)   \
	X(nft_ctx_set_dry_run)        \
	X(nft_run_cmd_from_buffer)

struct nft_lib {
	NFT_LIB_FUNCTIONS(DYNLIB_MEMBER)
};

/* The library's functions, NULL (logged) when it cannot be loaded. */
const struct nft_lib *nft_lib(void);

#endif
