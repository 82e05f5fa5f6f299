//! The Sigma engine behind our own [`RuleEngine`] trait.
//!
//! Rules are parsed and evaluated by `rsigma-parser`/`rsigma-eval` (MIT, pinned `=0.23.0`): Sigma v2
//! detection rules with every modifier SigmaHQ uses, and correlation rules (`event_count`,
//! `value_count`, `temporal`, `temporal_ordered`) with group-by and timespan. Its compiled matchers
//! and witness-based candidate index mean each event is evaluated against the few rules that can
//! match it. Our logsource routing (`data/mappings/logsources.yml`) adds `Channel`/`EventID`
//! conditions to every Windows rule, so rules also only fire on the log they were written for.
//!
//! Loading never drops a rule silently: every file, document and rule that does not load is
//! reported in [`LoadReport::issues`] with the reason.

use crate::event::{LogEvent, SOURCE_FIELD, SourceKind};
use rayon::prelude::*;
use rsigma_eval::{
    CompiledRule, CorrelationAction, CorrelationConfig, CorrelationEngine, CorrelationEventMode,
    EvaluationResult, Event, EventValue, JsonEvent, Pipeline, ResultBody,
};
use rsigma_parser::{Detection, Modifier, SigmaRule, SigmaValue};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The routing pipeline shipped in the binary.
pub const BUILTIN_LOGSOURCES: &str = include_str!("../../../data/mappings/logsources.yml");
/// Largest rule file read (bigger files are reported, not read).
pub const MAX_RULE_FILE: u64 = 1024 * 1024;
/// Longest `|re` pattern accepted; longer ones are refused (the regex crate is linear-time in the
/// input, but compile time and memory grow with the pattern).
pub const MAX_REGEX_LEN: usize = 4096;

/// One rule file's text and the name to report it by.
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub name: String,
    pub text: String,
}

/// A rule, document or file that did not load, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadIssue {
    pub file: String,
    /// The rule's title (or id) when the problem is with one rule of the file.
    pub rule: Option<String>,
    pub reason: String,
}

/// What loading a rule set did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub files: usize,
    /// Detection rules loaded.
    pub rules: usize,
    /// Correlation rules loaded.
    pub correlations: usize,
    /// Documents that were not loaded (each also in `issues`).
    pub failed: usize,
    pub issues: Vec<LoadIssue>,
}

impl LoadReport {
    /// Share of documents that loaded, in percent.
    pub fn loaded_percent(&self) -> f64 {
        let ok = (self.rules + self.correlations) as f64;
        let total = ok + self.failed as f64;
        if total == 0.0 {
            100.0
        } else {
            ok * 100.0 / total
        }
    }
}

/// What alerts need to know about a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    pub id: Option<String>,
    pub title: String,
    pub level: Option<String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub falsepositives: Vec<String>,
    /// `medguard_explanation`: plain-language meaning for the practice.
    pub explanation: Option<String>,
    /// `medguard_first_steps`: what to do first.
    pub first_steps: Vec<String>,
    /// `medguard_hipaa`: HIPAA sections this rule supports (overrides the tag mapping).
    pub hipaa: Vec<String>,
    pub file: String,
    pub correlation: bool,
}

/// A rule that matched: a detection, or a correlation that reached its threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The rule id, or its title when it has none.
    pub rule_key: String,
    pub title: String,
    pub level: Option<String>,
    pub tags: Vec<String>,
    pub correlation: Option<CorrelationHit>,
}

/// The state of a correlation when it fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationHit {
    /// `event_count`, `value_count`, `temporal` or `temporal_ordered`.
    pub kind: String,
    /// The group-by field values.
    pub group: Vec<(String, String)>,
    /// The aggregate that crossed the threshold (events, distinct values, rules seen).
    pub value: f64,
    pub timespan_secs: u64,
    /// The last events that counted towards it (at most [`MAX_CORRELATION_EVENTS`], oldest
    /// first), the firing one included.
    #[serde(skip)]
    pub events: Vec<LogEvent>,
}

