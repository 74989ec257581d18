/* Reading and writing a namespace's sysctls (/proc/sys/NAME) as text, for
 * the namespace kinds that save some (ipc.c, net.c). Which ones each saves
 * and how its image keeps them is the kind's. */
#ifndef CRYO_NS_SYSCTL_H
#define CRYO_NS_SYSCTL_H

/* The value of sysctl @name (as "net/ipv4/ip_forward") without its final
 * newline, in *@value (the caller frees it). -ENOENT when this kernel has
 * no such sysctl; other errors are said, naming @who. */
int ns_sysctl_read(const char *who, const char *name, char **value);

/* Sets sysctl @name to @value (an empty value is written as a newline,
 * which is how an empty list is set); a failure is said, naming @who. */
int ns_sysctl_write(const char *who, const char *name, const char *value);

#endif
