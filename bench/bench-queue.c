/* placeholder: being written */
#include <stdio.h>

#include "commands.h"

int pvt_bench_queue(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "pvtimer bench queue: not built yet\n");
    return 1;
}
