//! The lister when instances fail, when a run dies halfway, and when two
//! runs overlap.

use std::collections::HashMap;
use std::time::Duration;

use integration_tests::{LocalStack, StackOptions};
use rds_sim::{Fault, FaultRule, FaultTarget};
use shipper::worker::SyncOutcome;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_errors_does_not_stop_the_others() {
    let stack = LocalStack::start(StackOptions::default()).await;
    // GIVEN one instance that is stopped and one the role may not describe
    let fleet = serde_json::json!({"instances": [
        {"id": "mysql-billing", "engine": "mysql"},
        {"id": "pg-orders"},
        {"id": "pg-stopped", "status": "stopped"}
    ]});
    std::fs::write(stack.fleet.path().join("fleet.json"), fleet.to_string()).unwrap();
    std::fs::create_dir_all(stack.fleet.path().join("pg-stopped")).unwrap();
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Action {
            action: "DescribeDBLogFiles".into(),
            instance: Some("mysql-billing".into()),
        },
        fault: Fault::Error {
            status: 403,
            code: "AccessDenied".into(),
            message: "not authorized to perform rds:DescribeDBLogFiles".into(),
        },
        times: None,
    });
    let instances: Vec<String> = ["mysql-billing", "pg-stopped", "pg-orders"]
        .map(String::from)
        .to_vec();
    let report = stack
        .clients
        .lister(&stack.lister_config)
        .run_cycle(&instances, shipper::now_ms())
        .await;
    // THEN the healthy instance is fully enqueued and each failure says why
    let by_id: HashMap<_, _> = report
        .instances
        .iter()
        .map(|i| (i.instance.as_str(), i))
        .collect();
    assert!(
        by_id["mysql-billing"]
            .error
            .as_deref()
            .unwrap()
            .contains("AccessDenied")
    );
    assert!(
        by_id["pg-stopped"]
            .error
            .as_deref()
            .unwrap()
            .contains("InvalidDBInstanceState")
    );
    assert_eq!(by_id["pg-orders"].enqueued, by_id["pg-orders"].listed);
    assert!(by_id["pg-orders"].listed > 0);
    assert_eq!(report.problems().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_dies_halfway_is_completed_by_the_next_run() {
    let stack = LocalStack::start(StackOptions {
        page_size: 2,
        ..StackOptions::default()
    })
    .await;
    let files = stack.source_files().len();
    // GIVEN a lister run cut off part-way (slow RDS, killed by its timeout)
    stack.sim.faults.set_latency_ms(60);
    let lister = stack.clients.lister(&stack.lister_config);
    let cut = tokio::time::timeout(
        Duration::from_millis(400),
        lister.run_cycle(&stack.lister_config.instances, shipper::now_ms()),
    )
    .await;
    assert!(cut.is_err(), "the first run should have been cut off");
    stack.sim.faults.set_latency_ms(0);
    // WHEN the next run completes and the queue drains
    let report = stack.list_once().await;
    assert!(report.problems().is_empty());
    let results = stack.drain().await;
    // THEN every file is shipped, with at most one batch enqueued twice
    let shipped = results
        .iter()
        .filter(|r| matches!(r.result, Ok(SyncOutcome::Shipped { .. })))
        .count();
    assert_eq!(shipped, files);
    assert!(
        results.len() <= files + shipper::queue::MAX_BATCH,
        "{} deliveries for {files} files",
        results.len()
    );
    assert!(results.iter().all(|r| r.result.is_ok()));
    assert_eq!(stack.list_once().await.enqueued(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_runs_enqueue_each_version_at_most_twice_and_keep_state_sound() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let files = stack.source_files().len();
    let (a, b) = tokio::join!(stack.list_once(), stack.list_once());
    let enqueued = a.enqueued() + b.enqueued();
    assert!(
        enqueued >= files && enqueued <= 2 * files,
        "{enqueued} for {files} files"
    );
    let results = stack.drain().await;
    assert_eq!(results.len(), enqueued);
    let shipped = results
        .iter()
        .filter(|r| matches!(r.result, Ok(SyncOutcome::Shipped { .. })))
        .count();
    assert_eq!(
        shipped, files,
        "each version shipped once; duplicates are skipped"
    );
    assert!(results.iter().all(|r| r.result.is_ok()));
    assert_eq!(stack.list_once().await.enqueued(), 0);
}
