/* The session and group rules of tree_check() on trees made up here: what
 * restore can build again is accepted, the rest refused with the reason. */
#include <string.h>

#include "common/log.h"
#include "harness.h"
#include "tree/tree.h"

#define MAX 8

/* Builds a tree from rows of { pid, parent index, pgid, sid }. */
static struct tree make_tree(struct tree_task *tasks, const int (*rows)[4], size_t nr)
{
	memset(tasks, 0, nr * sizeof(*tasks));
	for (size_t i = 0; i < nr; i++) {
		tasks[i].pid = rows[i][0];
		tasks[i].parent = rows[i][1];
		tasks[i].ppid = rows[i][1] < 0 ? 1 : rows[rows[i][1]][0];
		tasks[i].pgid = rows[i][2];
		tasks[i].sid = rows[i][3];
		tasks[i].state = TREE_ALIVE;
	}
	return (struct tree){ .tasks = tasks, .nr = nr };
}

/* tree_check() with its error kept in @errors instead of printed. */
static int check_quietly(const struct tree *tree, char *errors, size_t size)
{
	int ret;

	log_capture_errors(errors, size);
	ret = tree_check(tree, false);
	log_capture_errors(NULL, 0);
	return ret;
}

TEST(a_child_left_in_the_session_its_parent_left_is_accepted)
{
	/* 10 leads a session; 11 forked 12, then called setsid(). */
	static const int rows[][4] = {
		{ 10, -1, 10, 10 }, { 11, 0, 11, 11 }, { 12, 1, 10, 10 }, { 13, 1, 11, 11 },
	};
	struct tree_task tasks[MAX];
	struct tree tree = make_tree(tasks, rows, 4);

	char errors[512] = "";

	CHECK(check_quietly(&tree, errors, sizeof(errors)) == 0, "refused: %s", errors);
}

TEST(a_child_in_a_session_its_parent_was_never_in_is_refused)
{
	/* 12 is in 20's session, which neither 11 nor 11's parent is in. */
	static const int rows[][4] = {
		{ 10, -1, 10, 10 }, { 11, 0, 11, 11 }, { 12, 1, 12, 20 },
	};
	struct tree_task tasks[MAX];
	struct tree tree = make_tree(tasks, rows, 3);
	char errors[512] = "";

	CHECK(check_quietly(&tree, errors, sizeof(errors)) < 0, "accepted pid 12 in session 20");
	CHECK(strstr(errors, "pid 12 is in session 20"), "the error was: %s", errors);
}

TEST(a_session_left_by_the_root_is_refused)
{
	/* The root made its session after forking 11: 11's session is outside. */
	static const int rows[][4] = {
		{ 10, -1, 10, 10 }, { 11, 0, 5, 5 },
	};
	struct tree_task tasks[MAX];
	struct tree tree = make_tree(tasks, rows, 2);
	char errors[512] = "";

	CHECK(check_quietly(&tree, errors, sizeof(errors)) < 0,
	      "accepted a session outside the tree");
	CHECK(strstr(errors, "pid 11 is in session 5"), "the error was: %s", errors);
}
