-- Vulnerability intelligence: the CVE knowledge base (NVD), exploitation evidence (KEV, EPSS), vendor
-- advisories (CSAF), FDA recalls, SBOMs and MDS2 answers attached to assets.

-- Which feed was loaded from where and when (incremental updates compare version/sha256).
CREATE TABLE intel_feeds (
    name TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    records INTEGER NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL DEFAULT ''
);

-- One row per CVE; configurations kept as compact NVD-schema JSON, evaluated in Rust.
CREATE TABLE intel_cves (
    id INTEGER PRIMARY KEY,
    cve TEXT NOT NULL UNIQUE,
    published TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    cvss_version TEXT,
    cvss_score REAL,
    cvss_vector TEXT,
    cwes TEXT NOT NULL,
    configurations TEXT NOT NULL
);

-- Lookup index: every (vendor, product) named by a CVE's configurations.
CREATE TABLE intel_cve_products (
    product TEXT NOT NULL,
    vendor TEXT NOT NULL,
    cve_id INTEGER NOT NULL,
    PRIMARY KEY (product, vendor, cve_id)
) WITHOUT ROWID;
CREATE INDEX intel_cve_products_cve ON intel_cve_products(cve_id);

CREATE TABLE intel_kev (
    cve TEXT PRIMARY KEY,
    vendor_project TEXT NOT NULL,
    product TEXT NOT NULL,
    name TEXT NOT NULL,
    date_added TEXT NOT NULL,
    due_date TEXT NOT NULL,
    required_action TEXT NOT NULL,
    ransomware INTEGER NOT NULL,
    description TEXT NOT NULL
);

CREATE TABLE intel_epss (
    cve TEXT PRIMARY KEY,
    score REAL NOT NULL,
    percentile REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE intel_advisories (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL            -- model::Advisory as JSON
);
CREATE TABLE intel_advisory_vendors (
    vendor TEXT NOT NULL,
    advisory_id TEXT NOT NULL REFERENCES intel_advisories(id) ON DELETE CASCADE,
    PRIMARY KEY (vendor, advisory_id)
);

CREATE TABLE intel_recalls (
    id TEXT PRIMARY KEY,
    firm TEXT NOT NULL,
    data TEXT NOT NULL            -- model::Recall as JSON
);
CREATE INDEX intel_recalls_firm ON intel_recalls(firm);

-- SBOMs and MDS2 forms attached to assets by identity (the asset may be scanned later).
CREATE TABLE intel_sboms (
    id INTEGER PRIMARY KEY,
    asset TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    data TEXT NOT NULL            -- model::Sbom as JSON
);
CREATE INDEX intel_sboms_asset ON intel_sboms(asset);

CREATE TABLE intel_mds2 (
    asset TEXT PRIMARY KEY,
    imported_at TEXT NOT NULL,
    data TEXT NOT NULL            -- model::Mds2 as JSON
);

-- The latest matching run, for reports and the risk analysis.
CREATE TABLE intel_matches (
    asset TEXT NOT NULL,
    id TEXT NOT NULL,
    priority REAL NOT NULL,
    data TEXT NOT NULL,           -- model::VulnMatch as JSON
    PRIMARY KEY (asset, id)
);
