//! The reconcile rule on hand-made views: one finding per version, each
//! verdict from its view.

use super::*;
use crate::version::{FailureRecord, LostRecord, ShippedRecord};

const HOUR: i64 = 3_600_000;

fn shipped(file: &str, key: &str, size: u64, lw: i64, crc: &str) -> FileState {
    FileState {
        instance: "pg".into(),
        file: file.into(),
        shipped: Some(ShippedRecord {
            version: FileVersion::new(size, lw),
            listed_size: size,
            at_ms: lw + 1,
            key: key.into(),
            stored_bytes: size,
            crc32c: crc.into(),
            raw_crc32c: crc.into(),
            incarnation: None,
        }),
        keys: vec![key.into()],
        ..FileState::default()
    }
}

fn object(bytes: u64, crc: &str) -> Option<ExistingObject> {
    Some(ExistingObject {
        bytes,
        crc32c: Some(crc.into()),
        ..ExistingObject::default()
    })
}

fn verdicts(findings: &[Finding]) -> Vec<(&str, Option<&str>, Verdict)> {
    findings
        .iter()
        .map(|f| (f.file.as_str(), f.key.as_deref(), f.verdict))
        .collect()
}

fn views<'a>(listed: Option<&'a [ListedFile]>, files: &'a [FileState]) -> InstanceViews<'a> {
    InstanceViews {
        instance: "pg",
        listed,
        files,
    }
}

#[test]
fn a_shipped_object_is_intact_missing_or_mismatched_by_s3s_checksum() {
    let files = [
        shipped("a.log", "p/a.log", 10, HOUR, "AAAA"),
        shipped("b.log", "p/b.log", 10, HOUR, "BBBB"),
        shipped("c.log", "p/c.log", 10, HOUR, "CCCC"),
        shipped("d.log", "p/d.log", 10, HOUR, "DDDD"),
    ];
    let objects = Objects::from([
        ("p/a.log".to_owned(), object(10, "AAAA")),
        ("p/b.log".to_owned(), None),
        // Other bytes of the same length, or the same checksum at another length.
        ("p/c.log".to_owned(), object(10, "XXXX")),
        ("p/d.log".to_owned(), object(11, "DDDD")),
    ]);
    let found = reconcile(&views(None, &files), &objects, &HashMap::new(), None);
    assert_eq!(
        verdicts(&found),
        [
            ("a.log", Some("p/a.log"), Verdict::Intact),
            ("b.log", Some("p/b.log"), Verdict::Missing),
            ("c.log", Some("p/c.log"), Verdict::Mismatch),
            ("d.log", Some("p/d.log"), Verdict::Mismatch),
        ]
    );
    assert_eq!(
        found[2].detail,
        "S3 holds 10 bytes with CRC32C XXXX; the state recorded 10 bytes with CCCC"
    );
}

#[test]
fn earlier_contents_of_a_reused_name_are_present_or_missing() {
    let mut file = shipped("audit.log", "p/audit.log~2-5", 5, 2 * HOUR, "NEW");
    file.keys = vec![
        "p/audit.log".into(),
        "p/audit.log~1-9".into(),
        "p/audit.log~2-5".into(),
    ];
    let objects = Objects::from([
        ("p/audit.log".to_owned(), object(7, "OLD")),
        ("p/audit.log~1-9".to_owned(), None),
        ("p/audit.log~2-5".to_owned(), object(5, "NEW")),
    ]);
    let found = reconcile(&views(None, &[file]), &objects, &HashMap::new(), None);
    let mut got = verdicts(&found);
    got.sort_by_key(|(_, key, _)| *key);
    assert_eq!(
        got,
        [
            ("audit.log", Some("p/audit.log"), Verdict::Present),
            ("audit.log", Some("p/audit.log~1-9"), Verdict::Missing),
            ("audit.log", Some("p/audit.log~2-5"), Verdict::Intact),
        ]
    );
}

