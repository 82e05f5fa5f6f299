#!/usr/bin/env bash
# Install the lab's real third-party peers (Debian and PyPI packages). Idempotent; needs root.
# Used by .ci/run and by anyone who wants to run the full test suite on a fresh Debian machine.
set -euo pipefail

APT_PACKAGES=(
  dcmtk orthanc            # DICOM: storescp/dcmqrscp/echoscu, Orthanc PACS
  snmpd snmp               # SNMP agent
  mosquitto                # MQTT broker
  vsftpd                   # FTP (anonymous)
  openssh-server           # SSH
  inetutils-telnetd openbsd-inetd  # Telnet under inetd
  lighttpd                 # HTTP
  samba smbclient          # SMB (SMBv1 on)
  cups-daemon              # IPP printer
  gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3-gi  # RTSP camera (GStreamer RTSP server)
  openssl                  # an RSA-1024 certificate for the TLS weak-key test
  tigervnc-standalone-server  # VNC
  xrdp                     # RDP
  nmap                     # the peer tool for bench/ and `medguard import nmap`
  ripgrep hyperfine        # peers and timing for bench/
  iproute2 python3-venv util-linux
  socat                    # relay into the network namespaces of peers that bind every interface
  openssh-client tigervnc-tools  # ssh-keygen for sshd host keys; vncpasswd for the VNC-auth peer
  zip                      # Info-ZIP: archives (incl. encrypted members) for the PHI tests
  poppler-utils qpdf       # PDF checkers for the risk reports (pdftotext, qpdf --check)
  acl                      # setfacl: a file shared by access list for the PHI exposure test
  bsdextrautils            # column -t: a patient list printed as aligned text for the PHI tests
  postgresql postgresql-client  # pg_dump backups for the PHI tests (they start a cluster of their own)
  7zip xz-utils bzip2 zstd # 7zz, xz, bzip2: archives as Windows desktops and Linux servers pack them, for the PHI tests
  qemu-utils               # qemu-img: virtual disk images the PHI scanner names as not checked
)
# Installed without recommends (fonts, Java, ...): the headless converter is all the tests need.
APT_NO_RECOMMENDS=(
  libreoffice-writer-nogui # soffice --headless: writes and reads real Word 97 .doc for the PHI tests
  libreoffice-impress-nogui # ... and PowerPoint 97 .ppt
)
VENV=/var/cache/medguard/venv
PIP_PACKAGES=(pymodbus bacpypes3 hl7 openpyxl python-docx python-pptx fpdf2 reportlab pypdf msoffcrypto-tool vobject extract-msg xlwt)

# Packages must not start their daemons system-wide: the tests start their own, on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
updated=0
# apt_install [APT-GET OPTION...] -- PACKAGE...: install the packages not installed yet.
apt_install() {
  local opts=() missing=() p
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  echo "lab: installing ${missing[*]} ${opts[*]}"
  if [ "$updated" = 0 ]; then apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null
}
apt_install -- "${APT_PACKAGES[@]}"
apt_install --no-install-recommends -- "${APT_NO_RECOMMENDS[@]}"

if [ ! -x "$VENV/bin/python3" ]; then
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
fi
for p in "${PIP_PACKAGES[@]}"; do
  "$VENV/bin/python3" -m pip show -q "$p" >/dev/null 2>&1 || need_pip=1
done
if [ "${need_pip:-0}" = 1 ]; then
  echo "lab: installing PyPI peers ${PIP_PACKAGES[*]}"
  "$VENV/bin/python3" -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi
echo "lab: peers installed"
