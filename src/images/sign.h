/* Signed image sets (sign.c): a key shared by those who may make images,
 * and a MAC under it over the inventory, which holds the digest of every
 * other file. */
#ifndef CRYO_IMAGES_SIGN_H
#define CRYO_IMAGES_SIGN_H

#include <stdint.h>

#include "images/proto/inventory.pb-c.h"

#define SIGN_KEY_SIZE 32
#define SIGN_MAC_SIZE 32

struct sign_key {
	uint8_t bytes[SIGN_KEY_SIZE];
};

/* Reads the key in @path: 32 raw bytes or 64 hex digits (a trailing
 * newline allowed), in a regular file of the caller or root that no one
 * else may read or write (mode 0600 or tighter); else refused by name. */
int sign_key_load(const char *path, struct sign_key *key);
/* Wipes the key from memory. */
void sign_key_forget(struct sign_key *key);
/* Puts the MAC of @inv under @key into @inv (in @mac, which must outlive it). */
int image_set_sign(Inventory *inv, const struct sign_key *key, uint8_t mac[SIGN_MAC_SIZE]);
/* A signed set is trusted only with the key that signed it, and a key is
 * given only for a signed set: every other case is refused, naming @shown
 * (the inventory's path). @key NULL: restore was given none. */
int image_set_check_signature(const char *shown, const Inventory *inv,
			      const struct sign_key *key);

#endif