/// Contributing events kept per correlation window (and so per correlation alert).
pub const MAX_CORRELATION_EVENTS: usize = crate::alerts::MAX_ALERT_EVENTS;

/// Keys under which a stored correlation event keeps its origin, time and host beside its fields.
const TRACE_FIELDS: &str = "fields";
const TRACE_ORIGIN: &str = "origin";
const TRACE_TIME: &str = "timestamp";
const TRACE_HOST: &str = "host";

/// An event as the correlation windows see it: matched and grouped on its fields alone, but stored
/// (for the alert's evidence) with where and when it was read.
struct Traced<'a> {
    json: JsonEvent<'a>,
    event: &'a LogEvent,
}

impl<'a> Traced<'a> {
    fn new(event: &'a LogEvent) -> Self {
        Traced {
            json: JsonEvent::borrow(&event.fields),
            event,
        }
    }
}

impl Event for Traced<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        self.json.get_field(path)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.json.any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.json.all_string_values()
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.json.visit_string_values(visit)
    }

    fn to_json(&self) -> serde_json::Value {
        let e = self.event;
        serde_json::json!({
            TRACE_FIELDS: e.fields,
            TRACE_ORIGIN: e.origin,
            TRACE_TIME: e.timestamp.map(|t| t.to_rfc3339()),
            TRACE_HOST: e.host,
        })
    }

    fn field_keys(&self) -> Vec<Cow<'_, str>> {
        self.json.field_keys()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        self.json.top_level_keys()
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.json.visit_top_level_keys(visit)
    }
}

/// A stored correlation event back as a [`LogEvent`]; `None` if it is not one [`Traced`] wrote.
fn untrace(mut v: serde_json::Value) -> Option<LogEvent> {
    let obj = v.as_object_mut()?;
    let fields = obj.remove(TRACE_FIELDS)?;
    let kind = SourceKind::ALL
        .into_iter()
        .find(|k| fields.get(SOURCE_FIELD).and_then(|s| s.as_str()) == Some(k.as_str()))?;
    let text = |key: &str| obj.get(key).and_then(|s| s.as_str()).map(str::to_string);
    Some(LogEvent {
        timestamp: text(TRACE_TIME).and_then(|t| crate::event::parse_time(&t)),
        host: text(TRACE_HOST),
        origin: text(TRACE_ORIGIN)?,
        kind,
        fields,
    })
}

/// A stateless detection result, opaque to callers; feed it to [`RuleEngine::correlate`].
#[derive(Debug, Clone)]
pub struct Detections(Vec<EvaluationResult>);

impl Detections {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Conditions a logsource mapping adds to a rule: every field must hold one of its values.
#[derive(Debug, Clone, PartialEq)]
struct Route(Vec<(String, Vec<serde_json::Value>)>);

impl Route {
    /// Whether events of `kind` can satisfy the route at all: false when it requires a
    /// `medguard_source` that is not `kind` (a Windows rule for a syslog event, say).
    fn admits(&self, kind: SourceKind) -> bool {
        self.0
            .iter()
            .filter(|(field, _)| field == SOURCE_FIELD)
            .all(|(_, allowed)| {
                allowed.iter().any(|a| {
                    a.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(kind.as_str()))
                })
            })
    }

    fn holds(&self, event: &LogEvent) -> bool {
        self.0.iter().all(|(field, allowed)| {
            event.fields.get(field).is_some_and(|v| {
                allowed.iter().any(|a| match (a, v) {
                    (serde_json::Value::String(x), serde_json::Value::String(y)) => {
                        x.eq_ignore_ascii_case(y)
                    }
                    (serde_json::Value::Number(x), serde_json::Value::Number(y)) => {
                        x.as_f64() == y.as_f64()
                    }
                    (serde_json::Value::Number(x), serde_json::Value::String(y)) => {
                        y.trim().parse::<f64>().ok() == x.as_f64()
                    }
                    _ => false,
                })
            })
        })
    }
}

#[derive(Debug, serde::Deserialize)]
struct MappingDoc {
    #[serde(default)]
    transformations: Vec<MappingItem>,
}

