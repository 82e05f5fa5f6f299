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
cargo test --workspace --locked --no-fail-fast
