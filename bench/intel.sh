#!/usr/bin/env bash
# Vulnerability-intelligence benchmark (issue #5 goals): full-NVD-sized import time and store size,
# and the time to match 10,000 assets (services + SBOM components) after load.
#
# The corpus is SYNTHETIC (real NVD CVE JSON 2.0 schema, made-up content; see intel_gen_nvd.py):
# no network here, and the real feed is not shipped. Peer tools: Grype and Trivy would be the
# natural comparison (they match SBOMs against their own vulnerability DBs); the script looks for
# them and says so when they are absent (they are not packaged in Debian and cannot be downloaded
# here), so the figures are compared with the goals instead.
#
# usage: bench/intel.sh [CVES=300000] [ASSETS=10000]
set -euo pipefail
CVES=${1:-300000}
ASSETS=${2:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/medguard/target}
WORK=$(mktemp -d /tmp/medguard-bench-intel.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "== building (release; the intel crate's bench helper runs the same import and matching code as the CLI)"
cargo build --release -q -p medguard-intel --example bench_match --manifest-path "$ROOT/Cargo.toml"
MATCH="$CARGO_TARGET_DIR/release/examples/bench_match"

echo "== generating $CVES synthetic CVEs (NVD JSON 2.0 shape)"
python3 "$ROOT/bench/intel_gen_nvd.py" "$WORK/feeds" "$CVES"
GZ=$(du -cb "$WORK"/feeds/*.json.gz | tail -1 | cut -f1)
RAW=$(for f in "$WORK"/feeds/*.json.gz; do gzip -dc "$f" | wc -c; done | awk '{s+=$1} END {print s}')

echo "== import (one transaction per file, $(nproc) cores)"
START=$(date +%s.%N)
/usr/bin/time -v "$MATCH" import "$WORK/bench.db" "$WORK"/feeds/*.json.gz \
  > "$WORK/import.out" 2> "$WORK/import.time"
END=$(date +%s.%N)
IMPORT_S=$(echo "$END - $START" | bc)
IMPORT_RSS=$(grep "Maximum resident" "$WORK/import.time" | awk '{print $NF}')
DB_BYTES=$(du -cb "$WORK"/bench.db* | tail -1 | cut -f1)

echo "== incremental re-import of one file (unchanged records are replaced in place)"
START=$(date +%s.%N)
"$MATCH" import "$WORK/bench.db" "$(ls "$WORK"/feeds/*.json.gz | head -1)" > /dev/null
END=$(date +%s.%N)
REIMPORT_S=$(echo "$END - $START" | bc)

echo "== matching $ASSETS synthetic assets"
MATCH_OUT=$("$MATCH" "$WORK/bench.db" "$ASSETS")
echo "$MATCH_OUT"
WARM=$(echo "$MATCH_OUT" | sed -n 's/.*match_warm_s=\([0-9.]*\).*/\1/p')
COLD=$(echo "$MATCH_OUT" | sed -n 's/.*match_cold_s=\([0-9.]*\).*/\1/p')

echo
echo "== results (synthetic corpus: $CVES CVEs, $((RAW / 1048576)) MiB JSON, $((GZ / 1048576)) MiB gzipped)"
printf "import:         %8.1f s    goal < 60 s      ratio %.2f of goal\n" "$IMPORT_S" "$(echo "$IMPORT_S / 60" | bc -l)"
printf "import peak RSS:%8.1f MiB\n" "$(echo "$IMPORT_RSS / 1024" | bc -l)"
printf "store size:     %8.1f MiB  goal < 500 MiB  ratio %.2f of goal\n" "$(echo "$DB_BYTES / 1048576" | bc -l)" "$(echo "$DB_BYTES / 524288000" | bc -l)"
printf "re-import file: %8.1f s\n" "$REIMPORT_S"
printf "match %s assets (cold caches): %6.2f s\n" "$ASSETS" "$COLD"
printf "match %s assets (after load):  %6.2f s  goal < 1 s  ratio %.2f of goal\n" "$ASSETS" "$WARM" "$WARM"
for peer in grype trivy; do
  if command -v "$peer" > /dev/null; then
    echo "peer $peer found: $($peer version 2>&1 | head -1) (comparison not scripted yet)"
  else
    echo "peer $peer: not installed here (not in Debian's archive; no downloads) - figures compared with the goals only"
  fi
done
