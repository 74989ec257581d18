/* libnftables loaded on first use (nft_lib.h). */
#include "common/nft_lib.h"

#define SYMBOL(f) DYNLIB_SYMBOL(struct nft_lib, f)
static const struct dynlib_symbol symbols[] = { NFT_LIB_FUNCTIONS(SYMBOL) };

const struct nft_lib *nft_lib(void)
{
	static struct nft_lib lib;
	static int state;

	if (dynlib_load("libnftables.so.1", "for nftables (the network lock, a network "
			"namespace's ruleset)", symbols, sizeof(symbols) / sizeof(symbols[0]),
			&lib, &state))
		return NULL;
	return &lib;
}
