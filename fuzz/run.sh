#!/bin/sh
# Run one fuzz target (or every one) for a bounded time.
#
#   fuzz/run.sh TARGET|all SECONDS [libFuzzer options...]
#
# Needs the fuzz preset built (cmake --workflow --preset fuzz): the targets
# are build-fuzz/fuzz/fuzz-TARGET. Each run starts from the checked-in seeds
# (fuzz/corpus/TARGET; the elf target also from the real guest image,
# build/pvtimer-guest.elf or $PVT_GUEST_IMAGE, when it has been built) and
# keeps what it finds in build-fuzz/fuzz/corpus/TARGET, so that a later run
# continues from there. A finding (a crash, a sanitizer report, a broken
# promise) is saved in build-fuzz/fuzz/findings/TARGET/ and the script exits
# 1; it prints the executions and the coverage of each run. Exits 2 on a
# usage error, 77 when the target is not built.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${PVT_FUZZ_BUILD:-$root/build-fuzz}
targets="drift pvclock clocksource timerqueue scenario elf hypercall"

[ $# -ge 2 ] || { echo "usage: $0 TARGET|all SECONDS [libFuzzer options]" >&2; exit 2; }
which=$1
secs=$2
shift 2
case $secs in
'' | *[!0-9]*) echo "$0: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;;
esac
if [ "$which" = all ]; then
    rc=0
    for t in $targets; do
        "$0" "$t" "$secs" "$@" || rc=1
    done
    exit $rc
fi
case " $targets " in
*" $which "*) ;;
*) echo "$0: unknown target '$which' (one of: $targets, all)" >&2; exit 2 ;;
esac
bin=$build/fuzz/fuzz-$which
# 77, the tests' "skipped": nothing to run until the preset is built
[ -x "$bin" ] || { echo "$0: $bin not built (cmake --workflow --preset fuzz)" >&2; exit 77; }

work=$build/fuzz/corpus/$which
findings=$build/fuzz/findings/$which
mkdir -p "$work" "$findings"
seeds="$here/corpus/$which"
extra=""
if [ "$which" = elf ]; then
    image=${PVT_GUEST_IMAGE:-$root/build/pvtimer-guest.elf}
    if [ -f "$image" ]; then
        mkdir -p "$build/fuzz/seed-elf"
        cp "$image" "$build/fuzz/seed-elf/pvtimer-guest.elf"
        extra="$build/fuzz/seed-elf"
    else
        echo "note: $image not built; the elf target starts from its seeds only"
    fi
fi
dict=""
[ -f "$here/$which.dict" ] && dict="-dict=$here/$which.dict"

log=$build/fuzz/$which.log
echo "fuzz-$which: $secs s"
set +e
# shellcheck disable=SC2086
"$bin" "$work" "$seeds" $extra $dict -max_total_time="$secs" \
    -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/" "$@" >"$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
echo "fuzz-$which: ${execs:-?} executions (${speed:-?}/s), ${cov:-cov: ?} edges, exit $rc"
if [ $rc -ne 0 ]; then
    grep -E 'broken promise|ERROR:|runtime error|SUMMARY' "$log" | head -n 5 >&2 || true
    echo "fuzz-$which: finding saved in $findings/ (log: $log)" >&2
    exit 1
fi