#[derive(Debug, serde::Deserialize)]
struct MappingItem {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    conditions: HashMap<String, serde_json::Value>,
    #[serde(default)]
    rule_conditions: Vec<HashMap<String, String>>,
}

/// The `add_condition` routes of a mapping file, as (logsource constraints, conditions).
type RouteTable = Vec<(
    Vec<HashMap<String, String>>,
    Vec<(String, Vec<serde_json::Value>)>,
)>;

fn route_table(yaml: &str) -> RouteTable {
    let Ok(doc) = serde_saphyr::from_str::<MappingDoc>(yaml) else {
        return Vec::new();
    };
    doc.transformations
        .into_iter()
        .filter(|t| t.kind == "add_condition")
        .map(|t| {
            let mut conds: Vec<(String, Vec<serde_json::Value>)> = t
                .conditions
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::Array(a) => (k, a),
                    other => (k, vec![other]),
                })
                .collect();
            conds.sort_by(|a, b| a.0.cmp(&b.0));
            (t.rule_conditions, conds)
        })
        .collect()
}

fn route_for(table: &RouteTable, ls: &rsigma_parser::LogSource) -> Route {
    let mut out: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    for (constraints, conds) in table {
        let applies = constraints.iter().any(|c| {
            c.get("type").is_some_and(|t| t == "logsource")
                && [
                    ("product", &ls.product),
                    ("category", &ls.category),
                    ("service", &ls.service),
                ]
                .iter()
                .all(|(k, v)| match c.get(*k) {
                    Some(want) => v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want)),
                    None => true,
                })
        });
        if applies {
            out.extend(conds.iter().cloned());
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Route(out)
}

/// A detection engine. `detect` is stateless (call it from many threads); `correlate` keeps the
/// correlation windows and must see events in time order.
pub trait RuleEngine: Send + Sync {
    /// Which detection rules match `event`.
    fn detect(&self, event: &LogEvent) -> Detections;
    /// Update correlation state with `event` and its detections; returns what fired.
    fn correlate(&mut self, event: &LogEvent, detections: Detections) -> Vec<Hit>;
    /// Metadata of a loaded rule by id or title.
    fn rule(&self, key: &str) -> Option<&RuleInfo>;
}

/// The rsigma-backed engine.
pub struct SigmaEngine {
    inner: CorrelationEngine,
    info: HashMap<String, RuleInfo>,
    /// Keys of detection rules that only feed correlations (`generate: false`): not alerts.
    feed_only: HashSet<String>,
    /// Rules not used by any correlation, grouped by their logsource route. Each group's engine
    /// holds the rules without the routing conditions, so its candidate index is built from the
    /// rules' own selections; the route is checked once per group instead of once per rule.
    groups: Vec<(Route, rsigma_eval::Engine)>,
    /// Per source kind (in [`SourceKind::ALL`] order), the groups whose route admits it: an event
    /// never reaches the rules written for another kind of log.
    by_kind: [Vec<usize>; SourceKind::ALL.len()],
}

impl std::fmt::Debug for SigmaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigmaEngine")
            .field("rules", &self.info.len())
            .finish()
    }
}

/// The embedded healthcare rules (`data/rules/*.yml`).
pub fn builtin_rules() -> Vec<RuleSource> {
    crate::builtin::RULES
        .iter()
        .map(|(name, text)| RuleSource {
            name: format!("builtin:{name}"),
            text: (*text).to_string(),
        })
        .collect()
}

