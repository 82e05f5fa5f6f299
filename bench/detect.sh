#!/usr/bin/env bash
# Benchmark `medguard detect`: events/s and peak memory on the EVTX samples (with the full SigmaHQ
# rule set) and on a large synthetic syslog file, next to the closest peer available here.
#
# Hayabusa and Chainsaw are not in crates.io/PyPI/Debian as installable tools (checked: PyPI
# "chainsaw" is an unrelated package), so the peer is the PyPI `evtx` package (pyevtx-rs), parsing the
# same files to JSON without any rules: a lower bound of the work any EVTX tool must do.
#
# Usage: bench/detect.sh [SYSLOG_LINES]   (default 1000000). Needs ../shared/data (or
# MEDGUARD_SIGMA_DIR) for the SigmaHQ rules and the EVTX samples. Writes to bench/out/.
# MEDGUARD_BIN=path measures that binary instead of building one (before/after comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
SIGMA=${MEDGUARD_SIGMA_DIR:-../shared/data/sigma}
SAMPLES=$SIGMA/../evtx-samples/samples
OUT=bench/out/detect
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/medguard/target}
[ -n "${MEDGUARD_BIN:-}" ] || cargo build --release -q -p medguard
BIN=$OUT/medguard
cp "${MEDGUARD_BIN:-$CARGO_TARGET_DIR/release/medguard}" "$BIN"

measure() { # label, then the command; prints wall seconds and peak RSS (MiB)
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/$label.out" 2> "$OUT/$label.err" || true
  read -r wall rss < <(tail -n1 "$OUT/time.txt")
  echo "$wall $((rss / 1024))"
}

RULES=(--rules "$SIGMA/rules" --rules "$SIGMA/rules-emerging-threats" --rules "$SIGMA/rules-threat-hunting")
read -r load_wall load_rss < <(measure rules "$BIN" --db "$OUT/bench.db" rules check --builtin "$SIGMA/rules" "$SIGMA/rules-emerging-threats" "$SIGMA/rules-threat-hunting")
echo "== rule loading: $(tail -n1 "$OUT/rules.out"); ${load_wall}s wall, ${load_rss} MiB peak (part of every run below)"

echo "== EVTX samples ($(ls "$SAMPLES" | wc -l) files) with $(find "$SIGMA"/rules* -name '*.yml' | wc -l) SigmaHQ rules + medguard rules, $(nproc) cores"
read -r wall rss < <(measure evtx "$BIN" --db "$OUT/bench.db" --json detect "$SAMPLES" "${RULES[@]}" --no-store)
events=$(grep '"type":"summary"' "$OUT/evtx.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
alerts=$(grep -c '"type":"alert"' "$OUT/evtx.out" || true)
echo "medguard detect: $events events, $alerts alerts, ${wall}s wall (incl. loading rules), ${rss} MiB peak, $(python3 -c "print(round($events/max($wall,0.001)))") events/s ($(python3 -c "print(round($events/max($wall-$load_wall,0.001)))") events/s without the rule loading)"

VENV=$OUT/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q evtx >/dev/null
fi
read -r wall2 rss2 < <(measure peer "$VENV/bin/python" bench/detect_peer_evtx.py "$SAMPLES"/*.evtx)
read -r _ pevents psecs < "$OUT/peer.out"
echo "peer pyevtx-rs (parse to JSON only, no rules): $pevents events, ${wall2}s wall, ${rss2} MiB peak, $(python3 -c "print(round($pevents/max($wall2,0.001)))") events/s"
echo "ratio (medguard with $(find "$SIGMA"/rules* -name '*.yml' | wc -l) rules vs peer parse only): $(python3 -c "print(round($wall2/max($wall,0.001),2))")x the peer's speed"

echo "== synthetic syslog: $LINES lines"
python3 bench/detect_gen_syslog.py "$OUT/syslog.log" "$LINES"
read -r wall rss < <(measure syslog "$BIN" --db "$OUT/bench.db" --json detect "$OUT/syslog.log" "${RULES[@]}" --no-store)
events=$(grep '"type":"summary"' "$OUT/syslog.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
echo "medguard detect: $events events, ${wall}s wall, ${rss} MiB peak, $(python3 -c "print(round($events/max($wall,0.001)))") events/s ($(python3 -c "print(round($events/max($wall-$load_wall,0.001)))") events/s without the rule loading; $(du -m "$OUT/syslog.log" | cut -f1) MiB file)"
