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
    let mut config = stack.lister_config.clone();
    config.selection.instances = ["mysql-billing", "pg-stopped", "pg-orders", "pg-deleted"]
        .map(String::from)
        .to_vec();
    let report = stack
        .clients
        .lister(&config)
        .run_cycle(shipper::now_ms())
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
    assert_eq!(by_id["pg-orders"].enqueued, by_id["pg-orders"].listed);
    assert!(by_id["pg-orders"].listed > 0);
    // AND the stopped and the missing instance are skipped with a reason,
    // not counted as failures of the cycle
    let skipped: HashMap<_, _> = report
        .skipped
        .iter()
        .map(|s| (s.instance.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped["pg-stopped"], "status is stopped");
    assert_eq!(skipped["pg-deleted"], "not found");
    assert!(!by_id.contains_key("pg-stopped"));
    assert_eq!(report.problems().len(), 1, "{:?}", report.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_dies_halfway_is_completed_by_the_next_run() {
    let stack = LocalStack::start(StackOptions {
        page_size: 2,
        ..StackOptions::default()
    })
    .await;
    let files = stack.source_files().len();
    // GIVEN a lister run killed as soon as its first messages are on the
    // queue (its timeout, a crash), before it recorded them all
    let lister = stack.clients.lister(&stack.lister_config);
    let first_sent = async {
        while queued(&stack).await == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let cut = tokio::select! {
        _ = lister.run_cycle(shipper::now_ms()) => false,
        () = first_sent => true,
    };
    assert!(cut, "the first run should have been cut off");
    // What the dead run sent, and what of it it recorded as enqueued.
    let sent = queued(&stack).await;
    let recorded = enqueued_records(&stack).await;
    assert!(recorded <= sent, "{recorded} recorded, {sent} sent");
    // WHEN the next run completes and the queue drains
    let report = stack.list_once().await;
    assert!(report.problems().is_empty());
    // THEN it enqueues exactly what the dead run did not record
    assert_eq!(report.enqueued(), files - recorded);
    let results = stack.drain().await;
    // AND every file ships once; the versions sent but not recorded (the
    // batches in flight when the run died) are the only duplicates
    let shipped = results
        .iter()
        .filter(|r| matches!(r.result, Ok(SyncOutcome::Shipped { .. })))
        .count();
    assert_eq!(shipped, files);
    assert_eq!(results.len(), sent + report.enqueued());
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

/// Messages on the work queue (moto counts exactly), read without receiving.
async fn queued(stack: &LocalStack) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
    let attributes = stack
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(stack.queue_url())
        .attribute_names(ApproximateNumberOfMessages)
        .send()
        .await
        .expect("queue attributes");
    attributes
        .attributes()
        .and_then(|a| a.get(&ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .expect("a message count")
}

/// Files the state table holds as enqueued (in flight).
async fn enqueued_records(stack: &LocalStack) -> usize {
    use shipper::state::StateScan;
    let files = stack.state_table().all_files().await.expect("scan");
    files.iter().filter(|f| f.enqueued.is_some()).count()
}