/// Every `.yml`/`.yaml` file under `dir` (or `dir` itself when it is a file), sorted. Files that
/// cannot be read are reported as issues.
pub fn rule_sources(dir: &Path, issues: &mut Vec<LoadIssue>) -> Vec<RuleSource> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => match std::fs::read_dir(&p) {
                Ok(rd) => stack.extend(rd.flatten().map(|e| e.path())),
                Err(e) => issues.push(LoadIssue {
                    file: p.display().to_string(),
                    rule: None,
                    reason: format!("cannot list the folder: {e}"),
                }),
            },
            Ok(_) => {
                let is_yaml = p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                });
                if is_yaml || p == dir {
                    files.push(p);
                }
            }
            Err(e) => issues.push(LoadIssue {
                file: p.display().to_string(),
                rule: None,
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let name = f.display().to_string();
        match std::fs::metadata(&f) {
            Ok(m) if m.len() > MAX_RULE_FILE => issues.push(LoadIssue {
                file: name,
                rule: None,
                reason: format!("larger than {MAX_RULE_FILE} bytes; not a rule file"),
            }),
            _ => match std::fs::read(&f) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => out.push(RuleSource { name, text }),
                    Err(_) => issues.push(LoadIssue {
                        file: name,
                        rule: None,
                        reason: "not valid UTF-8".into(),
                    }),
                },
                Err(e) => issues.push(LoadIssue {
                    file: name,
                    rule: None,
                    reason: format!("cannot read: {e}"),
                }),
            },
        }
    }
    out
}

/// Where rules come from.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Folders (or files) of Sigma rules given by the user.
    pub rule_dirs: Vec<PathBuf>,
    /// Also load medguard's healthcare rules.
    pub builtin: bool,
    /// A logsource mapping file to use instead of the built-in one.
    pub mapping: Option<PathBuf>,
}

/// Load the rules `opts` names through the logsource mapping; every problem is in the report.
pub fn load_engine(opts: &EngineOptions) -> Result<(SigmaEngine, LoadReport), crate::DetectError> {
    let (pipeline, mapping_text) = match &opts.mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| crate::DetectError::Mapping {
                name: p.display().to_string(),
                reason: e.to_string(),
            })?;
            (parse_mapping(&p.display().to_string(), &text)?, text)
        }
        None => (
            parse_mapping("logsources.yml", BUILTIN_LOGSOURCES)?,
            BUILTIN_LOGSOURCES.to_string(),
        ),
    };
    let mut issues = Vec::new();
    let mut sources = if opts.builtin {
        builtin_rules()
    } else {
        Vec::new()
    };
    for d in &opts.rule_dirs {
        sources.extend(rule_sources(d, &mut issues));
    }
    let (engine, mut report) = SigmaEngine::load_routed(&sources, vec![pipeline], &mapping_text);
    report.failed += issues.len();
    report.files += issues.len();
    issues.extend(std::mem::take(&mut report.issues));
    report.issues = issues;
    Ok((engine, report))
}

