//! The lister across a fleet: which instances and files it covers, how it
//! narrows later listings, finds lost versions, survives throttling,
//! re-enqueues lost messages, and reaches other regions.

use std::collections::BTreeSet;

use integration_tests::{LocalStack, StackOptions, write_log};
use rds_sim::ApiRateLimit;
use shipper::fleet::InstanceSelection;
use shipper::lister::CycleReport;
use shipper::message::ShipRequest;
use shipper::state::CycleRecords;
use shipper::worker::SyncOutcome;

const HOUR: i64 = 3_600_000;

/// A stack over an empty fleet folder; the test writes its instances.
async fn empty_stack() -> LocalStack {
    LocalStack::start(StackOptions {
        generated_fleet: false,
        page_size: 2,
        ..StackOptions::default()
    })
    .await
}

fn add_file(stack: &LocalStack, instance: &str, file: &str, mtime_ms: i64) {
    write_log(
        &stack.source_path(instance, file),
        b"a log line\n",
        mtime_ms,
    );
}

fn enqueued_instances(report: &CycleReport) -> BTreeSet<String> {
    report
        .instances
        .iter()
        .filter(|i| i.enqueued > 0)
        .map(|i| i.instance.clone())
        .collect()
}

async fn cycle(stack: &LocalStack, selection: InstanceSelection) -> CycleReport {
    let mut config = stack.lister_config.clone();
    config.selection = selection;
    stack
        .clients
        .lister(&config)
        .run_cycle(shipper::now_ms())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_chosen_by_list_tags_engines_clusters_or_all() {
    let stack = empty_stack().await;
    // GIVEN five instances described over several DescribeDBInstances pages
    let fleet = serde_json::json!({"instances": [
        {"id": "pg-a", "engine": "postgres", "tags": {"env": "prod"}},
        {"id": "my-b", "engine": "mysql", "tags": {"env": "prod", "team": "billing"}},
        {"id": "au-1", "engine": "aurora-postgresql", "cluster": "orders"},
        {"id": "au-2", "engine": "aurora-postgresql", "cluster": "orders"},
        {"id": "pg-stop", "engine": "postgres", "status": "stopped", "tags": {"env": "prod"}}
    ]});
    std::fs::write(stack.fleet.path().join("fleet.json"), fleet.to_string()).unwrap();
    for id in ["pg-a", "my-b", "au-1", "au-2", "pg-stop"] {
        add_file(&stack, id, "error/a.log", shipper::now_ms());
    }
    let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    // WHEN selecting by tag THEN the tagged available ones, the stopped one skipped
    let by_tag = cycle(
        &stack,
        InstanceSelection {
            tags: vec![("env".into(), "prod".into())],
            ..InstanceSelection::default()
        },
    )
    .await;
    assert_eq!(enqueued_instances(&by_tag), set(&["my-b", "pg-a"]));
    assert_eq!(by_tag.skipped.len(), 1);
    assert_eq!(by_tag.skipped[0].reason, "status is stopped");
    assert!(by_tag.problems().is_empty(), "{:?}", by_tag.problems());

    // WHEN selecting a cluster and an engine THEN the cluster's members
    let by_cluster = cycle(
        &stack,
        InstanceSelection {
            clusters: vec!["orders".into()],
            ..InstanceSelection::default()
        },
    )
    .await;
    let engines = InstanceSelection {
        engines: vec!["mysql".into()],
        ..InstanceSelection::default()
    };
    assert_eq!(enqueued_instances(&by_cluster), set(&["au-1", "au-2"]));
    let by_engine = cycle(&stack, engines).await;
    let listed: BTreeSet<String> = by_engine
        .instances
        .iter()
        .map(|i| i.instance.clone())
        .collect();
    assert_eq!(listed, set(&["my-b"]));

    // WHEN a new instance appears THEN "all" picks it up on the next cycle
    add_file(&stack, "pg-new", "error/a.log", shipper::now_ms());
    let all = cycle(
        &stack,
        InstanceSelection {
            all: true,
            ..InstanceSelection::default()
        },
    )
    .await;
    assert_eq!(enqueued_instances(&all), set(&["pg-new"]));
    assert_eq!(all.instances.len(), 5, "every available instance is listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_and_exclude_patterns_choose_the_files() {
    let mut stack = empty_stack().await;
    let now = shipper::now_ms();
    add_file(
        &stack,
        "pg-a",
        "error/postgresql.log.2026-11-20-13.csv",
        now,
    );
    add_file(&stack, "pg-a", "error/postgresql.log.2026-11-20-13", now);
    add_file(&stack, "pg-a", "audit/trail.csv", now);
    stack.lister_config.selection.instances = vec!["pg-a".into()];
    stack.lister_config.file_filter =
        shipper::fleet::FileFilter::new(&["*.csv".into()], &["audit/*".into()]).unwrap();
    let report = stack.list_once().await;
    assert_eq!(report.instances[0].filtered, 2);
    let bodies = stack.queue_bodies(stack.queue_url()).await;
    let files: Vec<String> = bodies
        .iter()
        .map(|b| ShipRequest::parse(b).unwrap().file)
        .collect();
    assert_eq!(files, ["error/postgresql.log.2026-11-20-13.csv"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_cycles_list_recent_files_only_and_a_deleted_pending_file_is_lost() {
    let mut stack = empty_stack().await;
    stack.lister_config.selection.instances = vec!["pg-a".into()];
    let now = shipper::now_ms();
    for hour in 0..5 {
        add_file(
            &stack,
            "pg-a",
            &format!("error/postgresql.log.2026-11-21-0{hour}"),
            now - 48 * HOUR + hour * HOUR,
        );
    }
    // GIVEN a first cycle that ships every file
    let first = stack.list_once().await;
    assert_eq!(
        (first.instances[0].listed, first.instances[0].listed_from_ms),
        (5, None)
    );
    stack.drain().await;
    // WHEN nothing changed THEN the next cycle is bounded, and still reaches
    // back to the versions enqueued since the full listing (a rename keeps a
    // file's old time; docs/idempotency.md)
    let second = stack.list_once().await;
    assert_eq!(second.instances[0].listed, 5, "{second:?}");
    assert!(second.instances[0].listed_from_ms.is_some());
    // AND after the next full listing it asks RDS only for recent files
    let full = stack.list_at(now + 2 * HOUR).await;
    assert_eq!(full.instances[0].listed_from_ms, None);
    let quiet = stack.list_at(now + 2 * HOUR + 60_000).await;
    assert_eq!(quiet.instances[0].listed, 0, "{quiet:?}");
    assert!(quiet.instances[0].listed_from_ms.is_some());
    // WHEN a new file appears, is enqueued, and RDS deletes it before it ships
    let at = now + 2 * HOUR + 120_000;
    add_file(&stack, "pg-a", "error/postgresql.log.2026-11-23-00", at);
    assert_eq!(stack.list_at(at).await.enqueued(), 1);
    std::fs::remove_file(stack.source_path("pg-a", "error/postgresql.log.2026-11-23-00")).unwrap();
    // THEN the next cycle records the version as lost, once
    let after = stack.list_at(at + 60_000).await;
    assert_eq!(after.lost(), 1, "{after:?}");
    let state = stack
        .file_state("pg-a", "error/postgresql.log.2026-11-23-00")
        .await;
    assert_eq!(state.lost.unwrap().version.last_written_ms, at);
    assert_eq!(stack.list_at(at + 120_000).await.lost(), 0);
    // AND the lister's record of the instance says so
    let cycles = stack.state_table().instance_cycles().await.unwrap();
    assert_eq!(cycles[0].lost, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_rds_slows_the_cycle_but_does_not_fail_it() {
    let mut stack = empty_stack().await;
    for i in 0..8 {
        add_file(&stack, &format!("pg-{i}"), "error/a.log", shipper::now_ms());
    }
    stack.lister_config.selection = InstanceSelection {
        all: true,
        ..InstanceSelection::default()
    };
    // GIVEN an RDS that allows 4 calls at once and 4 per second, and a
    // lister configured (too generously) for 50 per second
    stack.sim.faults.set_api_rate_limit(Some(ApiRateLimit {
        per_second: 4,
        burst: 4,
    }));
    stack.lister_config.rds_rate = 50.try_into().unwrap();
    stack.lister_config.rds_burst = 50.try_into().unwrap();
    let report = stack.list_once().await;
    // THEN RDS throttled, the SDK's adaptive retry absorbed it, and every
    // instance was listed and enqueued
    assert!(report.throttled > 0, "{report:?}");
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(report.enqueued(), 8);
    assert!(
        stack
            .sim
            .faults
            .counters()
            .get("Throttled")
            .copied()
            .unwrap_or(0)
            > 0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_whose_message_was_lost_is_enqueued_again_after_the_timeout() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let timeout = stack.lister_config.in_flight_timeout.as_millis() as i64;
    let lister = stack.clients.lister(&stack.lister_config);
    let files = stack.source_files().len();
    // Cycles at chosen times, so the test does not wait for the timeout.
    let t0 = shipper::now_ms();
    assert_eq!(lister.run_cycle(t0).await.enqueued(), files);
    // GIVEN the messages are lost (purged, or redriven nowhere)
    stack
        .clients
        .sqs
        .purge_queue()
        .queue_url(stack.queue_url())
        .send()
        .await
        .unwrap();
    // THEN within the timeout nothing is enqueued twice
    let soon = lister.run_cycle(t0 + timeout - 1).await;
    assert_eq!(soon.enqueued(), 0);
    assert_eq!(
        soon.instances.iter().map(|i| i.in_flight).sum::<usize>(),
        files
    );
    // AND after it every version is enqueued again, once per timeout
    assert_eq!(lister.run_cycle(t0 + timeout).await.enqueued(), files);
    assert_eq!(lister.run_cycle(t0 + timeout + 1).await.enqueued(), 0);
    let results = stack.drain().await;
    assert_eq!(results.len(), files);
    assert!(
        results
            .iter()
            .all(|r| matches!(r.result, Ok(SyncOutcome::Shipped { .. })))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_of_another_region_are_listed_and_downloaded_there() {
    let mut stack = LocalStack::start(StackOptions::default()).await;
    // GIVEN a lister covering us-east-1 while the clients default elsewhere
    stack.lister_config.regions = vec!["us-east-1".into()];
    let files = stack.source_files().len();
    assert_eq!(stack.list_once().await.enqueued(), files);
    let body = stack.queue_bodies(stack.queue_url()).await.remove(0);
    assert_eq!(
        ShipRequest::parse(&body).unwrap().region.as_deref(),
        Some("us-east-1")
    );
    // THEN the worker downloads from that region (signed for it) and ships
    let results = stack.drain().await;
    assert_eq!(results.len(), files);
    assert!(
        results
            .iter()
            .all(|r| matches!(r.result, Ok(SyncOutcome::Shipped { .. })))
    );
    // WHEN two regions hold the same identifiers THEN only the first ships them
    stack.lister_config.regions = vec!["us-east-1".into(), "us-west-2".into()];
    let report = stack.list_once().await;
    assert!(!report.skipped.is_empty());
    assert!(
        report
            .skipped
            .iter()
            .all(|s| s.region.as_deref() == Some("us-west-2") && s.reason.contains("us-east-1"))
    );
}
