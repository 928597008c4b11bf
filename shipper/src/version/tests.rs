//! Unit tests of `version`.
use super::*;

const HOUR: i64 = 3_600_000;

fn shipped(size: u64, lw: i64) -> FileState {
    shipped_file("", size, lw)
}

#[test]
fn a_file_never_seen_is_enqueued() {
    assert_eq!(
        decide(FileVersion::new(0, 1), None, 0, HOUR),
        ListingDecision::Enqueue
    );
}

#[test]
fn same_size_and_time_is_unchanged() {
    let state = shipped(10, 100);
    assert_eq!(
        decide(FileVersion::new(10, 100), Some(&state), 0, HOUR),
        ListingDecision::Unchanged
    );
}

#[test]
fn grown_or_rewritten_file_is_enqueued() {
    let state = shipped(10, 100);
    assert_eq!(
        decide(FileVersion::new(11, 100), Some(&state), 0, HOUR),
        ListingDecision::Enqueue
    );
    assert_eq!(
        decide(FileVersion::new(10, 101), Some(&state), 0, HOUR),
        ListingDecision::Enqueue
    );
    // Rotated and rewritten smaller but later: still a newer version.
    assert_eq!(
        decide(FileVersion::new(3, 200), Some(&state), 0, HOUR),
        ListingDecision::Enqueue
    );
}

#[test]
fn a_version_shipped_larger_than_listed_is_not_shipped_again() {
    // The file grew during the download, so S3 holds more than was listed.
    let mut state = shipped(15, 100);
    state.shipped.as_mut().unwrap().listed_size = 10;
    for size in [10, 12, 15] {
        assert_eq!(
            decide(FileVersion::new(size, 100), Some(&state), 0, HOUR),
            ListingDecision::Unchanged
        );
    }
    // Fewer bytes than were listed, at the same time: rewritten in place.
    assert_eq!(
        decide(FileVersion::new(9, 100), Some(&state), 0, HOUR),
        ListingDecision::Enqueue
    );
}

fn record(size: u64, lw: i64, key: &str, incarnation: Option<&str>) -> ShippedRecord {
    let mut r = shipped_file("", size, lw).shipped.unwrap();
    r.key = key.into();
    r.incarnation = incarnation.map(Into::into);
    r
}

#[test]
fn the_state_moves_forward_to_later_longer_or_rewritten_versions_only() {
    let held = record(10, 100, "k", Some("db-A"));
    // Later, or more bytes of the same version: forward.
    assert!(held.is_replaced_by(&record(5, 101, "k", Some("db-A"))));
    assert!(held.is_replaced_by(&record(11, 100, "k", Some("db-A"))));
    // The same time, other bytes under a key of their own: forward.
    assert!(held.is_replaced_by(&record(4, 100, "k~v", Some("db-A"))));
    // A slower worker's older or equal version: never back.
    assert!(!held.is_replaced_by(&record(99, 99, "k~v", Some("db-A"))));
    assert!(!held.is_replaced_by(&record(10, 100, "k", Some("db-A"))));
    assert!(!held.is_replaced_by(&record(10, 100, "k", None)));
    // Another incarnation starts its own history, older times or not.
    assert!(held.is_replaced_by(&record(1, 1, "k~v", Some("db-B"))));
}

#[test]
fn a_version_replaced_before_it_shipped_is_not_pending_and_takes_older_ones_with_it() {
    let mut state = shipped(10, 100);
    state.failure = Some(FailureRecord {
        version: FileVersion::new(20, 200),
        attempts: 1,
        last_error: String::new(),
        reason: String::new(),
        permanent: false,
        first_failed_ms: 0,
        last_failed_ms: 0,
    });
    state.enqueued = Some((FileVersion::new(30, 300), 0));
    state.lost = Some(LostRecord {
        version: FileVersion::new(30, 300),
        detected_ms: 1,
        incarnation: None,
    });
    assert_eq!(state.unshipped(), None);
    // A shorter version listed after the lost one is pending again.
    state.enqueued = Some((FileVersion::new(3, 300), 0));
    assert_eq!(state.unshipped(), Some(FileVersion::new(3, 300)));
}

#[test]
fn an_enqueued_version_is_in_flight_until_the_timeout() {
    let mut state = shipped(10, 100);
    let listed = FileVersion::new(20, 200);
    state.enqueued = Some((listed, 1_000));
    assert_eq!(
        decide(listed, Some(&state), 1_000 + HOUR - 1, HOUR),
        ListingDecision::InFlight
    );
    assert_eq!(
        decide(listed, Some(&state), 1_000 + HOUR, HOUR),
        ListingDecision::Enqueue
    );
    // A different version than the one in flight goes out at once.
    assert_eq!(
        decide(FileVersion::new(30, 300), Some(&state), 1_001, HOUR),
        ListingDecision::Enqueue
    );
}

#[test]
fn unshipped_is_the_newest_pending_version_not_yet_lost() {
    let mut state = shipped(10, 100);
    assert_eq!(state.unshipped(), None);
    state.enqueued = Some((FileVersion::new(20, 200), 0));
    assert_eq!(state.unshipped(), Some(FileVersion::new(20, 200)));
    state.lost = Some(LostRecord {
        version: FileVersion::new(20, 200),
        detected_ms: 1,
        incarnation: None,
    });
    assert_eq!(state.unshipped(), None);
    // An old enqueued version that S3 already holds is not pending.
    let mut state = shipped(30, 300);
    state.enqueued = Some((FileVersion::new(20, 200), 0));
    assert_eq!(state.unshipped(), None);
}

#[test]
fn versions_order_by_time_then_size() {
    assert!(FileVersion::new(1, 2) > FileVersion::new(100, 1));
    assert!(FileVersion::new(2, 1) > FileVersion::new(1, 1));
}
