//! The EMF metrics the handlers record, in a test binary of their own: the
//! recorder is process-wide, and here no other test records meanwhile, so
//! every count is exact.

use shipper::error::Error;
use shipper::fleet::Skipped;
use shipper::lister::{CycleReport, InstanceReport};
use shipper::metrics::*;
use shipper::version::{FileVersion, LogFileVersion};
use shipper::worker::{RecordResult, SyncOutcome};

fn result(outcome: shipper::Result<SyncOutcome>) -> RecordResult {
    RecordResult {
        message_id: "m".into(),
        version: Some(LogFileVersion {
            instance: "db-1".into(),
            file: "a.log".into(),
            version: FileVersion::new(10, 1_000),
            region: None,
            incarnation: None,
        }),
        result: outcome,
    }
}

#[test]
fn handlers_emit_emf_documents_with_the_dashboards_names() {
    let collector = install_emf("RdsLogShipperTest").unwrap();
    let report = CycleReport {
        instances: vec![InstanceReport {
            enqueued: 3,
            lost: 1,
            ..InstanceReport::default()
        }],
        skipped: vec![Skipped {
            instance: "db-2".into(),
            region: None,
            reason: "status is stopped".into(),
        }],
        throttled: 2,
        duration_ms: 1_500,
        not_reached: vec!["db-3".into()],
        oldest_listing_age_ms: Some(600_000),
        ..CycleReport::default()
    };
    record_cycle(&report);
    record_batch(
        &[
            result(Ok(SyncOutcome::Shipped {
                key: "k".into(),
                bytes: 10,
                stored_bytes: 10,
                parts: 1,
            })),
            result(Err(Error::MalformedMessage { reason: "x".into() })),
        ],
        61_000,
    );
    let mut out = Vec::new();
    collector.flush(&mut out).unwrap();
    let documents: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let metric = |name: &str, dimension: Option<&str>| {
        documents.iter().find_map(|d| {
            let directive = &d["_aws"]["CloudWatchMetrics"][0];
            let dims = directive["Dimensions"][0].as_array().unwrap();
            let dims_match = match dimension {
                None => dims.is_empty(),
                Some(want) => dims.iter().any(|x| x == want),
            };
            let declared = directive["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["Name"] == name)?;
            (dims_match && directive["Namespace"] == "RdsLogShipperTest")
                .then(|| (d[name].clone(), declared["Unit"].clone()))
        })
    };
    let count = |name, dimension| {
        metric(name, dimension)
            .unwrap_or_else(|| panic!("{name} missing in {documents:?}"))
            .0
            .as_f64()
            .unwrap()
    };
    assert_eq!(count(LOG_FILE_ENQUEUED, None), 3.0);
    assert_eq!(count(LOG_FILE_LOST, None), 1.0);
    assert_eq!(count(RDS_THROTTLED, None), 2.0);
    assert_eq!(count(INSTANCE_SKIPPED, None), 1.0);
    assert_eq!(count(LOG_FILE_SHIPPED, None), 1.0);
    assert_eq!(count(LOG_BYTES_SHIPPED, None), 10.0);
    assert_eq!(count(LOG_FILE_FAILED, None), 1.0);
    assert_eq!(count(LOG_FILE_FAILED, Some(REASON)), 1.0);
    assert_eq!(count(SHIP_LAG_SECONDS, None), 60.0);
    assert_eq!(metric(LOG_BYTES_SHIPPED, None).unwrap().1, "Bytes");
    assert_eq!(metric(LISTER_CYCLE_SECONDS, None).unwrap().1, "Seconds");
    assert_eq!(count(INSTANCES_NOT_REACHED, None), 1.0);
    assert_eq!(count(OLDEST_LISTING_AGE_SECONDS, None), 600.0);
    assert_eq!(count(LISTER_CYCLE_SECONDS, None), 1.5);
    assert_eq!(
        metric(OLDEST_LISTING_AGE_SECONDS, None).unwrap().1,
        "Seconds"
    );
}
