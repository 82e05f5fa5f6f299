#!/usr/bin/env bash
# Sustained live ingestion of `medguard watch` on loopback with the full SigmaHQ rule set loaded:
# a load generator pushes N octet-counted syslog messages over TCP; watch stops after N messages and
# reports events/s, drops (must be 0) and malformed counts. Goal: >= 50,000 events/s on one core.
# Usage: bench/detect-live.sh [N] (default 500000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500000}
SIGMA=${MEDGUARD_SIGMA_DIR:-../shared/data/sigma}
OUT=bench/out/detect-live
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/medguard/target}
cargo build --release -q -p medguard
BIN=$OUT/medguard
cp "$CARGO_TARGET_DIR/release/medguard" "$BIN"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -f "$OUT/live.db"*
"$BIN" --db "$OUT/live.db" --json watch --syslog "tcp://127.0.0.1:$PORT" --max-events "$N" --duration 600 \
  --rules "$SIGMA/rules" --rules "$SIGMA/rules-emerging-threats" --rules "$SIGMA/rules-threat-hunting" \
  > "$OUT/watch.out" 2> "$OUT/watch.err" &
WATCH=$!
for _ in $(seq 100); do
  grep -q "listening on" "$OUT/watch.err" 2>/dev/null && break
  sleep 0.2
done
python3 bench/detect_loadgen.py 127.0.0.1 "$PORT" "$N" > "$OUT/gen.out"
wait "$WATCH" || true
echo "load generator: $(cat "$OUT/gen.out") (messages, seconds)"
ALERTS=$(grep -c '"type":"alert"' "$OUT/watch.out" || true)
grep '"type":"watch_summary"' "$OUT/watch.out" | ALERTS=$ALERTS python3 -c '
import json, os, sys
s = json.load(sys.stdin)
print("medguard watch (one engine thread, %s alerts): received %d, processed %d, dropped %d, malformed %d, %.0f events/s sustained"
      % (os.environ["ALERTS"], s["received"], s["processed"], s["dropped"], s["malformed"], s["events_per_second"]))'
