#!/usr/bin/env python3
"""Peer measurement: parse every record of the given .evtx files to JSON with the PyPI `evtx`
package (pyevtx-rs, Python bindings of the same Rust evtx parser medguard uses). This is parsing
only, no rule evaluation: Hayabusa and Chainsaw are not installable from the registries reachable
here, so this is the closest available peer. Prints: files events seconds."""
import sys
import time

from evtx import PyEvtxParser

def main():
    t = time.perf_counter()
    n = files = 0
    for p in sys.argv[1:]:
        files += 1
        try:
            for _ in PyEvtxParser(p).records_json():
                n += 1
        except Exception as e:  # damaged samples: count what was read, as medguard does
            print(f"peer: {p}: {e}", file=sys.stderr)
    print(files, n, f"{time.perf_counter() - t:.3f}")

if __name__ == "__main__":
    main()
