//! What one listing of an instance means, as plain data: the lower bound to
//! ask RDS for, which versions to enqueue, which unshipped versions RDS
//! deleted (lost), which files it no longer lists, and which are near the
//! end of RDS's retention.

use std::collections::HashSet;

use crate::fleet::{FileFilter, near_retention};
use crate::rds::ListedFile;
use crate::state::InstanceCycle;
use crate::version::{
    FileState, FileVersion, ListingDecision, LostRecord, decide, same_incarnation,
};

/// How far before the previous listing a bounded listing starts, so clock
/// differences between RDS and the lister never hide a write.
pub const BOUND_MARGIN_MS: i64 = 3_600_000;

/// The `FileLastWritten` lower bound for this cycle, or `None` for a full
/// listing. The bound reaches back to the previous listing (less a margin),
/// to every version still waiting to ship, so a missing file in the answer
/// is a file RDS deleted, not one the bound hid, and to every version
/// enqueued since the last full listing (less the margin). That last reach
/// is for renames: a rotation renames a file with its old last-written
/// time, and a message that waited across it downloads the new file under
/// the old name, which the worker cannot tell from growth. The renamed
/// file then still falls inside the bound until a full listing sees it.
/// A new incarnation (another `DbiResourceId`) is always listed in full.
pub fn listing_bound(
    previous: Option<&InstanceCycle>,
    known: &[FileState],
    incarnation: Option<&str>,
    now_ms: i64,
    full_listing_every_ms: i64,
) -> Option<i64> {
    let previous = previous.filter(|p| {
        p.error.is_none()
            && p.skipped.is_none()
            && same_incarnation(p.resource_id.as_deref(), incarnation)
    })?;
    let last_full = previous.full_listing_ms?;
    if now_ms - last_full >= full_listing_every_ms {
        return None;
    }
    let since_full = last_full - BOUND_MARGIN_MS;
    let ours = || {
        known
            .iter()
            .filter(|s| !s.is_other_incarnation(incarnation))
    };
    let pending = ours().filter_map(FileState::unshipped);
    let enqueued = ours()
        .filter_map(|s| s.enqueued)
        .filter(|(_, at)| *at >= since_full)
        .map(|(v, _)| v);
    let bound = pending
        .chain(enqueued)
        .map(|v| v.last_written_ms)
        .fold(previous.at_ms - BOUND_MARGIN_MS, i64::min);
    Some(bound.max(0))
}

/// The verdict on one listing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListingDiff {
    pub enqueue: Vec<(String, FileVersion)>,
    pub unchanged: usize,
    pub in_flight: usize,
    /// Listed files left out by RDSLOGS_INCLUDE / RDSLOGS_EXCLUDE.
    pub filtered: usize,
    /// Unshipped versions RDS no longer has.
    pub lost: Vec<(String, LostRecord)>,
    /// Known files RDS no longer lists (only decided on a full listing).
    pub gone: Vec<String>,
    /// Unshipped files that have used most of their engine's retention.
    pub near_retention: Vec<String>,
}

/// Compares a listing with the state table's files of the instance.
/// `since` is the bound the listing used (`None`: every file was listed).
pub struct ListingContext<'a> {
    pub engine: &'a str,
    pub since: Option<i64>,
    pub filter: &'a FileFilter,
    pub now_ms: i64,
    pub in_flight_timeout_ms: i64,
    /// The instance's `DbiResourceId` now; entries of another incarnation
    /// are never compared with its files.
    pub incarnation: Option<&'a str>,
}

/// `state`'s version `version`, found lost at `now_ms`.
fn lost_at(state: &FileState, version: FileVersion, now_ms: i64) -> LostRecord {
    LostRecord {
        version,
        detected_ms: now_ms,
        incarnation: state.incarnation.clone(),
    }
}

