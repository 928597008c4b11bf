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
fn versions_enqueued_since_the_last_full_listing_stay_inside_the_bound() {
    // GIVEN a quiet log written at 2h, listed in full and enqueued at 10h,
    // whose message ran after RDS renamed it to ERROR.1 (keeping 2h): the
    // worker shipped the new ERROR in its place, so nothing is pending.
    let mut error = shipped("log/ERROR", 3000, 2 * HOUR);
    error.shipped.as_mut().unwrap().listed_size = 1000;
    error.enqueued = Some((FileVersion::new(1000, 2 * HOUR), 10 * HOUR));
    let previous = InstanceCycle {
        at_ms: 10 * HOUR,
        full_listing_ms: Some(10 * HOUR),
        ..InstanceCycle::default()
    };
    // THEN the next bounded listings still reach back to 2h, where ERROR.1 is
    let known = std::slice::from_ref(&error);
    let at = |now| listing_bound(Some(&previous), known, None, now, 6 * HOUR);
    assert_eq!(at(10 * HOUR + 600_000), Some(2 * HOUR));
    // AND once a full listing has seen every name, the bound moves on
    let later = InstanceCycle {
        at_ms: 16 * HOUR,
        full_listing_ms: Some(16 * HOUR),
        ..previous.clone()
    };
    assert_eq!(
        listing_bound(Some(&later), known, None, 16 * HOUR + 1, 6 * HOUR),
        Some(15 * HOUR)
    );
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
