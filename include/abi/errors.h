/*
 * The one error enum. Every native system call returns one of these in rax:
 * zero for success, a positive code otherwise. The kernel never hides an
 * error in a global; user stubs hand the value back unchanged.
 */
#ifndef ABI_ERRORS_H
#define ABI_ERRORS_H

#define ABI_ERRORS(X)                                                              \
    X(0, OK, "success")                                                            \
    X(1, INVALID_SYSCALL, "unknown system call number")                            \
    X(2, INVALID_CAP, "capability selector is empty or out of range")              \
    X(3, WRONG_TYPE, "capability names an object of another type")                \
    X(4, NO_RIGHTS, "capability lacks the rights for this operation")             \
    X(5, INVALID_ARG, "argument out of range or malformed")                        \
    X(6, NO_MEMORY, "kernel memory quota or pool exhausted")                       \
    X(7, TIMEOUT, "IPC timeout expired")                                           \
    X(8, ABORTED, "IPC partner vanished or the operation was cancelled")           \
    X(9, NO_PARTNER, "no caller to reply to")                                      \
    X(10, SLOT_OCCUPIED, "destination capability slot is not empty")              \
    X(11, NOT_MAPPED, "source page is not mapped or lacks the rights")             \
    X(12, BUSY, "object is in a state that does not allow this now")               \
    X(13, MSG_TRUNCATED, "message item did not fit the receive buffers")           \
    X(14, PRIORITY, "priority above the caller's maximum controlled priority")     \
    X(15, CHANGED, "watched word no longer holds the expected value")

enum abi_error {
#define ABI_ERROR_ENUM(num, name, text) ABI_E_##name = num,
    ABI_ERRORS(ABI_ERROR_ENUM)
#undef ABI_ERROR_ENUM
    ABI_E_COUNT
};

#endif
