#!/usr/bin/env bash
# Builds RealtimeHub's libFuzzer targets and runs them (Docs/reliability.md, "Fuzzing").
#
#   Tests/Fuzz/run.sh [--runs N | --seconds S] [--sanitize LIST] [--debug] [--jobs] [target...]
#
#   targets     engine-packet engine-payload socket-decoder json stream-message (default: all)
#   --runs N    stop each target after N executions (libFuzzer -runs)
#   --seconds S stop each target after S seconds (libFuzzer -max_total_time); default 10 seconds
#   --sanitize  swiftc sanitizers, default "fuzzer,address"; "fuzzer" alone builds faster (CI)
#   --debug     debug build (faster to build, slower to run)
#   --build-only  build, run nothing
#
# Seeds come from Fixtures/fuzz/<target>/ (read-only; regenerate with Tests/Fuzz/seeds.py). New
# inputs libFuzzer finds go to .build-fuzz/corpus/<target>/ (at the repository's top, outside Tests/ so
# the dependency checkouts' own tests are not mistaken for ours), crashes and failed invariants to
# .build-fuzz/artifacts/<target>/ (crash-<sha1>), which is printed; the script then exits 1.
# Extra libFuzzer flags can be passed in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-max_len=65536).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"

declare -A products=(
  [engine-packet]=FuzzEnginePacket
  [engine-payload]=FuzzEnginePayload
  [socket-decoder]=FuzzSocketDecoder
  [json]=FuzzJSON
  [stream-message]=FuzzStreamMessage
)
all=(engine-packet engine-payload socket-decoder json stream-message)

limit=(-max_total_time=10)
sanitize=fuzzer,address
configuration=release
build_only=false
targets=()
while (($#)); do
  case "$1" in
    --runs) limit=(-runs="$2"); shift 2 ;;
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --sanitize) sanitize="$2"; shift 2 ;;
    --debug) configuration=debug; shift ;;
    --build-only) build_only=true; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) [[ -n "${products[$1]:-}" ]] || { echo "run.sh: unknown target $1 (${all[*]})" >&2; exit 2; }
       targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=("${all[@]}")

# Everything the fuzzers build and find lives in $out, at the repository's top (git-ignored), with one
# build directory per sanitizer set and configuration, so switching does not rebuild the other.
out="../../.build-fuzz"
scratch="$out/${configuration}-${sanitize//,/-}"
build=(swift build -c "$configuration" --scratch-path "$scratch"
       -Xswiftc "-sanitize=$sanitize" -Xswiftc -parse-as-library)
start=$SECONDS
# Every product at once (swift build takes one --product only; the targets share most of the build).
"${build[@]}"
echo "fuzz build ($configuration, -sanitize=$sanitize): $((SECONDS - start)) s"
$build_only && exit 0
bin="$(swift build -c "$configuration" --scratch-path "$scratch" --show-bin-path)"

status=0
for target in "${targets[@]}"; do
  corpus="$out/corpus/$target"
  artifacts="$out/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  echo "== $target (${products[$target]}) ${limit[*]}"
  # ASan: no leak check (Swift's runtime metadata caches look like leaks at exit).
  rc=0
  ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}" nice "$bin/${products[$target]}" \
    "${limit[@]}" -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_FLAGS:-} \
    "$corpus" "../../Fixtures/fuzz/$target" >"$out/$target.log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|==[0-9]+==ERROR|fuzz invariant|SUMMARY|Test unit written|artifact_prefix)' \
    "$out/$target.log" || true
  if ((rc)) || grep -qE '==ERROR|fuzz invariant failed|deadly signal' "$out/$target.log"; then
    echo "run.sh: $target FAILED (exit $rc); see .build-fuzz/$target.log and .build-fuzz/artifacts/$target/" >&2
    status=1
  fi
done
exit $status
