//! The lister and names RDS reuses: rotations, rewrites and new
//! incarnations (unit tests with in-memory state).
use super::*;
use crate::rds::ListedFile;
use crate::version::{FileVersion, shipped_file as shipped};

const HOUR: i64 = 3_600_000;

fn listed(name: &str, size: u64, lw: i64) -> ListedFile {
    ListedFile {
        name: name.into(),
        version: FileVersion::new(size, lw),
    }
}

fn bounded<'a>(filter: &'a FileFilter, incarnation: Option<&'a str>) -> ListingContext<'a> {
    ListingContext {
        engine: "mariadb",
        since: Some(9 * HOUR),
        filter,
        now_ms: 10 * HOUR,
        in_flight_timeout_ms: HOUR,
        incarnation,
    }
}

#[test]
fn a_rotation_seen_in_a_bounded_listing_asks_for_a_full_one() {
    let filter = FileFilter::default();
    let known = [
        shipped("audit/server_audit.log", 900, 9 * HOUR + 10),
        shipped("audit/server_audit.log.1", 1000, 9 * HOUR + 5),
        shipped("audit/server_audit.log.2", 1000, HOUR),
    ];
    // The live file only grew: nothing renamed.
    let grew = [listed("audit/server_audit.log", 950, 9 * HOUR + 20)];
    assert!(
        diff_listing(&grew, &known, &bounded(&filter, None))
            .renamed
            .is_empty()
    );
    // After a rotation .1 holds other bytes, and .2 (the old .1, with its
    // old time) may be below the bound.
    let rotated = [
        listed("audit/server_audit.log", 20, 9 * HOUR + 30),
        listed("audit/server_audit.log.1", 990, 9 * HOUR + 29),
    ];
    let diff = diff_listing(&rotated, &known, &bounded(&filter, None));
    assert_eq!(
        diff.renamed,
        ["audit/server_audit.log", "audit/server_audit.log.1"]
    );
    // A new member of a chain counts too; a full listing needs no second.
    let new_member = [listed("log/ERROR.3", 5, 9 * HOUR + 1)];
    assert_eq!(
        diff_listing(&new_member, &known, &bounded(&filter, None)).renamed,
        ["log/ERROR.3"]
    );
    let full = ListingContext {
        since: None,
        ..bounded(&filter, None)
    };
    assert!(diff_listing(&rotated, &known, &full).renamed.is_empty());
}

#[test]
fn a_pending_version_replaced_by_one_it_cannot_grow_into_is_lost() {
    let filter = FileFilter::default();
    let mut state = shipped("slow.log", 10, 8 * HOUR);
    state.enqueued = Some((FileVersion::new(500, 9 * HOUR), 9 * HOUR));
    // Rewritten shorter before the worker got to it.
    let diff = diff_listing(
        &[listed("slow.log", 40, 9 * HOUR + 1)],
        std::slice::from_ref(&state),
        &bounded(&filter, None),
    );
    assert_eq!(diff.enqueue.len(), 1);
    assert_eq!(diff.lost.len(), 1);
    assert_eq!(diff.lost[0].1.version, FileVersion::new(500, 9 * HOUR));
    // Grown instead: the pending bytes may be in the new version.
    let diff = diff_listing(
        &[listed("slow.log", 600, 9 * HOUR + 1)],
        &[state],
        &bounded(&filter, None),
    );
    assert!(diff.lost.is_empty());
}

#[test]
fn entries_of_another_incarnation_are_never_compared_with_this_one() {
    let filter = FileFilter::default();
    let mut old = shipped("error/postgres.log", 100, 9 * HOUR + 10);
    old.incarnation = Some("db-OLD".into());
    let mut pending = shipped("error/other.log", 1, 1);
    pending.incarnation = Some("db-OLD".into());
    pending.enqueued = Some((FileVersion::new(7, 9 * HOUR), 9 * HOUR));
    let known = [old, pending];
    // The new incarnation lists the same name, same size, older time.
    let listing = [listed("error/postgres.log", 100, 9 * HOUR + 5)];
    let diff = diff_listing(&listing, &known, &bounded(&filter, Some("db-NEW")));
    assert_eq!(
        diff.enqueue,
        [(
            "error/postgres.log".to_string(),
            FileVersion::new(100, 9 * HOUR + 5)
        )]
    );
    // The old one's unshipped version can no longer be downloaded.
    assert_eq!(diff.lost.len(), 1);
    assert_eq!(diff.lost[0].0, "error/other.log");
    // Within one incarnation the same entry is simply shipped.
    let diff = diff_listing(&listing, &known, &bounded(&filter, Some("db-OLD")));
    assert!(diff.enqueue.is_empty());
    // And a new incarnation is listed in full.
    let previous = InstanceCycle {
        at_ms: 9 * HOUR,
        full_listing_ms: Some(9 * HOUR),
        resource_id: Some("db-OLD".into()),
        ..InstanceCycle::default()
    };
    assert_eq!(
        listing_bound(Some(&previous), &known, Some("db-NEW"), 9 * HOUR + 1, HOUR),
        None
    );
    assert!(listing_bound(Some(&previous), &known, Some("db-OLD"), 9 * HOUR + 1, HOUR).is_some());
}
