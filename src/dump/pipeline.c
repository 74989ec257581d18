/* The dump's second thread (pipeline.h). It only reads /proc, takes fds
 * with pidfd_getfd() and writes images: ptrace answers the thread that
 * seized a task alone, so every request to a tracee stays on the caller's
 * thread. All signals are blocked in it: the caller's deadline alarm and
 * the tracees' SIGCHLD are for the tracing thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dump/pipeline.h"

/* Jobs waiting beyond the one running: enough to even out one process
 * slower than the next, few enough that a failure wastes little. */
#define PIPELINE_DEPTH 2

struct pipeline {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	void *queue[PIPELINE_DEPTH];
	size_t head, nr;
	bool running;		/* a job is out of the queue and not done */
	bool stopping;
	int err;		/* the first failure */
	int (*run)(void *arg, void *job);
	void (*drop)(void *job);
	void *arg;
};

static void *work(void *data)
{
	struct pipeline *p = data;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		void *job;
		int ret = 0;

		while (!p->nr && !p->stopping)
			pthread_cond_wait(&p->changed, &p->lock);
		if (!p->nr)
			break;
		job = p->queue[p->head];
		p->head = (p->head + 1) % PIPELINE_DEPTH;
		p->nr--;
		p->running = true;
		pthread_cond_broadcast(&p->changed);
		if (!p->err) {
			pthread_mutex_unlock(&p->lock);
			ret = p->run(p->arg, job);
			pthread_mutex_lock(&p->lock);
		}
		p->drop(job);
		if (ret && !p->err)
			p->err = ret;
		p->running = false;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pipeline_start(int (*run)(void *arg, void *job), void (*drop)(void *job), void *arg,
		   struct pipeline **out)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int ret;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	p->run = run;
	p->drop = drop;
	p->arg = arg;
	/* The thread starts with the mask it is created with. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&p->thread, NULL, work, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pr_err("dump: cannot start the thread that dumps files and memory: %s",
		       strerror(-ret));
		pthread_cond_destroy(&p->changed);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return ret;
	}
	/* Named, so that a profile tells the two threads apart. */
	pthread_setname_np(p->thread, "cryo-untraced");
	*out = p;
	return 0;
}

int pipeline_push(struct pipeline *p, void *job)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	while (p->nr == PIPELINE_DEPTH && !p->err)
		pthread_cond_wait(&p->changed, &p->lock);
	ret = p->err;
	if (!ret) {
		p->queue[(p->head + p->nr) % PIPELINE_DEPTH] = job;
		p->nr++;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	if (ret)
		p->drop(job);
	return ret;
}

int pipeline_drain(struct pipeline *p)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	while (p->nr || p->running)
		pthread_cond_wait(&p->changed, &p->lock);
	ret = p->err;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int pipeline_stop(struct pipeline *p)
{
	int ret;

	if (!p)
		return 0;
	ret = pipeline_drain(p);
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return ret;
}
