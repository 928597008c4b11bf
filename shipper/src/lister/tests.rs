//! Unit tests of the cycle with in-memory state, queue and catalog.
use super::*;
use crate::error::AwsError;
use crate::fleet::DbInstance;
use crate::layout::{Compression, DEFAULT_TEMPLATE};
use crate::message::ShipRequest;
use crate::queue::MemoryQueue;
use crate::rds::ListedFile;
use crate::state::MemoryStateTable;
use crate::state::{CycleRecords, FileStates};
use crate::version::{FileVersion, ShippedRecord};
use std::sync::Mutex;

const NO_MANIFESTS: Option<&crate::manifest::DailyManifests<crate::sink::S3Sink>> = None;

const HOUR: i64 = 3_600_000;

#[derive(Default)]
struct FakeCatalog {
    files: Mutex<HashMap<String, Vec<ListedFile>>>,
    statuses: Mutex<HashMap<String, String>>,
    /// Every `log_files` call: instance and bound.
    calls: Mutex<Vec<(String, Option<i64>)>>,
    /// How long each listing takes (on tokio's clock).
    delay: Mutex<Duration>,
}

impl FakeCatalog {
    fn set(&self, instance: &str, files: &[(&str, u64, i64)]) {
        let files = files
            .iter()
            .map(|(n, s, t)| ListedFile {
                name: n.to_string(),
                version: FileVersion::new(*s, *t),
            })
            .collect();
        self.files.lock().unwrap().insert(instance.into(), files);
    }
}

impl LogCatalog for FakeCatalog {
    async fn instances(&self) -> Result<Vec<DbInstance>> {
        let statuses = self.statuses.lock().unwrap();
        let mut ids: Vec<String> = self.files.lock().unwrap().keys().cloned().collect();
        ids.extend(statuses.keys().cloned());
        ids.sort();
        ids.dedup();
        Ok(ids
            .into_iter()
            .map(|id| DbInstance {
                status: statuses.get(&id).cloned().unwrap_or("available".into()),
                engine: "postgres".into(),
                id,
                ..DbInstance::default()
            })
            .collect())
    }

    async fn log_files(&self, instance: &str, since: Option<i64>) -> Result<Vec<ListedFile>> {
        self.calls.lock().unwrap().push((instance.into(), since));
        let delay = *self.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        let files = self.files.lock().unwrap().get(instance).cloned();
        let files = files.ok_or_else(|| Error::Listing {
            instance: instance.into(),
            source: AwsError::from_code("AccessDenied", "not allowed"),
        })?;
        Ok(files
            .into_iter()
            .filter(|f| since.is_none_or(|s| f.version.last_written_ms >= s))
            .collect())
    }
}

fn lister_of(instances: &[&str]) -> Lister<FakeCatalog, MemoryStateTable, MemoryQueue> {
    Lister {
        regions: vec![RegionCatalog {
            region: None,
            catalog: FakeCatalog::default(),
        }],
        state: MemoryStateTable::default(),
        queue: MemoryQueue::default(),
        settings: ListerSettings {
            deadline_margin: Duration::from_secs(30),
            selection: InstanceSelection {
                instances: instances.iter().map(|s| s.to_string()).collect(),
                ..InstanceSelection::default()
            },
            file_filter: FileFilter::default(),
            in_flight_timeout: Duration::from_secs(3600),
            concurrency: 4,
            full_listing_every: Duration::from_secs(6 * 3600),
            layout: KeyLayout::new(DEFAULT_TEMPLATE, "rds-logs", Compression::None).unwrap(),
        },
    }
}

fn catalog(l: &Lister<FakeCatalog, MemoryStateTable, MemoryQueue>) -> &FakeCatalog {
    &l.regions[0].catalog
}

fn shipped(size: u64, lw: i64) -> ShippedRecord {
    ShippedRecord {
        version: FileVersion::new(size, lw),
        at_ms: 0,
        key: "k".into(),
        stored_bytes: size,
        crc32c: String::new(),
        raw_crc32c: String::new(),
        listed_size: size,
        incarnation: None,
    }
}

