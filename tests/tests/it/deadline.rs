//! Within Lambda's clock: a lister cycle that runs out of time has sent and
//! recorded what it listed, and the next cycle carries on from there.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::Duration;

use integration_tests::{LocalStack, StackOptions, write_log};
use shipper::fleet::InstanceSelection;
use shipper::message::ShipRequest;
use shipper::state::{CycleRecords, FileStates};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_larger_than_one_cycle_is_covered_over_consecutive_cycles() {
    // GIVEN eight instances, listed one at a time, two RDS calls a second
    let mut stack = LocalStack::start(StackOptions {
        generated_fleet: false,
        ..StackOptions::default()
    })
    .await;
    let now = shipper::now_ms();
    let ids: Vec<String> = (0..8).map(|i| format!("pg-{i}")).collect();
    for id in &ids {
        write_log(&stack.source_path(id, "error/a.log"), b"a log line\n", now);
    }
    stack.lister_config.selection = InstanceSelection {
        all: true,
        ..InstanceSelection::default()
    };
    stack.lister_config.rds_rate = NonZeroU32::new(2).unwrap();
    stack.lister_config.rds_burst = NonZeroU32::new(1).unwrap();
    stack.lister_config.concurrency = 1;
    let lister = stack.clients.lister(&stack.lister_config);
    // Instances whose file the state records as enqueued (sent first).
    let sent = async || -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for id in &ids {
            let state = stack.state_table().get(id, "error/a.log").await.unwrap();
            if state.is_some_and(|s| s.enqueued.is_some()) {
                out.insert(id.clone());
            }
        }
        out
    };
    // WHEN a cycle has two seconds
    let budget = Some(Duration::from_secs(2));
    let first = lister.run_cycle_within(now, budget).await;
    // THEN it listed some, sent and recorded them, and says who is left
    let reached: BTreeSet<String> = first.instances.iter().map(|i| i.instance.clone()).collect();
    assert!(!reached.is_empty() && reached.len() < 8, "{first:?}");
    assert_eq!(first.not_reached.len(), 8 - reached.len());
    assert_eq!(sent().await, reached);
    let records = stack.state_table().lister_records().await.unwrap();
    assert_eq!(records.instances.len(), reached.len());
    let fleet = records.fleet.unwrap();
    assert_eq!(fleet.not_reached as usize, 8 - reached.len());
    // AND the next cycles start where it stopped until every instance is sent
    let mut cycles = 1;
    while sent().await.len() < 8 {
        let next = lister.run_cycle_within(now + cycles * 60_000, budget).await;
        assert!(
            next.instances
                .iter()
                .all(|i| !reached.contains(&i.instance))
                || cycles > 1,
            "cycle {cycles} listed an instance again before the others: {next:?}"
        );
        cycles += 1;
        assert!(cycles <= 8, "not covered after {cycles} cycles");
    }
    assert_eq!(sent().await, ids.iter().cloned().collect());
    // AND the messages are on the queue
    let mut queued = BTreeSet::new();
    for body in stack.queue_bodies(stack.queue_url()).await {
        queued.insert(ShipRequest::parse(&body).unwrap().instance);
    }
    assert_eq!(queued.len(), 8);
}
