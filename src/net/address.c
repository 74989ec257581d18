/* Socket addresses between the image's form (address bytes, port, scope)
 * and struct sockaddr, and their text in messages. What a socket's record
 * holds is inet_socket.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "net/internal.h"

socklen_t inet_sockaddr_make(int family, const ProtobufCBinaryData *addr, uint32_t port,
			     uint32_t scope_id, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET && addr->len == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr->data, 4);
		return sizeof(*sin);
	}
	if (family == AF_INET6 && (addr->len == 16 || addr->len == 4)) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_scope_id = scope_id;
		if (addr->len == 16) {
			memcpy(&sin6->sin6_addr, addr->data, 16);
		} else {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], addr->data, 4);
		}
		return sizeof(*sin6);
	}
	return 0;
}

const char *inet_sockaddr_str(const struct sockaddr_storage *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
	return buf;
}

void inet_sockaddr_split(const struct sockaddr_storage *sa, bool unmap, uint8_t *bytes,
			   size_t *len, uint32_t *port, uint32_t *scope)
{
	*scope = 0;
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		memcpy(bytes, &sin->sin_addr, 4);
		*len = 4;
		*port = ntohs(sin->sin_port);
		return;
	}
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	*port = ntohs(sin6->sin6_port);
	if (unmap && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(bytes, &sin6->sin6_addr.s6_addr[12], 4);
		*len = 4;
		return;
	}
	memcpy(bytes, &sin6->sin6_addr, 16);
	*len = 16;
	*scope = sin6->sin6_scope_id;
}

int inet_addr_save(const struct sockaddr_storage *sa, bool unmap, ProtobufCBinaryData *out,
		     uint32_t *port, uint32_t *scope)
{
	uint8_t bytes[16];
	size_t len;

	inet_sockaddr_split(sa, unmap, bytes, &len, port, scope);
	out->data = malloc(len);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, bytes, len);
	out->len = len;
	return 0;
}
