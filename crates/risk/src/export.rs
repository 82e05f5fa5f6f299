//! Machine-readable exports of a snapshot: OSCAL assessment results (NIST OSCAL 1.1) where the
//! model fits (controls as findings with objective status, evidence as observations, register
//! scenarios as risks with likelihood and impact facets).

use medguard_model::risk::{AssessmentSnapshot, ControlState, EvidenceSource};
use serde_json::{Value, json};

/// The OSCAL version the export follows.
pub const OSCAL_VERSION: &str = "1.1.2";

/// A deterministic RFC 9562 version-8 UUID from a name, so the same snapshot always exports the
/// same document.
pub fn uuid_for(name: &str) -> String {
    fn fnv(seed: u64, s: &str) -> u64 {
        let mut h = seed;
        for b in s.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
    let a = fnv(0xcbf2_9ce4_8422_2325, name);
    let b = fnv(0x8422_2325_cbf2_9ce4, &format!("{name}#medguard"));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn method(source: EvidenceSource) -> &'static str {
    match source {
        EvidenceSource::Attestation => "INTERVIEW",
        EvidenceSource::Inventory | EvidenceSource::Intel | EvidenceSource::Phi => "TEST",
        EvidenceSource::Alerts => "EXAMINE",
    }
}

/// The snapshot as an OSCAL `assessment-results` document.
pub fn oscal(s: &AssessmentSnapshot) -> Value {
    let base = format!(
        "medguard/assessment/{}/{}",
        s.id,
        s.assessed_at.to_rfc3339()
    );
    let tool = uuid_for("medguard/tool");
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    for c in &s.controls {
        let mut related = Vec::new();
        for (i, e) in c.evidence.iter().enumerate() {
            let id = uuid_for(&format!("{base}/obs/{}/{i}", c.id));
            related.push(json!({ "observation-uuid": id }));
            observations.push(json!({
                "uuid": id,
                "title": format!("{}: {}", c.id, e.rule),
                "description": e.summary,
                "methods": [method(e.source)],
                "types": [if e.source == EvidenceSource::Attestation { "control-objective" } else { "finding" }],
                "collected": e.observed_at.to_rfc3339(),
                "expires": e.valid_until.to_rfc3339(),
                "props": [
                    { "name": "medguard-source", "ns": "https://medguard.invalid/ns/oscal", "value": e.source.as_str() },
                    { "name": "medguard-confidence", "ns": "https://medguard.invalid/ns/oscal", "value": format!("{:.2}", e.confidence) },
                ],
            }));
        }
        let state = match c.state {
            ControlState::Implemented | ControlState::Alternative => "satisfied",
            _ => "not-satisfied",
        };
        let mut finding = json!({
            "uuid": uuid_for(&format!("{base}/finding/{}", c.id)),
            "title": c.title,
            "description": c.plain,
            "target": {
                "type": "objective-id",
                "target-id": c.id,
                "status": { "state": state, "reason": c.state.as_str() },
            },
            "props": c.mappings.iter().flat_map(|(fw, ids)| ids.iter().map(move |id| json!({
                "name": "mapping", "ns": "https://medguard.invalid/ns/oscal", "class": fw, "value": id,
            }))).collect::<Vec<_>>(),
        });
        if !related.is_empty()
            && let Some(obj) = finding.as_object_mut()
        {
            obj.insert("related-observations".into(), Value::Array(related));
        }
        findings.push(finding);
    }
    let risks: Vec<Value> = s
        .register
        .iter()
        .map(|r| {
            json!({
                "uuid": uuid_for(&format!("{base}/risk/{}", r.id)),
                "title": format!("{}: {}", r.group_title, r.threat_title),
                "description": r.rationale,
                "statement": format!("Residual risk {} (inherent {}).", r.residual_risk.plain(), r.inherent_risk.plain()),
                "status": "open",
                "characterizations": [{
                    "origin": { "actors": [{ "type": "tool", "actor-uuid": tool }] },
                    "facets": [
                        { "name": "likelihood", "system": "https://csrc.nist.gov/ns/oscal", "value": r.residual_likelihood.as_str() },
                        { "name": "impact", "system": "https://csrc.nist.gov/ns/oscal", "value": r.impact.as_str() },
                        { "name": "risk", "system": "https://csrc.nist.gov/ns/oscal", "value": r.residual_risk.as_str() },
                    ],
                }],
            })
        })
        .collect();
    json!({
        "assessment-results": {
            "uuid": uuid_for(&base),
            "metadata": {
                "title": format!("HIPAA Security Rule risk analysis: {}", s.practice),
                "last-modified": s.assessed_at.to_rfc3339(),
                "version": s.catalog_version,
                "oscal-version": OSCAL_VERSION,
                "parties": [{ "uuid": tool, "type": "organization", "name": "medguard" }],
            },
            "import-ap": { "href": "#medguard-assessment-plan" },
            "results": [{
                "uuid": uuid_for(&format!("{base}/result")),
                "title": "medguard assessment",
                "description": s.data_collection.join(" "),
                "start": s.assessed_at.to_rfc3339(),
                "reviewed-controls": { "control-selections": [{ "include-all": {} }] },
                "observations": observations,
                "findings": findings,
                "risks": risks,
            }],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_and_well_formed() {
        let a = uuid_for("x");
        assert_eq!(a, uuid_for("x"));
        assert_ne!(a, uuid_for("y"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
