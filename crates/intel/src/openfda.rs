//! openFDA device recalls (`https://api.fda.gov/device/recall.json` and its bulk download files):
//! `{meta: {...}, results: [{product_res_number, res_event_number, recalling_firm,
//! product_description, product_code, reason_for_recall, action, recall_status,
//! event_date_initiated, event_date_posted, k_numbers}]}`.

use crate::error::{IntelError, Result};
use medguard_model::Recall;
use serde::Deserialize;

#[derive(Deserialize)]
struct Doc {
    meta: serde_json::Value,
    results: Vec<Raw>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    product_res_number: Option<String>,
    #[serde(default)]
    res_event_number: Option<String>,
    #[serde(default)]
    cfres_id: Option<String>,
    #[serde(default)]
    recalling_firm: String,
    #[serde(default)]
    product_description: String,
    #[serde(default)]
    product_code: String,
    #[serde(default)]
    reason_for_recall: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    recall_status: String,
    #[serde(default)]
    event_date_initiated: Option<String>,
    #[serde(default)]
    event_date_posted: Option<String>,
    #[serde(default)]
    k_numbers: Vec<String>,
}

/// Parse an openFDA device recall response; returns the recalls and `meta.last_updated`.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Recall>, String)> {
    let d: Doc = serde_json::from_slice(bytes).map_err(|source| IntelError::Json {
        what: "openFDA recall",
        source,
    })?;
    let updated = d
        .meta
        .get("last_updated")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let mut out = Vec::with_capacity(d.results.len());
    for r in d.results {
        let id = r
            .product_res_number
            .or(r.res_event_number)
            .or(r.cfres_id)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| IntelError::format("openFDA recall", "a result has no recall number"))?;
        out.push(Recall {
            id,
            firm: r.recalling_firm,
            product_description: r.product_description,
            product_code: r.product_code,
            reason: r.reason_for_recall,
            action: r.action,
            status: r.recall_status,
            date: r
                .event_date_initiated
                .or(r.event_date_posted)
                .unwrap_or_default(),
            k_numbers: r.k_numbers,
        });
    }
    Ok((out, updated))
}
