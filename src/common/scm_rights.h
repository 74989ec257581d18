/* One descriptor attached to a message as SCM_RIGHTS: the control buffer
 * and its header, for every sender of a single fd (the RPC's replies, the
 * injector's commands). Header-only, so that the injection library uses
 * it without an object of the core. Receiving is each reader's own. */
#ifndef CRYO_COMMON_SCM_RIGHTS_H
#define CRYO_COMMON_SCM_RIGHTS_H

#include <string.h>
#include <sys/socket.h>

union scm_one_fd {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int))];
};

/* Points @mh's control at @control, which must outlive the sendmsg, and
 * puts @fd in it. */
static inline void scm_attach_fd(struct msghdr *mh, union scm_one_fd *control, int fd)
{
	struct cmsghdr *c;

	memset(control, 0, sizeof(*control));
	mh->msg_control = control->buf;
	mh->msg_controllen = sizeof(control->buf);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
}

#endif