#[tokio::test]
async fn enqueues_new_files_once_and_not_again_while_in_flight() {
    let l = lister_of(&["db-1"]);
    catalog(&l).set("db-1", &[("a.log", 10, 1), ("b.log", 0, 1)]);
    let first = l.run_cycle(1_000).await;
    assert_eq!(first.enqueued(), 2);
    let second = l.run_cycle(2_000).await;
    assert_eq!(second.enqueued(), 0);
    assert_eq!(second.instances[0].in_flight, 2);
    assert_eq!(l.queue.bodies().len(), 2);
}

#[tokio::test]
async fn shipped_files_are_unchanged_and_growth_is_enqueued() {
    let l = lister_of(&["db-1"]);
    catalog(&l).set("db-1", &[("a.log", 10, 1)]);
    l.state
        .record_shipped("db-1", "a.log", &shipped(10, 1))
        .await
        .unwrap();
    assert_eq!(l.run_cycle(5).await.instances[0].unchanged, 1);
    catalog(&l).set("db-1", &[("a.log", 25, 2)]);
    assert_eq!(l.run_cycle(6).await.enqueued(), 1);
    let body = &l.queue.bodies()[0];
    assert_eq!(
        ShipRequest::parse(body).unwrap().version,
        FileVersion::new(25, 2)
    );
}

#[tokio::test]
async fn a_failing_instance_does_not_stop_the_others() {
    let l = lister_of(&["db-1", "db-2"]);
    catalog(&l)
        .statuses
        .lock()
        .unwrap()
        .insert("db-1".into(), "available".into());
    catalog(&l).set("db-2", &[("a.log", 1, 1)]);
    let report = l.run_cycle(1).await;
    assert!(report.instances[0].error.is_some());
    assert_eq!(report.instances[1].enqueued, 1);
    assert_eq!(report.problems().len(), 1);
}

#[tokio::test]
async fn versions_that_cannot_be_enqueued_are_not_marked_in_flight() {
    let l = lister_of(&["db-1"]);
    catalog(&l).set("db-1", &[("a.log", 1, 1)]);
    l.queue.fail_next_entries(100);
    let report = l.run_cycle(1).await;
    assert_eq!(report.instances[0].not_enqueued, 1);
    assert!(l.state.get("db-1", "a.log").await.unwrap().is_none());
}

#[tokio::test]
async fn instances_take_turns_in_the_queue() {
    // GIVEN one instance with many changed files and two with one each
    let l = lister_of(&["big", "small-1", "small-2"]);
    let many: Vec<(String, u64, i64)> = (0..25).map(|i| (format!("f{i:02}.log"), 1, 1)).collect();
    let many: Vec<(&str, u64, i64)> = many.iter().map(|(n, s, t)| (n.as_str(), *s, *t)).collect();
    catalog(&l).set("big", &many);
    catalog(&l).set("small-1", &[("a.log", 1, 1)]);
    catalog(&l).set("small-2", &[("a.log", 1, 1)]);
    l.run_cycle(10).await;
    // THEN the small instances' files are among the first three sent
    let first: Vec<String> = l.queue.bodies()[..3]
        .iter()
        .map(|b| ShipRequest::parse(b).unwrap().instance)
        .collect();
    assert_eq!(first, ["big", "small-1", "small-2"]);
    assert_eq!(l.queue.bodies().len(), 27);
}

#[tokio::test]
async fn later_cycles_list_only_recent_files_until_a_full_listing_is_due() {
    let l = lister_of(&["db-1"]);
    catalog(&l).set("db-1", &[("old.log", 1, HOUR), ("new.log", 1, 10 * HOUR)]);
    for file in ["old.log", "new.log"] {
        let lw = if file == "old.log" { HOUR } else { 10 * HOUR };
        l.state
            .record_shipped("db-1", file, &shipped(1, lw))
            .await
            .unwrap();
    }
    l.run_cycle(10 * HOUR).await;
    l.run_cycle(10 * HOUR + 300_000).await;
    l.run_cycle(17 * HOUR).await;
    let calls = catalog(&l).calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            ("db-1".to_string(), None),
            ("db-1".to_string(), Some(9 * HOUR)),
            ("db-1".to_string(), None),
        ]
    );
}

