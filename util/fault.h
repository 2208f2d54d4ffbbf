/*
 * fault.h - fault injection points for crash and error tests.
 *
 * MAILROOM_FAULT="op:N[:action],..." makes the Nth call of an operation in this
 * process fail: action "exit" (default) calls _exit(99) before the operation, as a
 * kill would; "fail" makes it return -1 with errno EIO ("enospc" gives ENOSPC).
 * Operations: fsync, rename, write, tsa, token; delivered (dms-export: right after
 * a package got its final name). Built in always; costs one
 * branch when the variable is unset. MAILROOM_FAULT_TRACE=FILE appends
 * "<pid> <op> <n>" to FILE for every counted call (how many points a run has).
 */
#ifndef MAILROOM_FAULT_H
#define MAILROOM_FAULT_H

/* Count one call of op; returns 0 to go on, or -1 (errno set) to fail it. */
int fault_point(const char *op);

#endif
