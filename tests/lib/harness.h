/* A small test harness shared by every cryo test binary: tests register
 * themselves with TEST(), fail with CHECK(), and the binary prints one line
 * per test and a closing "N passed, N failed" line. */
#ifndef CRYO_TEST_HARNESS_H
#define CRYO_TEST_HARNESS_H

#include <stdbool.h>

typedef void (*test_fn)(void);

void harness_register(const char *name, test_fn fn);
void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void harness_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool harness_failed(void);

#define TEST(name)                                                   \
	static void name(void);                                      \
	__attribute__((constructor)) static void register_##name(void) \
	{                                                            \
		harness_register(#name, name);                       \
	}                                                            \
	static void name(void)

/* Records a failure with a message and leaves the current test. */
#define CHECK(cond, fmt, ...)                                                \
	do {                                                                 \
		if (!(cond)) {                                               \
			harness_fail(__FILE__, __LINE__, "%s: " fmt, #cond, \
				     ##__VA_ARGS__);                         \
			return;                                              \
		}                                                            \
	} while (0)

/* Like CHECK, for tests that must clean up: jumps to the given label. */
#define CHECK_GOTO(cond, label, fmt, ...)                                    \
	do {                                                                 \
		if (!(cond)) {                                               \
			harness_fail(__FILE__, __LINE__, "%s: " fmt, #cond, \
				     ##__VA_ARGS__);                         \
			goto label;                                          \
		}                                                            \
	} while (0)

#endif
