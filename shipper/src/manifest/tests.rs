//! Which days are due, what a manifest holds, and what a chain's checks
//! find when an object or a manifest is changed, deleted or reordered.

use std::collections::HashMap;

use super::*;
use crate::version::{FileVersion, LostRecord, ShippedRecord};

const DAY: i64 = 86_400_000;
/// 2026-11-20T00:00:00Z.
const D20: i64 = 1_795_132_800_000;

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn held(key: &str, file: &str, bytes: u64, crc: &str, lw: i64) -> HeldObject {
    HeldObject {
        key: key.into(),
        file: file.into(),
        object: ExistingObject {
            bytes,
            crc32c: Some(crc.into()),
            last_written_ms: Some(lw),
            ..ExistingObject::default()
        },
    }
}

fn shipped_file(file: &str, key: &str, bytes: u64, crc: &str, lw: i64) -> FileState {
    FileState {
        instance: "pg".into(),
        file: file.into(),
        shipped: Some(ShippedRecord {
            version: FileVersion::new(bytes, lw),
            listed_size: bytes,
            at_ms: lw + 60_000,
            key: key.into(),
            stored_bytes: bytes,
            crc32c: crc.into(),
            raw_crc32c: crc.into(),
            incarnation: None,
        }),
        keys: vec![key.into()],
        ..FileState::default()
    }
}

#[test]
fn the_date_is_the_utc_day_of_the_last_write() {
    assert_eq!(day_of(D20), date("2026-11-20"));
    assert_eq!(day_of(D20 - 1), date("2026-11-19"));
}

#[test]
fn days_close_an_hour_after_they_end_and_wait_for_unshipped_versions() {
    let objects = [held("p/a", "a", 1, "A", D20 + 10)];
    let files = [shipped_file("a", "p/a", 1, "A", D20 + 10)];
    // The 20th ended, the grace hour not yet.
    assert!(due_days(None, &objects, &files, D20 + DAY + GRACE_MS - 1).is_empty());
    // Three days later: the 20th to the 22nd, starting from the first object.
    let now = D20 + 3 * DAY + GRACE_MS;
    assert_eq!(
        due_days(None, &objects, &files, now),
        [date("2026-11-20"), date("2026-11-21"), date("2026-11-22")]
    );
    // After a head, the days after it.
    assert_eq!(
        due_days(Some(date("2026-11-21")), &objects, &files, now),
        [date("2026-11-22")]
    );
    // A version enqueued for the 21st holds back the 21st and after.
    let mut pending = shipped_file("b", "p/b", 1, "B", D20);
    pending.enqueued = Some((FileVersion::new(5, D20 + DAY + 5), D20 + DAY + 6));
    let waiting = [files[0].clone(), pending];
    assert_eq!(
        due_days(None, &objects, &waiting, now),
        [date("2026-11-20")]
    );
}

#[test]
fn a_manifest_lists_the_days_objects_by_key_and_its_losses() {
    let objects = [
        held("p/z", "z", 3, "Z", D20 + 5),
        held("p/a", "a", 2, "A", D20 + 9),
        held("p/next-day", "n", 1, "N", D20 + DAY),
    ];
    let mut lost = shipped_file("l", "p/l", 1, "L", D20 - DAY);
    lost.lost = Some(LostRecord {
        version: FileVersion::new(7, D20 + 100),
        detected_ms: D20 + 200,
        incarnation: None,
    });
    let files = [
        shipped_file("z", "p/z", 3, "Z", D20 + 5),
        shipped_file("a", "p/a", 2, "A", D20 + 9),
        lost,
    ];
    let previous = ChainLink {
        date: "2026-11-19".into(),
        key: "p/_manifests/pg/2026-11-19.json".into(),
        sha256: "ab".into(),
    };
    let manifest = build(
        "pg",
        date("2026-11-20"),
        Some(previous.clone()),
        &objects,
        &files,
    );
    let keys: Vec<&str> = manifest.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["p/a", "p/z"]);
    assert_eq!(manifest.objects[0].shipped_at_ms, Some(D20 + 9 + 60_000));
    assert_eq!(manifest.objects[0].raw_crc32c.as_deref(), Some("A"));
    assert_eq!(manifest.lost.len(), 1);
    assert_eq!(manifest.lost[0].bytes, 7);
    assert_eq!(manifest.previous, Some(previous));
    // The stored bytes parse back to the same manifest.
    let parsed: Manifest = serde_json::from_slice(&manifest.to_bytes()).unwrap();
    assert_eq!(parsed, manifest);
}

