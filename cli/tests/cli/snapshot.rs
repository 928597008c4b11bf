//! `rdslogs snapshot` against the simulated RDS: tagged instance and
//! cluster snapshots, waiting for a future time, refusing a past one.

use integration_tests::{LocalStack, StackOptions};
use rds_sim::InstanceMeta;
use rds_sim::fleet::{FLEET_FILE, FleetFile};

use crate::{assert_exit, json, rdslogs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_tagged_as_ours_and_waited_for() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let made = json(&rdslogs(
        &stack,
        &[
            "snapshot",
            "--instance",
            "pg-orders",
            "--tag",
            "ticket=OPS-7",
            "--wait",
            "--poll-secs",
            "1",
            "--json",
        ],
    ));
    assert_eq!(made["status"], "available", "{made}");
    assert_eq!(made["source"]["kind"], "instance");
    let id = made["id"].as_str().unwrap();
    assert!(id.starts_with("rdslogs-pg-orders-"), "{id}");
    // RDS holds it with both tags, the tool's own first.
    let described = stack
        .clients
        .rds
        .describe_db_snapshots()
        .db_snapshot_identifier(id)
        .send()
        .await
        .unwrap();
    let snapshot = &described.db_snapshots()[0];
    assert_eq!(snapshot.db_instance_identifier(), Some("pg-orders"));
    let tags: Vec<(&str, &str)> = snapshot
        .tag_list()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert!(tags.contains(&("created-by", "rdslogs")), "{tags:?}");
    assert!(tags.contains(&("ticket", "OPS-7")), "{tags:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_time_is_waited_for_and_a_past_one_refused() {
    let stack = LocalStack::start(StackOptions::default()).await;
    // A time in the past is refused and nothing is created.
    let refused = rdslogs(
        &stack,
        &["snapshot", "--instance", "pg-orders", "--at", "1h ago"],
    );
    assert_exit(&refused, 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("in the past"));
    let all = stack
        .clients
        .rds
        .describe_db_snapshots()
        .send()
        .await
        .unwrap();
    assert!(all.db_snapshots().is_empty());
    // A future one is waited for: the snapshot is not older than asked.
    let asked_ms = shipper::now_ms() + 2_000;
    let made = json(&rdslogs(
        &stack,
        &[
            "snapshot",
            "--instance",
            "mysql-billing",
            "--at",
            "in 2s",
            "--id",
            "before-the-migration",
            "--json",
        ],
    ));
    assert_eq!(made["id"], "before-the-migration");
    assert!(made["created_ms"].as_i64().unwrap() >= asked_ms, "{made}");
    // An unknown instance fails without waiting for anything.
    let unknown = rdslogs(&stack, &["snapshot", "--instance", "no-such-db"]);
    assert_exit(&unknown, 1);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("DBInstanceNotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_member_is_snapshotted_as_its_cluster() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let mut aurora = InstanceMeta::new("aurora-1");
    aurora.engine = "aurora-postgresql".into();
    aurora.cluster = Some("orders-cluster".into());
    let fleet = FleetFile {
        instances: vec![aurora],
    };
    std::fs::write(
        stack.fleet.path().join(FLEET_FILE),
        serde_json::to_vec(&fleet).unwrap(),
    )
    .unwrap();
    let made = json(&rdslogs(
        &stack,
        &["snapshot", "--instance", "aurora-1", "--json"],
    ));
    assert_eq!(
        made["source"],
        serde_json::json!({"kind": "cluster", "id": "orders-cluster"})
    );
    let described = stack
        .clients
        .rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(made["id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let snapshot = &described.db_cluster_snapshots()[0];
    assert_eq!(snapshot.db_cluster_identifier(), Some("orders-cluster"));
    assert!(
        snapshot
            .tag_list()
            .iter()
            .any(|t| t.key() == Some("created-by") && t.value() == Some("rdslogs"))
    );
}