#[tokio::test]
async fn a_pending_version_rds_deleted_is_recorded_lost() {
    let l = lister_of(&["db-1"]);
    catalog(&l).set("db-1", &[("a.log", 10, HOUR)]);
    assert_eq!(l.run_cycle(HOUR).await.enqueued(), 1);
    // RDS deletes the file before the worker ships it.
    catalog(&l).set("db-1", &[]);
    let report = l.run_cycle(2 * HOUR).await;
    assert_eq!(report.lost(), 1);
    let state = l.state.get("db-1", "a.log").await.unwrap().unwrap();
    assert_eq!(state.lost.unwrap().version, FileVersion::new(10, HOUR));
    // Counted once, not every cycle after.
    assert_eq!(l.run_cycle(3 * HOUR).await.lost(), 0);
}

#[tokio::test]
async fn unavailable_instances_are_skipped_with_their_status_and_recorded() {
    let l = lister_of(&["db-1", "db-2"]);
    catalog(&l).set("db-1", &[("a.log", 1, 1)]);
    catalog(&l)
        .statuses
        .lock()
        .unwrap()
        .insert("db-2".into(), "stopped".into());
    let report = l.run_cycle(5).await;
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].reason, "status is stopped");
    let cycles = l.state.instance_cycles().await.unwrap();
    let db2 = cycles.iter().find(|c| c.instance == "db-2").unwrap();
    assert_eq!(db2.skipped.as_deref(), Some("status is stopped"));
    assert_eq!(l.state.fleet_cycle().await.unwrap().unwrap().skipped, 1);
}

#[tokio::test]
async fn a_file_whose_key_s3_would_refuse_is_reported_and_never_enqueued() {
    // GIVEN a file name that makes the key 1,025 bytes, beside a normal one
    let l = lister_of(&["db-1"]);
    let fixed = "rds-logs/instance=db-1/date=1970-01-01/".len();
    let long = "x".repeat(1025 - fixed);
    catalog(&l).set("db-1", &[(long.as_str(), 10, 1), ("a.log", 10, 1)]);
    // WHEN a cycle runs
    let report = l.run_cycle(1_000).await;
    // THEN only the normal file is enqueued, the other is a named problem
    assert_eq!(report.enqueued(), 1);
    assert_eq!(l.queue.bodies().len(), 1);
    let [problem] = report.problems().try_into().unwrap();
    assert!(
        problem.contains("1025 bytes, over S3's limit of 1024"),
        "{problem}"
    );
    assert!(problem.contains("RDSLOGS_PREFIX"), "{problem}");
    // AND one byte less is fine
    let fits = "y".repeat(1024 - fixed);
    catalog(&l).set("db-1", &[(fits.as_str(), 10, 1)]);
    assert_eq!(l.run_cycle(2_000).await.enqueued(), 1);
}

