#!/usr/bin/env bash
# Instructions per input byte (and per document) of one case of the rewrite
# bench, counted by callgrind: repeatable for the same binary and input,
# whatever else the machine is doing, unlike the criterion timings.
#
#   benches/rewrite-instructions.sh CASE BYTES [RUNS]
#   benches/rewrite-instructions.sh paths 100000        # 10 paths, 100KB, 200 runs
#   benches/rewrite-instructions.sh serde 1000 5000     # the serde_json baseline, 1KB
#
# CASE: paths | untouched | detect | serde (the bench's cases). It builds
# `rewrite-count` with the bench profile (release: fat LTO), counts a run
# with RUNS repetitions and one with none, and divides the difference. Needs
# valgrind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case_name=${1:?usage: $0 CASE BYTES [RUNS]}
bytes=${2:?usage: $0 CASE BYTES [RUNS]}
runs=${3:-$(( bytes >= 1000000 ? 2 : 20000000 / bytes ))}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

cargo build -q --profile bench -p maskgate-benches --bin rewrite-count
bin=target/release/rewrite-count

count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --case "$case_name" --bytes "$bytes" --runs "$1" 2>&1 \
    | awk '/Collected :/ { print $NF }'
}
doc=$("$bin" --case "$case_name" --bytes "$bytes" --runs 0)
base=$(count 0)
total=$(count "$runs")
doc_bytes=$(awk '{ print $2 }' <<<"$doc")
awk -v t="$total" -v b="$base" -v n="$runs" -v d="$doc_bytes" -v c="$case_name" 'BEGIN {
  per = (t - b) / n
  printf "%s, %d bytes, %d runs: %.0f instructions per document, %.2f per input byte\n", c, d, n, per, per / d
}'
