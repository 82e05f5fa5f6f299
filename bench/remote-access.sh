#!/usr/bin/env bash
# Remote-access and file-sharing benchmark: medguard's ssh, telnet, ftp, smb, rdp and vnc probes vs
# nmap's service detection plus the NSE scripts that answer the same questions, on the same real
# peers (OpenSSH, inetutils telnetd, vsftpd, Samba, xrdp, TigerVNC started by `lab-up` on loopback).
#
# Prints the wall time of each, their ratio, and per peer the findings each tool established:
#   telnet-enabled   nmap: service telnet
#   ftp-anonymous    nmap: ftp-anon "Anonymous FTP login allowed"
#   smbv1-enabled    nmap: smb-protocols lists "NT LM 0.12 (SMBv1)"
#   smb-signing-not-required  nmap: smb2-security-mode "enabled but not required"
#   rdp-no-nla       nmap: rdp-enum-encryption shows no "CredSSP (NLA): SUCCESS" or "Native RDP: SUCCESS"
#   vnc-no-auth      nmap: vnc-info lists security type "None"
#
# Usage: bench/remote-access.sh        (PROFILE=debug to use a debug build; NO_BUILD=1 with
#        MEDGUARD=path LAB_UP=path to use binaries built before)
# Needs: the lab peers (sudo lab/install.sh), nmap, python3; root (Samba on port 445).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/medguard/target}"
PROFILE="${PROFILE:-release}"
if [ -z "${NO_BUILD:-}" ]; then
  if [ "$PROFILE" = release ]; then
    cargo build -q --release -p medguard -p medguard-lab
  else
    cargo build -q -p medguard -p medguard-lab
  fi
fi
BIN="$CARGO_TARGET_DIR/$PROFILE"
MEDGUARD="${MEDGUARD:-$BIN/medguard}"
LAB_UP="${LAB_UP:-$BIN/lab-up}"
WORK="$(mktemp -d)"
trap 'exec {LAB[1]}>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

coproc LAB { "$LAB_UP" 2>"$WORK/lab-up.err"; }
: > "$WORK/peers"
while IFS= read -r line <&"${LAB[0]}"; do
  [ "$line" = ready ] && break
  # name ip port/transport probe what...: keep this benchmark's protocols only.
  case "$(echo "$line" | awk '{print $4}')" in
    ssh|telnet|ftp|smb|rdp|vnc) echo "$line" >> "$WORK/peers" ;;
  esac
done
[ -s "$WORK/peers" ] || { echo "no lab peer started:"; cat "$WORK/lab-up.err"; exit 1; }

targets=$(awk '{print $2}' "$WORK/peers" | sort -u | tr '\n' ' ')
ports=$(awk '{split($3,a,"/"); print a[1]}' "$WORK/peers" | sort -un | paste -sd, -)
hints=()
while read -r _ _ pt probe _; do hints+=(--service-port "$probe:${pt%/*}"); done < "$WORK/peers"
echo "peers: $(wc -l < "$WORK/peers"), hosts: $targets"
echo "ports: $ports"
echo

now() { date +%s.%N; }
t0=$(now)
"$MEDGUARD" --db "$WORK/bench.db" --json scan $targets --ports "$ports" "${hints[@]}" \
  > "$WORK/medguard.jsonl" || true
t1=$(now)
nmap -sT -sV -T4 -Pn -p "$ports" \
  --script ftp-anon,smb-protocols,smb2-security-mode,rdp-enum-encryption,vnc-info,ssh2-enum-algos \
  -oX "$WORK/nmap.xml" $targets > /dev/null
t2=$(now)

python3 - "$WORK/peers" "$WORK/medguard.jsonl" "$WORK/nmap.xml" "$t0" "$t1" "$t2" <<'PY'
import json, sys, xml.etree.ElementTree as ET
peers_f, mg_f, nm_f, t0, t1, t2 = sys.argv[1:7]
t0, t1, t2 = float(t0), float(t1), float(t2)
WATCH = {"telnet-enabled", "ftp-anonymous", "smbv1-enabled", "smb-signing-not-required",
         "rdp-no-nla", "vnc-no-auth"}
mg, mg_proto = {}, {}
for line in open(mg_f):
    r = json.loads(line)
    if r.get("type") != "asset":
        continue
    for s in r.get("services", []):
        mg_proto[(r["ip"], s["port"])] = s.get("protocol", "-")
    for f in r.get("findings", []):
        if f.get("id") in WATCH:
            mg.setdefault((r["ip"], f.get("port")), set()).add(f["id"])
nm, nm_proto = {}, {}
for host in ET.parse(nm_f).getroot().iter("host"):
    ip = next((a.get("addr") for a in host.iter("address") if a.get("addrtype") == "ipv4"), None)
    host_scripts = {s.get("id"): s.get("output", "") for h in host.iter("hostscript") for s in h.iter("script")}
    for p in host.iter("port"):
        st = p.find("state"); sv = p.find("service")
        if st is None or not st.get("state", "").startswith("open"):
            continue
        port = int(p.get("portid"))
        name = "-" if sv is None else sv.get("name", "-")
        nm_proto[(ip, port)] = name
        out = {s.get("id"): s.get("output", "") for s in p.iter("script")}
        if port in (139, 445):
            out.update(host_scripts)
        got = set()
        if name == "telnet":
            got.add("telnet-enabled")
        if "Anonymous FTP login allowed" in out.get("ftp-anon", ""):
            got.add("ftp-anonymous")
        if "SMBv1" in out.get("smb-protocols", ""):
            got.add("smbv1-enabled")
        if "not required" in out.get("smb2-security-mode", ""):
            got.add("smb-signing-not-required")
        rdp = out.get("rdp-enum-encryption")
        if rdp is not None and ("CredSSP (NLA): SUCCESS" not in rdp or "Native RDP: SUCCESS" in rdp):
            got.add("rdp-no-nla")
        vnc = out.get("vnc-info", "")
        if "None" in vnc.split("Security types:")[-1] if "Security types:" in vnc else False:
            got.add("vnc-no-auth")
        nm[(ip, port)] = got
rows = []
for line in open(peers_f):
    name, ip, pt = line.split()[:3]
    port = int(pt.split("/")[0])
    key = (ip, port)
    rows.append((name, f"{ip}:{port}", mg_proto.get(key, "-"), ",".join(sorted(mg.get(key, []))) or "-",
                 nm_proto.get(key, "-"), ",".join(sorted(nm.get(key, []))) or "-"))
head = ("peer", "address", "medguard", "medguard findings", "nmap", "nmap findings")
w = [max(len(str(r[i])) for r in rows + [head]) for i in range(6)]
fmt = "  ".join("{:<%d}" % x for x in w)
print(fmt.format(*head))
for r in rows:
    print(fmt.format(*r))
mgt, nmt = t1 - t0, t2 - t1
mgn = sum(len(v) for v in mg.values()); nmn = sum(len(v) for v in nm.values())
print()
print(f"medguard scan:               {mgt:7.1f} s   {mgn} findings of {sorted(WATCH)}")
print(f"nmap -sV + NSE scripts:      {nmt:7.1f} s   {nmn} findings")
print(f"ratio (nmap / medguard): {nmt / mgt:.1f}x")
PY