/// 40 instances of one file each, listed two at a time, a second a listing.
fn slow_fleet() -> Lister<FakeCatalog, MemoryStateTable, MemoryQueue> {
    let ids: Vec<String> = (0..40).map(|i| format!("db-{i:02}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut l = lister_of(&refs);
    l.settings.concurrency = 2;
    for id in &ids {
        catalog(&l).set(id, &[("a.log", 10, 1)]);
    }
    *catalog(&l).delay.lock().unwrap() = Duration::from_secs(1);
    l
}

fn instances_in(bodies: &[String]) -> std::collections::BTreeSet<String> {
    bodies
        .iter()
        .map(|b| ShipRequest::parse(b).unwrap().instance)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_cycle_out_of_time_has_sent_and_recorded_what_it_listed_and_the_next_carries_on() {
    // GIVEN a fleet that takes 20 s to list and cycles of 6 s
    let l = slow_fleet();
    let budget = Some(Duration::from_secs(6));
    // WHEN one cycle runs out of time
    let first = l.run_cycle_within(HOUR, budget).await;
    // THEN what it listed is sent and recorded, the rest reported not reached
    let listed = first.instances.len();
    assert!((10..=14).contains(&listed), "listed {listed}");
    assert_eq!(first.not_reached.len(), 40 - listed);
    assert_eq!(first.not_reached[0], format!("db-{listed:02}"));
    assert_eq!(instances_in(&l.queue.bodies()).len(), listed);
    assert_eq!(l.state.instance_cycles().await.unwrap().len(), listed);
    let fleet = l.state.fleet_cycle().await.unwrap().unwrap();
    assert_eq!(fleet.not_reached, (40 - listed) as u64);
    assert_eq!(
        fleet.resume_after.as_deref(),
        Some(format!("db-{:02}", listed - 1).as_str())
    );
    // WHEN cycles go on THEN each starts where the last stopped, and every
    // instance is covered within a few cycles
    let mut covered: std::collections::BTreeSet<String> =
        first.instances.iter().map(|i| i.instance.clone()).collect();
    let mut next_up = first.not_reached[0].clone();
    let mut cycles = 1;
    while covered.len() < 40 {
        let next = l.run_cycle_within(HOUR + cycles * 300_000, budget).await;
        assert_eq!(next.instances[0].instance, next_up);
        covered.extend(next.instances.iter().map(|i| i.instance.clone()));
        next_up = next.not_reached[0].clone();
        cycles += 1;
    }
    assert!(cycles <= 4, "{cycles} cycles");
    assert_eq!(instances_in(&l.queue.bodies()).len(), 40);
    // AND an instance not reached shows how long ago it was listed
    let again = l.run_cycle_within(HOUR + 10 * 300_000, budget).await;
    assert!(!again.not_reached.is_empty());
    assert!(again.oldest_listing_age_ms.unwrap() > 0);
}

#[tokio::test(start_paused = true)]
async fn without_a_budget_a_cycle_lists_every_instance() {
    let l = slow_fleet();
    let report = l.run_cycle(HOUR).await;
    assert_eq!(report.instances.len(), 40);
    assert!(report.not_reached.is_empty());
    assert_eq!(report.oldest_listing_age_ms, None);
    assert_eq!(
        l.state.fleet_cycle().await.unwrap().unwrap().resume_after,
        None
    );
}

#[tokio::test(start_paused = true)]
async fn the_scheduled_handler_keeps_a_margin_before_the_deadline_but_most_of_a_short_timeout() {
    // 40 instances take 20 s; a 30 s timeout keeps 27 s of it, not 0.
    let l = slow_fleet();
    let event = aws_lambda_events::event::eventbridge::EventBridgeEvent::default();
    let report = l
        .handle_scheduled(event.clone(), Some(Duration::from_secs(30)), NO_MANIFESTS)
        .await
        .unwrap();
    assert_eq!(report.instances.len(), 40);
    // 15 s left less the margin: not every instance.
    let report = l
        .handle_scheduled(event, Some(Duration::from_secs(15)), NO_MANIFESTS)
        .await
        .unwrap();
    assert!(!report.not_reached.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cycle_that_reaches_no_instance_keeps_its_place() {
    let l = slow_fleet();
    let budget = Some(Duration::from_secs(6));
    let first = l.run_cycle_within(HOUR, budget).await;
    let place = l.state.fleet_cycle().await.unwrap().unwrap().resume_after;
    // No time at all: nothing listed, and the next cycle starts where it would have.
    let none = l.run_cycle_within(HOUR + 1, Some(Duration::ZERO)).await;
    assert!(none.instances.is_empty());
    assert_eq!(
        l.state.fleet_cycle().await.unwrap().unwrap().resume_after,
        place
    );
    let next = l.run_cycle_within(HOUR + 2, budget).await;
    assert_eq!(next.instances[0].instance, first.not_reached[0]);
}
