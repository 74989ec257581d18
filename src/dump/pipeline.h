/* A second thread for the half of each process's dump that needs no
 * ptrace (its files and memory, read through /proc and pidfds), so that
 * the tracing thread runs the next process's parasite meanwhile. Jobs run
 * in the order given, one at a time; after the first failure the rest are
 * dropped. Which process may overlap which is the caller's rule (dump.c). */
#ifndef CRYO_DUMP_PIPELINE_H
#define CRYO_DUMP_PIPELINE_H

struct pipeline;

/* Starts the thread, which runs @run(@arg, job) for each job pushed and
 * then @drop(job) (also for a job never run); 0 or -errno. */
int pipeline_start(int (*run)(void *arg, void *job), void (*drop)(void *job), void *arg,
		   struct pipeline **out);
/* Queues @job (the pipeline's from now on), waiting while the queue is
 * full: 0, or the first failure of a job run (then @job is dropped). */
int pipeline_push(struct pipeline *p, void *job);
/* Waits until every job queued has run: 0 or the first failure. */
int pipeline_drain(struct pipeline *p);
/* pipeline_drain(), then the thread ends and @p is freed; NULL is none. */
int pipeline_stop(struct pipeline *p);

#endif
