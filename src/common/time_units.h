/* Units of time every part of cryo counts in, defined once (as the
 * kernel's <vdso/time64.h>). Not clocks, nor conversions of timespecs. */
#ifndef CRYO_COMMON_TIME_UNITS_H
#define CRYO_COMMON_TIME_UNITS_H

/* Signed, as the kernel's: a difference of times may be negative. */
#define NSEC_PER_SEC 1000000000LL

#endif
