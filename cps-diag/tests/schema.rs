//! Reports validate against the committed JSON Schema.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;

fn schema() -> Value {
    serde_json::from_str(include_str!("../schema/report.schema.json")).unwrap()
}

fn assert_valid(doc: &Value) {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn reports_of_every_builtin_profile_validate() {
    for (name, _) in cps_sim::profile::Profile::builtin_names() {
        let r = run_profile(name);
        let doc: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_valid(&doc);
        assert_eq!(doc["schema_version"], 1);
    }
}

#[test]
fn a_redacted_pcsc_report_validates() {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.redact = true;
    let mut pcsc = FakePcsc::with_readers(vec![]);
    let r = run_pcsc(&ws, &o, &mut pcsc);
    assert_valid(&serde_json::from_str(&r.to_json()).unwrap());
}

#[test]
fn the_schema_rejects_a_report_missing_a_field() {
    let r = run_profile("cps3");
    let mut doc: Value = serde_json::from_str(&r.to_json()).unwrap();
    doc["checks"][0].as_object_mut().unwrap().remove("verdict");
    let validator = jsonschema::validator_for(&schema()).unwrap();
    assert!(!validator.is_valid(&doc));
}