#[test]
fn unshipped_versions_are_lost_failed_or_pending() {
    let version = |size, lw| FileVersion::new(size, lw);
    let lost = FileState {
        instance: "pg".into(),
        file: "lost.log".into(),
        lost: Some(LostRecord {
            version: version(3, HOUR),
            detected_ms: 2 * HOUR,
            incarnation: None,
        }),
        ..FileState::default()
    };
    let failed = FileState {
        instance: "pg".into(),
        file: "failed.log".into(),
        enqueued: Some((version(4, HOUR), HOUR)),
        failure: Some(FailureRecord {
            version: version(4, HOUR),
            attempts: 3,
            last_error: "AccessDenied".into(),
            reason: "download".into(),
            permanent: true,
            first_failed_ms: HOUR,
            last_failed_ms: HOUR,
        }),
        ..FileState::default()
    };
    let enqueued = FileState {
        instance: "pg".into(),
        file: "queued.log".into(),
        enqueued: Some((version(5, HOUR), HOUR)),
        ..FileState::default()
    };
    // Shipped, then grown since: RDS lists more than S3 holds.
    let grown = shipped("grown.log", "p/grown.log", 6, HOUR, "GGGG");
    let listed = [
        ListedFile {
            name: "grown.log".into(),
            version: version(9, 2 * HOUR),
        },
        ListedFile {
            name: "new.log".into(),
            version: version(1, 2 * HOUR),
        },
    ];
    let files = [lost, failed, enqueued, grown];
    let objects = Objects::from([("p/grown.log".to_owned(), object(6, "GGGG"))]);
    let found = reconcile(
        &views(Some(&listed), &files),
        &objects,
        &HashMap::new(),
        None,
    );
    assert_eq!(
        verdicts(&found),
        [
            ("failed.log", None, Verdict::Failed),
            ("grown.log", Some("p/grown.log"), Verdict::Intact),
            ("grown.log", None, Verdict::Pending),
            ("lost.log", None, Verdict::Lost),
            ("new.log", None, Verdict::Pending),
            ("queued.log", None, Verdict::Pending),
        ]
    );
    assert_eq!(found[0].detail, "3 failed attempt(s): AccessDenied");
    assert_eq!(found[4].detail, "listed by RDS, not seen by the lister yet");

    // A window keeps the versions last written inside it.
    let window = Window::new(2 * HOUR, 3 * HOUR).unwrap();
    let found = reconcile(
        &views(Some(&listed), &files),
        &objects,
        &HashMap::new(),
        Some(window),
    );
    assert_eq!(
        verdicts(&found),
        [
            ("grown.log", None, Verdict::Pending),
            ("new.log", None, Verdict::Pending)
        ]
    );
}

#[test]
fn a_deep_read_checks_the_stored_and_the_log_bytes() {
    let mut gz = shipped("a.log.gz", "p/a.log.gz", 100, HOUR, "STORED");
    if let Some(s) = gz.shipped.as_mut() {
        s.stored_bytes = 40;
        s.raw_crc32c = "RAW".into();
    }
    let objects = Objects::from([("p/a.log.gz".to_owned(), object(40, "STORED"))]);
    let read = |raw_crc: &str| ReadBack {
        stored_bytes: 40,
        stored_crc32c: "STORED".into(),
        raw_bytes: 100,
        raw_crc32c: raw_crc.into(),
    };
    let files = [gz];
    let check = |raw_crc: &str| {
        let reads = HashMap::from([("p/a.log.gz".to_owned(), read(raw_crc))]);
        reconcile(&views(None, &files), &objects, &reads, None)[0].clone()
    };
    assert_eq!(check("RAW").verdict, Verdict::Intact);
    let damaged = check("OTHER");
    assert_eq!(damaged.verdict, Verdict::Mismatch);
    assert_eq!(
        damaged.detail,
        "decompressed to 100 bytes with CRC32C OTHER; the log file shipped 100 bytes with RAW"
    );
}
