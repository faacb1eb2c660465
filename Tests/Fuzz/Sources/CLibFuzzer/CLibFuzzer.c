// Declarations only: LLVMFuzzerRunDriver comes from libclang_rt.fuzzer (swiftc -sanitize=fuzzer).
#include "CLibFuzzer.h"
