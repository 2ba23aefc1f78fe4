/* TAP reporting inside the system (see drops/tap.h). */
#include "drops/tap.h"

int tap_count, tap_failed;

void tap_report(int passed, const char *file, int line)
{
    tap_count++;
    if (!passed) {
        tap_failed++;
        printf("# failed at %s:%d\n", file, line);
    }
    printf("%sok %d - ", passed ? "" : "not ", tap_count);
}

_Noreturn void tap_done(void)
{
    printf("1..%d\n", tap_count);
    machine_exit(tap_failed ? 1 : 0);
}
