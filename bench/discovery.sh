#!/usr/bin/env bash
# Discovery benchmark: medguard scan vs nmap -sV -T4 on the same lab peers and the same ports.
#
# Starts the lab's real peers (dcmtk, Orthanc, pymodbus, mosquitto, python-hl7, bacpypes3, net-snmp,
# Samba, vsftpd, OpenSSH, telnetd, xrdp, TigerVNC, CUPS) on loopback with `lab-up`, scans them with
# `medguard scan` (default, safe profile) and with `nmap -sV -T4` (SYN + UDP scan, as root), and prints
# the wall time of each, their ratio, and which devices/protocols each identified.
#
# Usage: bench/discovery.sh            (PROFILE=debug to skip the release build)
# Needs: the lab peers (sudo lab/install.sh), nmap, python3; root for nmap's -sS/-sU.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/medguard/target}"
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then
  cargo build -q --release -p medguard -p medguard-lab
else
  cargo build -q -p medguard -p medguard-lab
fi
BIN="$CARGO_TARGET_DIR/$PROFILE"
WORK="$(mktemp -d)"
trap 'exec {LAB[1]}>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Start the peers; lab-up stops them when its stdin closes.
coproc LAB { "$BIN/lab-up" 2>"$WORK/lab-up.err"; }
: > "$WORK/peers"
while IFS= read -r line <&"${LAB[0]}"; do
  [ "$line" = ready ] && break
  echo "$line" >> "$WORK/peers"
done
[ -s "$WORK/peers" ] || { echo "no lab peer started:"; cat "$WORK/lab-up.err"; exit 1; }

# name ip port/transport probe what...
targets=$(awk '{print $2}' "$WORK/peers" | sort -u | tr '\n' ' ')
tcp=$(awk '$3 ~ /\/tcp$/ {split($3,a,"/"); print a[1]}' "$WORK/peers" | sort -un | paste -sd, -)
udp=$(awk '$3 ~ /\/udp$/ {split($3,a,"/"); print a[1]}' "$WORK/peers" | sort -un | paste -sd, -)
hints=()
while read -r _ _ pt probe _; do hints+=(--service-port "$probe:${pt%/*}"); done < "$WORK/peers"
ports="$tcp"; [ -n "$udp" ] && ports="$ports,U:$udp"
echo "peers: $(wc -l < "$WORK/peers"), hosts: $targets"
echo "ports: $ports"
echo

now() { date +%s.%N; }
t0=$(now)
"$BIN/medguard" --db "$WORK/bench.db" --json scan $targets --ports "$ports" "${hints[@]}" > "$WORK/medguard.jsonl" || true
t1=$(now)
nmap_ports="T:$tcp"; [ -n "$udp" ] && nmap_ports="$nmap_ports,U:$udp"
nmap -sV -T4 -sS ${udp:+-sU} -Pn -p "$nmap_ports" -oX "$WORK/nmap.xml" $targets > /dev/null
t2=$(now)

python3 - "$WORK/peers" "$WORK/medguard.jsonl" "$WORK/nmap.xml" "$t0" "$t1" "$t2" <<'PY'
import json, sys, xml.etree.ElementTree as ET
peers_f, mg_f, nm_f, t0, t1, t2 = sys.argv[1:7]
t0, t1, t2 = float(t0), float(t1), float(t2)
mg, cat = {}, {}
for line in open(mg_f):
    r = json.loads(line)
    if r.get("type") != "asset":
        continue
    for s in r.get("services", []):
        mg[(r["ip"], s["port"], s["transport"])] = s["protocol"]
    cat[r["ip"]] = r["category"]
nm = {}
for host in ET.parse(nm_f).getroot().iter("host"):
    ip = next((a.get("addr") for a in host.iter("address") if a.get("addrtype") == "ipv4"), None)
    for p in host.iter("port"):
        st = p.find("state"); sv = p.find("service")
        if st is None or not st.get("state", "").startswith("open"):
            continue
        name = "-" if sv is None else sv.get("name", "-")
        if sv is not None and sv.get("method") == "table":
            name += "?"
        if sv is not None and sv.get("product"):
            name += " (" + sv.get("product") + ")"
        nm[(ip, int(p.get("portid")), p.get("protocol"))] = name
rows, mg_ok, nm_ok = [], 0, 0
for line in open(peers_f):
    name, ip, pt, probe = line.split()[:4]
    port, tr = pt.split("/")
    key = (ip, int(port), tr)
    m = mg.get(key, "-"); n = nm.get(key, "-")
    mg_ok += m == probe
    nm_ok += n.split(" ")[0].rstrip("?") in {probe, *{"dicom": ["acr-nema", "dicom"], "modbus": ["mbap", "modbus"], "rdp": ["ms-wbt-server"], "smb": ["microsoft-ds", "netbios-ssn"], "mqtt": ["mqtt"], "hl7": ["hl7"]}.get(probe, [])} and not n.split(" ")[0].endswith("?")
    rows.append((name, f"{ip}:{port}/{tr}", probe, m, cat.get(ip, "-"), n))
w = [max(len(str(r[i])) for r in rows + [("peer", "address", "expected", "medguard", "category", "nmap -sV")]) for i in range(6)]
fmt = "  ".join("{:<%d}" % x for x in w)
print(fmt.format("peer", "address", "expected", "medguard", "category", "nmap -sV"))
for r in rows:
    print(fmt.format(*r))
mgt, nmt = t1 - t0, t2 - t1
print()
print(f"medguard scan: {mgt:8.1f} s   identified {mg_ok}/{len(rows)} peers by protocol handshake")
print(f"nmap -sV -T4:  {nmt:8.1f} s   identified {nm_ok}/{len(rows)} peers (guesses from the port table, marked ?, not counted)")
print(f"ratio (nmap / medguard): {nmt / mgt:.1f}x")
PY
