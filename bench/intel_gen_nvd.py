#!/usr/bin/env python3
"""Generate a SYNTHETIC NVD-shaped corpus for bench/intel.sh.

Real NVD CVE JSON 2.0 schema (the yearly-feed shape: format NVD_CVE, version 2.0, totalResults,
vulnerabilities[].cve with descriptions, metrics.cvssMetricV31, weaknesses, configurations,
references), synthetic content: ids CVE-SYNTH-style numbers in the real id format, vendors
`vendorNNN`, products `productNNNNN`, ranges and AND configurations in the proportions of the real
feed (roughly 70% ranged criteria, 10% firmware-on-hardware AND configurations). Clearly not real
vulnerabilities: every description starts with "SYNTHETIC".

usage: intel_gen_nvd.py OUTDIR [TOTAL=300000] [PER_FILE=15000]
"""
import gzip, json, os, random, sys

out = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 300_000
per_file = int(sys.argv[3]) if len(sys.argv) > 3 else 15_000
rng = random.Random(42)
os.makedirs(out, exist_ok=True)
VENDORS, PRODUCTS = 3000, 40000

def ver():
    return ".".join(str(rng.randint(0, 20)) for _ in range(rng.randint(2, 3)))

def crit(part, v, p, version="*"):
    return f"cpe:2.3:{part}:vendor{v}:product{p}:{version}:*:*:*:*:*:*:*"

def cve(n):
    year = 1999 + n % 27
    v, p = rng.randrange(VENDORS), rng.randrange(PRODUCTS)
    configs = []
    if rng.random() < 0.1:
        configs.append({"operator": "AND", "nodes": [
            {"operator": "OR", "negate": False, "cpeMatch": [{"vulnerable": True, "criteria": crit("o", v, f"{p}_firmware"), "versionEndExcluding": ver(), "matchCriteriaId": "%08X-0000-0000-0000-000000000000" % n}]},
            {"operator": "OR", "negate": False, "cpeMatch": [{"vulnerable": False, "criteria": crit("h", v, p, "-"), "matchCriteriaId": "%08X-0000-0000-0000-000000000001" % n}]}]})
    else:
        matches = []
        for k in range(rng.randint(1, 6)):
            if rng.random() < 0.7:
                lo, hi = sorted([ver(), ver()])
                matches.append({"vulnerable": True, "criteria": crit("a", v, p), "versionStartIncluding": lo, "versionEndExcluding": hi, "matchCriteriaId": "%08X-0000-0000-0000-%012X" % (n, k)})
            else:
                matches.append({"vulnerable": True, "criteria": crit("a", v, p, ver()), "matchCriteriaId": "%08X-0000-0000-0000-%012X" % (n, k)})
        configs.append({"nodes": [{"operator": "OR", "negate": False, "cpeMatch": matches}]})
    score = round(rng.uniform(2.0, 10.0), 1)
    return {"cve": {
        "id": f"CVE-{year}-{100000 + n}",
        "sourceIdentifier": "bench@medguard.invalid",
        "published": f"{year}-01-01T00:00:00.000",
        "lastModified": f"{year}-06-01T00:00:00.000",
        "vulnStatus": "Analyzed",
        "cveTags": [],
        "descriptions": [{"lang": "en", "value": "SYNTHETIC benchmark record. " + "A flaw in a component allows a remote attacker to do something harmful under some conditions. " * 3},
                         {"lang": "es", "value": "SINTETICO. " + "Una falla permite a un atacante remoto hacer algo. " * 3}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "attackVector": "NETWORK", "attackComplexity": "LOW", "privilegesRequired": "NONE", "userInteraction": "NONE", "scope": "UNCHANGED", "confidentialityImpact": "HIGH", "integrityImpact": "HIGH", "availabilityImpact": "HIGH", "baseScore": score, "baseSeverity": "HIGH"}, "exploitabilityScore": 3.9, "impactScore": 5.9}]},
        "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary", "description": [{"lang": "en", "value": f"CWE-{rng.randint(20, 900)}"}]}],
        "configurations": configs,
        "references": [{"url": f"https://example.invalid/advisory/{n}/{i}", "source": "bench@medguard.invalid", "tags": ["Vendor Advisory"]} for i in range(rng.randint(2, 8))],
    }}

files = 0
for start in range(0, total, per_file):
    n = min(per_file, total - start)
    doc = {"format": "NVD_CVE", "version": "2.0", "timestamp": "2026-01-01T00:00:00.000", "totalResults": n,
           "vulnerabilities": [cve(start + i) for i in range(n)]}
    with gzip.open(os.path.join(out, f"nvdcve-2.0-synth{files:03d}.json.gz"), "wt", compresslevel=1) as f:
        json.dump(doc, f, indent=2)
    files += 1
print(f"{total} synthetic CVEs in {files} files under {out}")
