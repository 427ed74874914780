/* placeholder: being written */
#include "runner/test.h"