pub fn diff_listing(
    listed: &[ListedFile],
    known: &[FileState],
    cx: &ListingContext<'_>,
) -> ListingDiff {
    let mut diff = ListingDiff::default();
    // An entry of another incarnation says nothing about this one's files;
    // its unshipped version can no longer be downloaded.
    let all = known;
    let (known, foreign): (Vec<&FileState>, Vec<&FileState>) = all
        .iter()
        .partition(|s| !s.is_other_incarnation(cx.incarnation));
    for state in &foreign {
        if let Some(pending) = state.unshipped() {
            diff.lost
                .push((state.file.clone(), lost_at(state, pending, cx.now_ms)));
        }
    }
    let by_name: std::collections::HashMap<&str, &FileState> =
        known.iter().map(|s| (s.file.as_str(), *s)).collect();
    for file in listed {
        if !cx.filter.accepts(&file.name) {
            diff.filtered += 1;
            continue;
        }
        let state = by_name.get(file.name.as_str()).copied();
        match decide(file.version, state, cx.now_ms, cx.in_flight_timeout_ms) {
            ListingDecision::Unchanged => {
                diff.unchanged += 1;
                continue;
            }
            ListingDecision::InFlight => diff.in_flight += 1,
            ListingDecision::Enqueue => {
                // A pending version this one cannot have grown from was
                // replaced before it shipped: its bytes are gone.
                if let Some(state) = state
                    && let Some(pending) = state.unshipped()
                    && !pending.may_grow_into(file.version)
                {
                    diff.lost
                        .push((file.name.clone(), lost_at(state, pending, cx.now_ms)));
                }
                diff.enqueue.push((file.name.clone(), file.version));
            }
        }
        if near_retention(cx.engine, file.version.last_written_ms, cx.now_ms) {
            diff.near_retention.push(file.name.clone());
        }
    }
    let listed_names: HashSet<&str> = listed.iter().map(|f| f.name.as_str()).collect();
    for state in &known {
        if listed_names.contains(state.file.as_str()) || !cx.filter.accepts(&state.file) {
            continue;
        }
        if let Some(pending) = state.unshipped()
            && cx
                .since
                .is_none_or(|since| pending.last_written_ms >= since)
        {
            diff.lost
                .push((state.file.clone(), lost_at(state, pending, cx.now_ms)));
        }
    }
    for state in all {
        let listed = listed_names.contains(state.file.as_str());
        if cx.since.is_none()
            && state.gone_ms.is_none()
            && !listed
            && cx.filter.accepts(&state.file)
        {
            diff.gone.push(state.file.clone());
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn listed(name: &str, size: u64, lw: i64) -> ListedFile {
        ListedFile {
            name: name.into(),
            version: FileVersion::new(size, lw),
        }
    }

    use crate::version::shipped_file as shipped;

    fn enqueued(name: &str, size: u64, lw: i64) -> FileState {
        FileState {
            file: name.into(),
            // Enqueued half an hour after it was written.
            enqueued: Some((FileVersion::new(size, lw), lw + HOUR / 2)),
            ..FileState::default()
        }
    }

    fn cycle(at_ms: i64, full: i64) -> InstanceCycle {
        InstanceCycle {
            at_ms,
            full_listing_ms: Some(full),
            ..InstanceCycle::default()
        }
    }

    fn cx<'a>(since: Option<i64>, filter: &'a FileFilter, now_ms: i64) -> ListingContext<'a> {
        ListingContext {
            engine: "postgres",
            since,
            filter,
            now_ms,
            in_flight_timeout_ms: HOUR,
            incarnation: None,
        }
    }

    #[test]
    fn first_listing_and_due_full_listings_have_no_bound() {
        assert_eq!(listing_bound(None, &[], None, 10 * HOUR, HOUR), None);
        // The last full listing is an hour old: list everything again.
        assert_eq!(
            listing_bound(Some(&cycle(9 * HOUR, 9 * HOUR)), &[], None, 10 * HOUR, HOUR),
            None
        );
        // A failed previous cycle proves nothing.
        let mut failed = cycle(9 * HOUR, 9 * HOUR);
        failed.error = Some("boom".into());
        assert_eq!(
            listing_bound(Some(&failed), &[], None, 9 * HOUR + 1, HOUR),
            None
        );
    }

    #[test]
    fn the_bound_reaches_back_to_the_last_listing_and_every_pending_version() {
        let previous = cycle(10 * HOUR, 10 * HOUR);
        let now = 10 * HOUR + 300_000;
        assert_eq!(
            listing_bound(Some(&previous), &[shipped("a", 1, 1)], None, now, 2 * HOUR),
            Some(9 * HOUR)
        );
        let pending = [shipped("a", 1, 1), enqueued("b", 5, 2 * HOUR)];
        assert_eq!(
            listing_bound(Some(&previous), &pending, None, now, 2 * HOUR),
            Some(2 * HOUR)
        );
    }

    #[test]
    fn a_pending_version_missing_from_the_listing_is_lost() {
        let known = [
            enqueued("gone.log", 10, 5 * HOUR),
            shipped("old.log", 3, HOUR),
        ];
        let filter = FileFilter::default();
        // Bounded listing at 4h: old.log is not listed because of the bound,
        // gone.log is missing although the bound covers it.
        let diff = diff_listing(&[], &known, &cx(Some(4 * HOUR), &filter, 6 * HOUR));
        assert_eq!(diff.lost.len(), 1);
        assert_eq!(diff.lost[0].0, "gone.log");
        assert_eq!(diff.lost[0].1.version, FileVersion::new(10, 5 * HOUR));
        assert!(
            diff.gone.is_empty(),
            "only a full listing decides a file is gone"
        );
        // A full listing also marks both as no longer listed.
        let diff = diff_listing(&[], &known, &cx(None, &filter, 6 * HOUR));
        assert_eq!(diff.gone, ["gone.log", "old.log"]);
    }

    #[test]
    fn listed_files_are_diffed_filtered_and_checked_against_retention() {
        let known = [
            shipped("error/a.log", 10, HOUR),
            enqueued("error/b.log", 5, 2 * HOUR),
        ];
        let listing = [
            listed("error/a.log", 10, HOUR),
            listed("error/b.log", 5, 2 * HOUR),
            listed("error/c.log", 7, 3 * HOUR),
            listed("audit/x.log", 7, 3 * HOUR),
        ];
        let filter = FileFilter::new(&[], &["audit/*".into()]).unwrap();
        let diff = diff_listing(&listing, &known, &cx(None, &filter, 3 * HOUR));
        assert_eq!(diff.unchanged, 1);
        assert_eq!(diff.in_flight, 1);
        assert_eq!(diff.filtered, 1);
        assert_eq!(
            diff.enqueue,
            [("error/c.log".to_string(), FileVersion::new(7, 3 * HOUR))]
        );
        assert!(diff.near_retention.is_empty());
        // 60 hours later (PostgreSQL keeps 72) the unshipped ones are at risk.
        let diff = diff_listing(&listing, &known, &cx(None, &filter, 62 * HOUR));
        assert_eq!(diff.near_retention, ["error/b.log", "error/c.log"]);
    }
}