/// A chain of three days over one object each, as stored.
/// Manifests as stored (key, bytes), and S3's answers by key.
type Stored = Vec<(String, Vec<u8>)>;
type Heads = HashMap<String, Option<ExistingObject>>;

fn chain() -> (Stored, Heads) {
    let mut stored = Vec::new();
    let mut objects = HashMap::new();
    let mut previous = None;
    for (i, day) in ["2026-11-20", "2026-11-21", "2026-11-22"]
        .iter()
        .enumerate()
    {
        let lw = D20 + i as i64 * DAY + 1;
        let key = format!("p/f{i}");
        let object = held(&key, "f", 10 + i as u64, &format!("C{i}"), lw);
        let files = [shipped_file("f", &key, 10 + i as u64, &format!("C{i}"), lw)];
        let manifest = build(
            "pg",
            date(day),
            previous.clone(),
            std::slice::from_ref(&object),
            &files,
        );
        let key_m = manifest_key("p", "pg", date(day));
        let bytes = manifest.to_bytes();
        previous = Some(ChainLink {
            date: (*day).into(),
            key: key_m.clone(),
            sha256: sha256_hex(&bytes),
        });
        stored.push((key_m, bytes));
        objects.insert(key, Some(object.object));
    }
    (stored, objects)
}

fn head_of(stored: &[(String, Vec<u8>)]) -> (String, String) {
    let (_, bytes) = stored.last().unwrap();
    ("2026-11-22".into(), sha256_hex(bytes))
}

fn problems(
    stored: &[(String, Vec<u8>)],
    head: &(String, String),
    objects: &HashMap<String, Option<ExistingObject>>,
) -> Vec<String> {
    check_chain("pg", stored, Some((&head.0, &head.1)), objects)
        .1
        .into_iter()
        .map(|p| format!("{}: {}", p.key, p.problem))
        .collect()
}

#[test]
fn an_untouched_chain_checks_clean() {
    let (stored, objects) = chain();
    assert_eq!(
        problems(&stored, &head_of(&stored), &objects),
        Vec::<String>::new()
    );
}

#[test]
fn a_changed_or_deleted_object_is_found() {
    let (stored, mut objects) = chain();
    let head = head_of(&stored);
    objects.get_mut("p/f0").unwrap().as_mut().unwrap().crc32c = Some("OTHER".into());
    objects.insert("p/f1".into(), None);
    let found = problems(&stored, &head, &objects);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("p/f0: S3 holds 10 bytes with CRC32C OTHER"));
    assert!(found[1].starts_with("p/f1: listed in the 2026-11-21 manifest; S3 has no object"));
}

#[test]
fn a_changed_deleted_or_reordered_manifest_breaks_the_chain() {
    let (stored, objects) = chain();
    let head = head_of(&stored);

    // Changed: the next manifest's link no longer matches.
    let mut changed = stored.clone();
    changed[0].1 = String::from_utf8(changed[0].1.clone())
        .unwrap()
        .replace("\"stored_bytes\": 10", "\"stored_bytes\": 11")
        .into_bytes();
    let found = problems(&changed, &head, &objects);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("p/_manifests/pg/2026-11-21.json: links to")),
        "{found:?}"
    );

    // Deleted in the middle: a day is missing.
    let mut gap = stored.clone();
    gap.remove(1);
    let found = problems(&gap, &head, &objects);
    assert!(
        found
            .iter()
            .any(|p| p.contains("the manifests in between are missing")),
        "{found:?}"
    );

    // Deleted at the end: the state table's head is not in S3.
    let found = problems(&stored[..2], &head, &objects);
    assert!(
        found
            .iter()
            .any(|p| p.contains("but the state table recorded 2026-11-22")),
        "{found:?}"
    );

    // Reordered objects inside a manifest: its hash changes.
    let mut reordered = stored.clone();
    let mut m: Manifest = serde_json::from_slice(&reordered[1].1).unwrap();
    m.objects.push(m.objects[0].clone());
    m.objects.swap(0, 1);
    m.objects[0].key = "p/f9".into();
    reordered[1].1 = m.to_bytes();
    let found = problems(&reordered, &head, &objects);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("p/_manifests/pg/2026-11-22.json: links to")),
        "{found:?}"
    );
}
