/* Signing an image set with a shared key (libsodium): HMAC-SHA-512-256
 * (crypto_auth) over the packed inventory, whose per-file digests are then
 * BLAKE2b-256 (digest.c). An image moved between hosts is trusted only if
 * a holder of the key made it. Not here: which digests are checked. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/image.h"
#include "images/sign.h"

_Static_assert(SIGN_KEY_SIZE == crypto_auth_KEYBYTES, "crypto_auth takes a 32-byte key");
_Static_assert(SIGN_MAC_SIZE == crypto_auth_BYTES, "crypto_auth makes a 32-byte tag");

/* The longest key file: 64 hex digits and some white space. */
#define KEY_FILE_MAX 128

static int check_key_file(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		pr_err("sign key %s: not a regular file: refused", path);
		return -EINVAL;
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		pr_err("sign key %s: owned by uid %u, neither the caller (uid %u) nor root: "
		       "refused", path, st->st_uid, geteuid());
		return -EPERM;
	}
	if (st->st_mode & 077) {
		pr_err("sign key %s: mode %04o lets others read or write it (it must be 0600): "
		       "refused", path, st->st_mode & 07777);
		return -EPERM;
	}
	return 0;
}

/* 32 raw bytes, or 64 hex digits with white space around them. */
static int parse_key(const char *path, uint8_t *text, size_t len, struct sign_key *key)
{
	size_t start = 0, bin_len = 0;

	if (len == SIGN_KEY_SIZE) {
		memcpy(key->bytes, text, SIGN_KEY_SIZE);
		return 0;
	}
	while (start < len && isspace(text[start]))
		start++;
	while (len > start && isspace(text[len - 1]))
		len--;
	if (len - start == 2 * SIGN_KEY_SIZE &&
	    !sodium_hex2bin(key->bytes, SIGN_KEY_SIZE, (const char *)text + start, len - start,
			    NULL, &bin_len, NULL) &&
	    bin_len == SIGN_KEY_SIZE)
		return 0;
	pr_err("sign key %s: neither %d raw bytes nor %d hex digits: refused", path,
	       SIGN_KEY_SIZE, 2 * SIGN_KEY_SIZE);
	return -EINVAL;
}

int sign_key_load(const char *path, struct sign_key *key)
{
	_cleanup_close_ int fd = -1;
	uint8_t text[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t len;
	int ret;

	if (sodium_init() < 0) {
		pr_err("sign key %s: libsodium cannot start", path);
		return -EIO;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("sign key %s: cannot open it", path);
	if (fstat(fd, &st))
		return pr_errno_ret("sign key %s: cannot stat it", path);
	ret = check_key_file(path, &st);
	if (ret)
		return ret;
	len = read(fd, text, sizeof(text));
	if (len < 0)
		return pr_errno_ret("sign key %s: cannot read it", path);
	if (len > KEY_FILE_MAX) {
		pr_err("sign key %s: longer than %d bytes: not a key, refused", path, KEY_FILE_MAX);
		ret = -EINVAL;
	} else {
		ret = parse_key(path, text, (size_t)len, key);
	}
	sodium_memzero(text, sizeof(text));
	return ret;
}

void sign_key_forget(struct sign_key *key)
{
	sodium_memzero(key->bytes, sizeof(key->bytes));
}

/* The MAC of @inv as if it had none. */
static int compute_mac(const Inventory *inv, const struct sign_key *key,
		       uint8_t mac[SIGN_MAC_SIZE])
{
	Inventory unsigned_inv = *inv;
	_cleanup_free_ uint8_t *packed = NULL;
	size_t len;

	unsigned_inv.has_mac = false;
	unsigned_inv.mac.data = NULL;
	unsigned_inv.mac.len = 0;
	len = inventory__get_packed_size(&unsigned_inv);
	packed = malloc(len ? len : 1);
	if (!packed)
		return -ENOMEM;
	if (inventory__pack(&unsigned_inv, packed) != len)
		return -EIO;
	crypto_auth(mac, packed, len, key->bytes);
	return 0;
}

int image_set_sign(Inventory *inv, const struct sign_key *key, uint8_t mac[SIGN_MAC_SIZE])
{
	int ret = compute_mac(inv, key, mac);

	if (ret) {
		pr_err("dump: cannot sign the inventory: %s", strerror(-ret));
		return ret;
	}
	inv->has_mac = true;
	inv->mac.data = mac;
	inv->mac.len = SIGN_MAC_SIZE;
	return 0;
}

int image_set_check_signature(const char *shown, const Inventory *inv,
			      const struct sign_key *key)
{
	uint8_t mac[SIGN_MAC_SIZE];
	int ret;

	if (!inv->has_mac && !key)
		return 0;
	if (!inv->has_mac) {
		pr_err("restore: %s: the set is not signed, and a sign key was given: refused",
		       shown);
		return -EKEYREJECTED;
	}
	if (!key) {
		pr_err("restore: %s: the set is signed: restore it with its --sign-key",
		       shown);
		return -ENOKEY;
	}
	if (inv->mac.len != SIGN_MAC_SIZE) {
		pr_err("restore: %s: a MAC of %zu bytes, not %d: refused", shown, inv->mac.len,
		       SIGN_MAC_SIZE);
		return -EBADMSG;
	}
	ret = compute_mac(inv, key, mac);
	if (ret) {
		pr_err("restore: %s: cannot check its MAC: %s", shown, strerror(-ret));
		return ret;
	}
	if (crypto_verify_32(mac, inv->mac.data)) {
		pr_err("restore: %s: its MAC does not match the key: signed with another key, or "
		       "changed since: refused", shown);
		return -EKEYREJECTED;
	}
	return 0;
}
