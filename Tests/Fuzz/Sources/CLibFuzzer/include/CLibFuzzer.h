#ifndef C_LIB_FUZZER_H
#define C_LIB_FUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`). SwiftPM gives every executable
/// its own `main` (it renames the entry point so that tests can link executables), so libFuzzer's
/// `main` is never used; each fuzzer's `main` calls this instead, with the command line.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
