/* Names of the kernel's error codes, for messages (native programs and
 * components alike: also in the musl build of lib/, see components/build.mk). */
#include "drops/sys.h"

const char *sys_error_name(int64_t err)
{
    static const char *const names[] = {
#define ERROR_NAME(num, name, text) [num] = #name,
        ABI_ERRORS(ERROR_NAME)
#undef ERROR_NAME
    };
    if (err < 0 || err >= (int64_t)(sizeof names / sizeof names[0])) return "?";
    return names[err];
}
