#!/bin/sh
# The simulator's output for one vCPU against the baselines: the table as
# it was, the JSON with the members several vCPUs added taken out (the new
# parameters at the end of "params"; "vcpus" .. "per_vcpu" at the end of
# each strategy's object), the CSV as it was.
#
#   tests/sim-baseline.sh BUILD/pvtimer BASELINE-DIR
#
# Exits 0 when everything matches; prints what differs otherwise.
set -u
pvtimer=${1:?usage: sim-baseline.sh PVTIMER BASELINE-DIR}
base=${2:?usage: sim-baseline.sh PVTIMER BASELINE-DIR}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
rc=0

strip() {
    sed -E -e 's/, "vcpus": [^}]*\}, "strategies"/}, "strategies"/' \
        -e 's/, "vcpus": [0-9]+, "clock_backwards": [^[]*"per_vcpu": \[[^]]*\]//g'
}

check() { # name, then the sim arguments
    name=$1
    shift
    "$pvtimer" sim "$@" --json >"$tmp/$name.json" || { echo "$name: run failed"; rc=1; return; }
    strip <"$tmp/$name.json" >"$tmp/$name.stripped"
    if ! cmp -s "$tmp/$name.stripped" "$base/$name.json"; then
        echo "$name: JSON differs from $base/$name.json"
        rc=1
    fi
    if [ "$(strip <"$tmp/$name.json" | wc -c)" -eq "$(wc -c <"$tmp/$name.json")" ]; then
        echo "$name: the JSON lacks the vCPU members"
        rc=1
    fi
}

for s in seed-boot preempt migrate nohz-idle; do
    check "$s" --scenario "$s"
done
check steady-drift-1h --scenario steady-drift --set duration_s=1h
"$pvtimer" sim --csv "$tmp/seed-boot.csv" >"$tmp/table" || rc=1
cmp -s "$tmp/seed-boot.csv" "$base/seed-boot.csv" || { echo "seed-boot: CSV differs"; rc=1; }
[ $rc -eq 0 ] && echo "sim-baseline: every output matches $base"
exit $rc
