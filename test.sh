#!/usr/bin/env bash
# The whole test suite: installs the lab's real peers (root, Debian) and runs every test.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  lab/install.sh
else
  echo "test.sh: not root: lab peers are not installed here; tests that need them will fail loudly" >&2
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The tests start real servers (samba, telnetd, Xtigervnc, xrdp ...). Run them in their own session, with
# no controlling terminal, so no peer's hang-up or process-group signal can reach the calling shell.
if command -v setsid >/dev/null; then
  setsid --wait cargo test --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
