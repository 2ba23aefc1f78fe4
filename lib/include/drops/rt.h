/*
 * Real-time helpers over the rt system calls: reading the kernel's job
 * trace and printing it as one JOB line per job, the format
 * tools/rt-jobs-csv.sh turns into CSV on the host.
 */
#ifndef DROPS_RT_H
#define DROPS_RT_H

#include "drops/sys.h"

/* Read the job trace through `sched_cap` and print every record as
 *   JOB thread=<id> job=<n> release=<ns> first_run=<ns> completion=<ns>
 *       deadline=<ns> missed=<0|1> switches=<n> be=<ns> slices=<ns>,<ns>,...
 * (one line). Returns the number of records printed, or -1 on error. */
long rt_trace_dump(abi_cap_t sched_cap);

#endif
