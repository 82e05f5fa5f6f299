//! Property tests: every reader survives arbitrary bytes, and alerts round-trip through JSON.

use medguard_detect::readers::audit::{self, AuditMap};
use medguard_detect::readers::{evtx, json, syslog, xml};
use medguard_model::{Alert, AlertEvent, Severity};
use proptest::prelude::*;
use std::path::Path;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn syslog_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&data);
        let e = syslog::parse_message(&text, "p".into());
        prop_assert!(e.get_str("message").is_some());
        let mut n = 0u64;
        let r = syslog::read_lines(&data[..], Path::new("p"), "p", &mut |_| n += 1).expect("in-memory read");
        prop_assert_eq!(r.events, n);
    }

    #[test]
    fn json_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut n = 0u64;
        let r = json::read(&data[..], Path::new("p"), "p", &mut |_| n += 1).expect("in-memory read");
        prop_assert_eq!(r.events, n);
    }

    #[test]
    fn json_lines_round_trip(values in proptest::collection::vec("[a-z]{1,8}", 1..20)) {
        let text: String = values.iter().map(|v| format!("{{\"k\":\"{v}\"}}\n")).collect();
        let mut got = Vec::new();
        json::read(text.as_bytes(), Path::new("p"), "p", &mut |e| got.push(e.get_str("k"))).expect("read");
        let want: Vec<Option<String>> = values.into_iter().map(Some).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn xml_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut n = 0u64;
        let r = xml::read(&data[..], Path::new("p"), "p", &mut |_| n += 1).expect("in-memory read");
        prop_assert_eq!(r.events, n);
    }

    #[test]
    fn audit_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let maps = AuditMap::builtins().expect("maps");
        let mut input = b"User,Patient ID,Action,Timestamp,Workstation\n".to_vec();
        input.extend_from_slice(&data);
        let _ = audit::read(&input[..], Path::new("p"), "p", &maps[0], &mut |_| {});
    }

    #[test]
    fn evtx_never_panics(data in proptest::collection::vec(any::<u8>(), 0..8192)) {
        let mut buf = b"ElfFile\0".to_vec();
        buf.extend_from_slice(&data);
        let _ = evtx::read_bytes(buf, Path::new("p"), &mut |_| {});
    }

    #[test]
    fn alert_json_round_trip(title in ".{0,40}", count in 1u64..1000, host in proptest::option::of("[A-Z0-9-]{1,15}")) {
        let a = Alert {
            rule_id: "r".into(),
            title,
            level: Severity::High,
            tags: vec!["attack.t1110".into()],
            attack: vec!["T1110".into()],
            hipaa: vec!["164.312(d)".into()],
            explanation: "e".into(),
            first_steps: vec![],
            host,
            timestamp: chrono::DateTime::from_timestamp(1_700_000_000, 0),
            last_seen: None,
            count,
            correlation: Some("event_count TargetUserName=x reached 10 within 600 s".into()),
            events: vec![AlertEvent { timestamp: None, origin: "o".into(), summary: "s".into() }],
        };
        let back: Alert = serde_json::from_str(&serde_json::to_string(&a).expect("ser")).expect("de");
        prop_assert_eq!(back, a);
    }
}
