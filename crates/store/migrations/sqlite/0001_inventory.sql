-- Inventory: scans, assets keyed by stable identity, and what changed between scans.
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    source TEXT NOT NULL,          -- 'scan', 'import:nmap', 'demo'
    targets TEXT NOT NULL,
    profile TEXT NOT NULL,
    hosts_up INTEGER NOT NULL DEFAULT 0,
    hosts_silent INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    ip TEXT,
    mac TEXT,
    hostname TEXT,
    category TEXT NOT NULL,
    vendor TEXT,
    model TEXT,
    firmware TEXT,
    status TEXT NOT NULL,
    worst_severity TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_scan_id INTEGER REFERENCES scans(id),
    data TEXT NOT NULL             -- the full model::Asset as JSON
);
CREATE INDEX assets_ip ON assets(ip);

-- What each scan observed of each asset (history; the assets row holds the latest).
CREATE TABLE observations (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    PRIMARY KEY (scan_id, asset_id)
);

CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX changes_scan ON changes(scan_id);
