/*
 * Hierarchical memory: map, grant and unmap pages between tasks, recorded in
 * the mapping database, applied to the page tables.
 *
 * Only pages that have a mapping-database node can be passed on: pages the
 * root task owns (taken idempotently from its physical window, sigma0 style)
 * and pages received from someone who had them. Kernel pages lent to a task
 * (UTCBs, the KIP) have no node and stay where the kernel put them.
 */
#ifndef KERNEL_MEMORY_H
#define KERNEL_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

struct task;
struct trap_frame;

/* Mappings of mappings nest at most this deep: unmap finds leaves by
 * walking down from the unmapped page, and that walk must stay short
 * between two preemption points however tasks pass pages around. */
#define MAP_MAX_DEPTH 32u

void memory_init(uint64_t phys_end);
/* Frames the root task may take through its physical window. */
void memory_give_to_root(uint64_t base, uint64_t size);

/* Map (or grant) one page from src to dst with at most `rights`. */
int64_t mem_map(struct task *src, uint64_t src_va, struct task *dst, uint64_t dst_va, unsigned rights, bool grant);

/* Remove `rights` from everything derived from the page at va (and from the
 * page itself if `self`). Restartable: returns ABI_E_BUSY when it stopped at
 * a preemption point with work left. */
int64_t mem_unmap_page(struct task *t, uint64_t va, unsigned rights, bool self);

/* The root task faulted at va: map the frame behind its physical window. */
bool mem_sigma0_fault(struct task *root, uint64_t va);

/* Map a kernel-owned page into a task without a mapping node (KIP, root image). */
bool mem_map_kernel_page(struct task *t, uint64_t va, uint64_t phys, unsigned rights);

void sys_task_map(struct trap_frame *f);
void sys_unmap(struct trap_frame *f);

/* Install a page the root task owns from the start (its ELF image) as the
 * root of its frame's mapping tree, so it can be mapped on like any other. */
bool mem_install_root_page(struct task *root, uint64_t va, uint64_t phys, unsigned rights);
/* Remove every mapping of a dying task, one page per call; true when done. */
bool mem_reap_step(struct task *t);
#endif
