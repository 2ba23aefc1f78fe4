/* Job-trace export (see drops/rt.h). */
#include "drops/rt.h"
#include "drops/console.h"

long rt_trace_dump(abi_cap_t sched_cap)
{
    static struct abi_rt_job_record recs[16];
    long total = 0;
    for (;;) {
        struct sys_ret r = sys_rt_control(sched_cap, ABI_RT_TRACE_READ, (uint64_t)recs, 16, 0);
        if (r.err) return -1;
        if (r.v1) printf("# job trace: %lu records were overwritten before they were read\n", r.v1);
        if (!r.v0) return total;
        for (unsigned i = 0; i < r.v0; i++) {
            const struct abi_rt_job_record *j = &recs[i];
            char slices[ABI_RT_MAX_SLICES * 21 + 1];
            int n = 0;
            for (unsigned k = 0; k < ABI_RT_MAX_SLICES; k++)
                n += snprintf(slices + n, sizeof slices - (unsigned)n, k ? ",%lu" : "%lu", j->slice_ns[k]);
            printf("JOB thread=%lu job=%lu release=%lu first_run=%lu completion=%lu deadline=%lu missed=%u "
                   "switches=%u be=%lu slices=%s\n",
                   j->thread_id, j->job, j->release_ns, j->first_run_ns, j->completion_ns, j->deadline_ns,
                   j->missed, j->slice_switches, j->be_ns, slices);
            total++;
        }
    }
}