/// Parse a logsource/field mapping pipeline (the format of `data/mappings/logsources.yml`).
pub fn parse_mapping(name: &str, yaml: &str) -> Result<Pipeline, crate::DetectError> {
    rsigma_eval::parse_pipeline(yaml).map_err(|e| crate::DetectError::Mapping {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

fn long_regex(d: &Detection) -> Option<usize> {
    match d {
        Detection::AllOf(items) => items.iter().find_map(|i| {
            if !i.field.modifiers.contains(&Modifier::Re) {
                return None;
            }
            i.values.iter().find_map(|v| match v {
                SigmaValue::String(s) if s.original.len() > MAX_REGEX_LEN => Some(s.original.len()),
                _ => None,
            })
        }),
        Detection::AnyOf(subs) => subs.iter().find_map(long_regex),
        _ => None,
    }
}

/// A rule file's rules and, per rule, why it cannot load (`None`: it compiles through the pipelines).
type Parsed = Result<
    (
        rsigma_parser::SigmaCollection,
        Vec<Result<Option<CompiledRule>, String>>,
    ),
    rsigma_parser::SigmaParserError,
>;

/// Check that `rule` loads. With logsource routes (`routed`), it is compiled as its route group
/// evaluates it (the route is checked per group, not added to the rule) and the compiled rule is
/// kept for the group, so no rule is compiled twice. Without routes, it is checked through
/// `pipelines`, as the correlation engine will compile it.
fn check_rule(
    rule: &SigmaRule,
    pipelines: &[Pipeline],
    routed: bool,
) -> Result<Option<CompiledRule>, String> {
    if let Some(len) = rule.detection.named.values().find_map(long_regex) {
        return Err(format!(
            "a regular expression is {len} characters long (limit {MAX_REGEX_LEN})"
        ));
    }
    let compiled = if routed {
        rsigma_eval::compile_rule(rule).map(Some)
    } else {
        let mut t = rule.clone();
        rsigma_eval::apply_pipelines(pipelines, &mut t)
            .and_then(|()| rsigma_eval::compile_rule(&t))
            .map(|_| None)
    };
    compiled.map_err(|e| e.to_string())
}

fn attr_str(rule: &SigmaRule, key: &str) -> Option<String> {
    rule.custom_attributes
        .get(key)
        .and_then(|v| v.as_str())
        .map(|s| s.trim().to_string())
}

fn attr_list(attrs: &HashMap<String, serde_json::Value>, key: &str) -> Vec<String> {
    match attrs.get(key) {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn yaml_list(rule: &SigmaRule, key: &str) -> Vec<String> {
    let v = rule
        .custom_attributes
        .get(key)
        .and_then(|v| serde_json::to_value(v).ok())
        .map(|v| HashMap::from([(key.to_string(), v)]))
        .unwrap_or_default();
    attr_list(&v, key)
}

fn rule_key(id: &Option<String>, title: &str) -> String {
    id.clone().unwrap_or_else(|| title.to_string())
}

impl SigmaEngine {
    /// Load `sources` through the routing `pipelines`, reporting every problem.
    pub fn load(sources: &[RuleSource], pipelines: Vec<Pipeline>) -> (SigmaEngine, LoadReport) {
        Self::load_routed(sources, pipelines, BUILTIN_LOGSOURCES)
    }

    /// [`SigmaEngine::load`] with the mapping's YAML text, whose `add_condition` routes are also
    /// used to group rules (see [`SigmaEngine::detect`]). `pipelines` must be parsed from it.
    pub fn load_routed(
        sources: &[RuleSource],
        pipelines: Vec<Pipeline>,
        mapping_yaml: &str,
    ) -> (SigmaEngine, LoadReport) {
        let table = if pipelines.is_empty() {
            Vec::new()
        } else {
            route_table(mapping_yaml)
        };
        let config = CorrelationConfig {
            // Detections of rules that only feed a correlation (`generate: false`) are not alerts.
            emit_detections: false,
            // Bound per-group memory: a flood can only under-count, never exhaust memory.
            max_group_entries: Some(50_000),
            action_on_match: CorrelationAction::Reset,
            // Keep the last few events of each window, so a correlation alert shows what added up
            // to it and not only the event that crossed the threshold.
            correlation_event_mode: CorrelationEventMode::Full,
            max_correlation_events: MAX_CORRELATION_EVENTS,
            ..CorrelationConfig::default()
        };
        let mut inner = CorrelationEngine::new(config);
        let mut sorted = pipelines.clone();
        sorted.sort_by_key(|p| p.priority);
        for p in pipelines {
            inner.add_pipeline(p);
        }
        // Rules are checked one by one (so each failure is reported), then added in one batch: the
        // engine's candidate index is built once over all of them, instead of parking rules added
        // one at a time in an evaluate-always fallback.
        // Rules that loaded, compiled for their route group when routed.
        let mut good: Vec<(SigmaRule, Option<CompiledRule>)> = Vec::new();
        let mut report = LoadReport::default();
        let mut info = HashMap::new();
        let mut correlations = Vec::new();
        // Ids and names correlations may refer to.
        let mut known: HashSet<String> = HashSet::new();
        // Rule name or id to the rule's key.
        let mut key_of: HashMap<String, String> = HashMap::new();
        let mut feed_only: HashSet<String> = HashSet::new();
        // Parsing and checking is most of the load time and independent per file: done on all
        // cores, then merged in file order so the report and the engine do not depend on timing.
        let parsed: Vec<Parsed> = sources
            .par_iter()
            .map(|src| {
                rsigma_parser::parse_sigma_yaml(&src.text).map(|c| {
                    let problems = c
                        .rules
                        .iter()
                        .map(|r| check_rule(r, &sorted, !table.is_empty()))
                        .collect();
                    (c, problems)
                })
            })
            .collect();
        for (src, parsed) in sources.iter().zip(parsed) {
            report.files += 1;
            let (collection, problems) = match parsed {
                Ok(c) => c,
                Err(e) => {
                    report.failed += 1;
                    report.issues.push(LoadIssue {
                        file: src.name.clone(),
                        rule: None,
                        reason: format!("not a Sigma rule: {e}"),
                    });
                    continue;
                }
            };
            for e in &collection.errors {
                report.failed += 1;
                report.issues.push(LoadIssue {
                    file: src.name.clone(),
                    rule: None,
                    reason: e.clone(),
                });
            }
            for f in &collection.filters {
                report.failed += 1;
                report.issues.push(LoadIssue {
                    file: src.name.clone(),
                    rule: Some(f.title.clone()),
                    reason: "Sigma filter documents are not supported; use a medguard allow-list (--allow) instead".into(),
                });
            }
            if collection.rules.is_empty()
                && collection.correlations.is_empty()
                && collection.errors.is_empty()
                && collection.filters.is_empty()
            {
                report.failed += 1;
                report.issues.push(LoadIssue {
                    file: src.name.clone(),
                    rule: None,
                    reason: "no Sigma rule in this file".into(),
                });
            }
            for (rule, problem) in collection.rules.into_iter().zip(problems) {
                match problem {
                    Ok(compiled) => {
                        report.rules += 1;
                        known.extend(rule.id.iter().cloned());
                        known.extend(rule.name.iter().cloned());
                        let key = rule_key(&rule.id, &rule.title);
                        for n in rule.id.iter().chain(rule.name.iter()) {
                            key_of.insert(n.clone(), key.clone());
                        }
                        let key = rule_key(&rule.id, &rule.title);
                        info.insert(
                            key,
                            RuleInfo {
                                id: rule.id.clone(),
                                title: rule.title.clone(),
                                level: rule.level.as_ref().map(|l| l.as_str().to_string()),
                                tags: rule.tags.clone(),
                                description: rule.description.clone(),
                                falsepositives: rule.falsepositives.clone(),
                                explanation: attr_str(&rule, "medguard_explanation"),
                                first_steps: yaml_list(&rule, "medguard_first_steps"),
                                hipaa: yaml_list(&rule, "medguard_hipaa"),
                                file: src.name.clone(),
                                correlation: false,
                            },
                        );
                        good.push((rule, compiled));
                    }
                    Err(reason) => {
                        report.failed += 1;
                        report.issues.push(LoadIssue {
                            file: src.name.clone(),
                            rule: Some(rule.id.unwrap_or(rule.title)),
                            reason,
                        });
                    }
                }
            }
            for c in collection.correlations {
                correlations.push((src.name.clone(), c));
            }
        }
        // Rules a correlation refers to stay in the correlation engine (routed by the pipeline);
        // all others go to route groups.
        let referenced: HashSet<&String> = correlations
            .iter()
            .flat_map(|(_, c)| c.rules.iter())
            .collect();
        let mut grouped: Vec<(Route, Vec<CompiledRule>)> = Vec::new();
        let mut for_correlation = rsigma_parser::SigmaCollection::new();
        for (rule, compiled) in good {
            let is_ref = rule.id.as_ref().is_some_and(|i| referenced.contains(i))
                || rule.name.as_ref().is_some_and(|n| referenced.contains(n));
            match compiled {
                Some(compiled) if !is_ref => {
                    let route = route_for(&table, &rule.logsource);
                    match grouped.iter_mut().find(|(r, _)| *r == route) {
                        Some((_, rules)) => rules.push(compiled),
                        None => grouped.push((route, vec![compiled])),
                    }
                }
                _ => for_correlation.rules.push(rule),
            }
        }
        // Each group's engine (candidate index, bloom filters) is built on its own core.
        let groups: Vec<(Route, rsigma_eval::Engine)> = grouped
            .into_par_iter()
            .map(|(route, rules)| {
                let mut e = rsigma_eval::Engine::new();
                // Skip substring matchers whose field cannot hold any of their trigrams: measured
                // 1.5-1.8x the live syslog rate with the SigmaHQ set (`bench/detect-live.sh`).
                e.set_bloom_prefilter(true);
                e.extend_compiled_rules(rules);
                (route, e)
            })
            .collect();
        if let Err(e) = inner.add_collection(&for_correlation) {
            // Every rule compiled on its own above; a batch failure is unexpected. Report it
            // against all of them rather than pretending they loaded.
            report.failed += report.rules;
            report.rules = 0;
            report.issues.push(LoadIssue {
                file: "(all rules)".into(),
                rule: None,
                reason: format!("the rule set failed to load as a whole: {e}"),
            });
            info.clear();
            known.clear();
        }
        for (_, c) in &correlations {
            known.extend(c.id.iter().cloned());
            known.extend(c.name.iter().cloned());
        }
        for (file, c) in correlations {
            let label = c.id.clone().unwrap_or_else(|| c.title.clone());
            let missing: Vec<&String> = c.rules.iter().filter(|r| !known.contains(*r)).collect();
            let loaded_names = missing.is_empty();
            if !c.generate {
                feed_only.extend(c.rules.iter().filter_map(|r| key_of.get(r).cloned()));
            }
            let result = inner.add_correlation(&c);
            match result {
                Ok(()) => {
                    report.correlations += 1;
                    if !loaded_names {
                        report.issues.push(LoadIssue {
                            file: file.clone(),
                            rule: Some(label.clone()),
                            reason: format!(
                                "loaded, but refers to rules that are not loaded: {}; it cannot fire",
                                missing
                                    .iter()
                                    .map(|s| s.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        });
                    }
                    let custom: HashMap<String, serde_json::Value> = c
                        .custom_attributes
                        .iter()
                        .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
                        .collect();
                    info.insert(
                        rule_key(&c.id, &c.title),
                        RuleInfo {
                            id: c.id.clone(),
                            title: c.title.clone(),
                            level: c.level.as_ref().map(|l| l.as_str().to_string()),
                            tags: c.tags.clone(),
                            description: c.description.clone(),
                            falsepositives: c.falsepositives.clone(),
                            explanation: custom
                                .get("medguard_explanation")
                                .and_then(|v| v.as_str())
                                .map(|s| s.trim().to_string()),
                            first_steps: attr_list(&custom, "medguard_first_steps"),
                            hipaa: attr_list(&custom, "medguard_hipaa"),
                            file,
                            correlation: true,
                        },
                    );
                }
                Err(e) => {
                    report.failed += 1;
                    report.issues.push(LoadIssue {
                        file,
                        rule: Some(label),
                        reason: e.to_string(),
                    });
                }
            }
        }
        let by_kind = SourceKind::ALL.map(|kind| {
            (0..groups.len())
                .filter(|&i| groups[i].0.admits(kind))
                .collect()
        });
        (
            SigmaEngine {
                inner,
                info,
                feed_only,
                groups,
                by_kind,
            },
            report,
        )
    }

    /// Number of loaded rules (detection and correlation).
    pub fn len(&self) -> usize {
        self.info.len()
    }

    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// Detection rules evaluated for events of `kind` (routing skips the rest outright).
    pub fn detection_rules_for(&self, kind: SourceKind) -> usize {
        self.inner.detection_rule_count()
            + self.by_kind[kind.index()]
                .iter()
                .map(|&i| self.groups[i].1.rule_count())
                .sum::<usize>()
    }

    /// The detection rules (not correlations) matching `event`, without touching correlation state.
    pub fn detect_hits(&self, event: &LogEvent) -> Vec<Hit> {
        self.evaluate_all(event).into_iter().map(to_hit).collect()
    }

    fn evaluate_all(&self, event: &LogEvent) -> Vec<EvaluationResult> {
        let ev = JsonEvent::borrow(&event.fields);
        let mut out = self.inner.evaluate(&ev);
        for &i in &self.by_kind[event.kind.index()] {
            let (route, engine) = &self.groups[i];
            if route.holds(event) {
                out.extend(engine.evaluate(&ev));
            }
        }
        out
    }
}

fn to_hit(r: EvaluationResult) -> Hit {
    let h = &r.header;
    Hit {
        rule_key: rule_key(&h.rule_id, &h.rule_title),
        title: h.rule_title.clone(),
        level: h.level.as_ref().map(|l| l.as_str().to_string()),
        tags: h.tags.clone(),
        correlation: match r.body {
            ResultBody::Correlation(c) => Some(CorrelationHit {
                kind: c.correlation_type.as_str().to_string(),
                group: c.group_key,
                value: c.aggregated_value,
                timespan_secs: c.timespan_secs,
                events: c
                    .events
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(untrace)
                    .collect(),
            }),
            ResultBody::Detection(_) => None,
        },
    }
}

impl RuleEngine for SigmaEngine {
    fn detect(&self, event: &LogEvent) -> Detections {
        Detections(self.evaluate_all(event))
    }

    fn correlate(&mut self, event: &LogEvent, detections: Detections) -> Vec<Hit> {
        self.inner
            .process_with_detections(&Traced::new(event), detections.0, event.epoch_secs())
            .into_iter()
            .map(to_hit)
            .filter(|h| h.correlation.is_some() || !self.feed_only.contains(&h.rule_key))
            .collect()
    }

    fn rule(&self, key: &str) -> Option<&RuleInfo> {
        self.info.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_come_from_the_mapping() {
        let table = route_table(BUILTIN_LOGSOURCES);
        assert!(table.len() > 50, "{} routes", table.len());
        let ls = rsigma_parser::LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            ..Default::default()
        };
        let r = route_for(&table, &ls);
        let fields: Vec<&str> = r.0.iter().map(|(f, _)| f.as_str()).collect();
        assert!(
            fields.contains(&"EventID") && fields.contains(&"Channel"),
            "{fields:?}"
        );
        let mut m = serde_json::Map::new();
        m.insert("EventID".into(), serde_json::Value::from(4688));
        m.insert("Channel".into(), serde_json::Value::from("security"));
        let ev = LogEvent::new(crate::SourceKind::Windows, m.clone(), "t".into());
        assert!(r.holds(&ev));
        m.insert("EventID".into(), serde_json::Value::from(4689));
        assert!(!r.holds(&LogEvent::new(crate::SourceKind::Windows, m, "t".into())));
    }

    fn keyword_rule(id: &str, logsource: &str) -> RuleSource {
        RuleSource {
            name: format!("{id}.yml"),
            text: format!(
                "title: {id}\nid: {id}\nlogsource:\n{logsource}detection:\n    keywords:\n        \
                 - 'error in libcrypto'\n    condition: keywords\nlevel: medium\n"
            ),
        }
    }

    #[test]
    fn syslog_events_reach_linux_rules_and_skip_windows_rules() {
        let sources = [
            keyword_rule(
                "0b6e4a8c-1111-4d4f-9a57-7d1f4e0a0001",
                "    product: linux\n    service: sshd\n",
            ),
            keyword_rule(
                "0b6e4a8c-2222-4d4f-9a57-7d1f4e0a0002",
                "    product: windows\n    service: security\n",
            ),
            keyword_rule(
                "0b6e4a8c-3333-4d4f-9a57-7d1f4e0a0003",
                "    product: windows\n    category: process_creation\n",
            ),
        ];
        let pipeline = parse_mapping("logsources.yml", BUILTIN_LOGSOURCES).expect("mapping");
        let (engine, report) = SigmaEngine::load(&sources, vec![pipeline]);
        assert_eq!(report.rules, 3, "{:?}", report.issues);
        assert_eq!(engine.detection_rules_for(SourceKind::Syslog), 1);
        assert_eq!(engine.detection_rules_for(SourceKind::Windows), 2);
        let ev = crate::readers::syslog::parse_message(
            "<38>Nov 28 10:00:01 srv sshd[1]: fatal: error in libcrypto",
            "t".into(),
        );
        let keys: Vec<String> = engine
            .detect_hits(&ev)
            .into_iter()
            .map(|h| h.rule_key)
            .collect();
        assert_eq!(keys, ["0b6e4a8c-1111-4d4f-9a57-7d1f4e0a0001"]);
    }
}
