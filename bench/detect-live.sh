#!/usr/bin/env bash
# Sustained live ingestion of `medguard watch` on loopback with the full SigmaHQ rule set loaded:
# a load generator pushes N octet-counted syslog messages over TCP; watch stops after N messages.
# Reports the sustained rate (from the first message received to the last one processed, so idle
# time before the load starts does not count), the generator's own ceiling and send rate, and
# received/processed/dropped (TCP is back-pressured: dropped must be 0).
# Goal: >= 50,000 events/s on one engine thread.
# Usage: bench/detect-live.sh [N] (default 500000); MEDGUARD_BIN=path measures a given binary.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500000}
SIGMA=${MEDGUARD_SIGMA_DIR:-../shared/data/sigma}
OUT=bench/out/detect-live
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/medguard/target}
[ -n "${MEDGUARD_BIN:-}" ] || cargo build --release -q -p medguard
BIN=$OUT/medguard
cp "${MEDGUARD_BIN:-$CARGO_TARGET_DIR/release/medguard}" "$BIN"

# The generator alone against a discard sink: if it cannot go much faster than medguard, the
# figure below measures the generator, not medguard.
read -r cap_n cap_s < <(python3 bench/detect_loadgen.py --capacity "$N")
echo "load generator ceiling (discard sink): $(python3 -c "print(round($cap_n/$cap_s))") messages/s"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -f "$OUT/live.db"*
"$BIN" --db "$OUT/live.db" --json watch --syslog "tcp://127.0.0.1:$PORT" --max-events "$N" --duration 600 \
  --rules "$SIGMA/rules" --rules "$SIGMA/rules-emerging-threats" --rules "$SIGMA/rules-threat-hunting" \
  > "$OUT/watch.out" 2> "$OUT/watch.err" &
WATCH=$!
for _ in $(seq 300); do
  grep -q "listening on" "$OUT/watch.err" 2>/dev/null && break
  sleep 0.2
done
python3 bench/detect_loadgen.py 127.0.0.1 "$PORT" "$N" > "$OUT/gen.out"
GEN_DONE=$(date +%s.%N)
wait "$WATCH" || true
WATCH_DONE=$(date +%s.%N)
read -r gen_n gen_s < "$OUT/gen.out"
echo "load generator: sent $gen_n messages in ${gen_s}s ($(python3 -c "print(round($gen_n/$gen_s))") messages/s, back-pressured by medguard); medguard exited $(python3 -c "print(round($WATCH_DONE-$GEN_DONE,2))")s after the generator finished"
ALERTS=$(grep -c '"type":"alert"' "$OUT/watch.out" || true)
grep '"type":"watch_summary"' "$OUT/watch.out" | ALERTS=$ALERTS CAP=$(python3 -c "print($cap_n/$cap_s)") python3 -c '
import json, os, sys
s = json.load(sys.stdin)
print("medguard watch (one engine thread, %s alerts): received %d, processed %d, dropped %d, malformed %d"
      % (os.environ["ALERTS"], s["received"], s["processed"], s["dropped"], s["malformed"]))
print("sustained: %.0f events/s over %.2fs under load (%.0f events/s over %.2fs including idle before the load)"
      % (s["sustained_events_per_second"], s["busy_seconds"], s["events_per_second"], s["seconds"]))
print("ratios: %.2fx the 50,000 events/s goal; generator ceiling is %.1fx the sustained rate"
      % (s["sustained_events_per_second"] / 50000, float(os.environ["CAP"]) / s["sustained_events_per_second"]))'
