#!/usr/bin/env bash
# JMH: what statement analysis costs per statement. cachedPgbenchSelect is a pgbench -S statement with a fresh
# literal answered from the fingerprint cache (target < 2 us); repeatedShape is what a session pays instead when
# the statement repeats its last one's shape (the per-session memo); coldOltp is a full analysis of typical OLTP
# statements (target: median < 100 us; JMH's p0.50 line), and coldOltpWithoutWitness the same without the
# witness's sweep (target: coldOltp's median <= 1.3x coldOltpWithoutWitness's). coldInsert10Rows,
# coldInsert10kRows and coldIn10kConstants are statements of any size (issue 12; target: 10k rows within 2x of 10),
# readInsert10kRows the floor under them: reading each character of the 10k-row text once and nothing else.
#
#   bench/analysis.sh 'AnalysisBenchmark.(cold(Insert|In10k)|read)' -f 3   # issue 12's figures, about 4 minutes
#
#   bench/analysis.sh            # about 1 minute
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$here/bench/jmh/target/pgveil-bench-jmh-0.1.0-SNAPSHOT.jar" ]; then
  (cd "$here" && mvn -q -DskipTests install -pl bench/jmh -am)
fi
mkdir -p "$here/bench/results"
java -cp "$here/bench/jmh/target/pgveil-bench-jmh-0.1.0-SNAPSHOT.jar:$here/bench/jmh/target/lib/*" org.openjdk.jmh.Main \
  -rf text -rff "$here/bench/results/analysis-$(date +%Y%m%d-%H%M%S).txt" "${@:-AnalysisBenchmark}"
