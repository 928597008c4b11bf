//! The DynamoDB state table's records beyond shipping: lost versions, files
//! RDS no longer lists (with their TTL), and the lister's cycle records.

use integration_tests::{LocalStack, StackOptions};
use shipper::state::{CycleRecords, FileStates, FleetCycle, InstanceCycle, StateScan};
use shipper::version::{FileVersion, LogFileVersion, LostRecord};

const RESOURCE_ID: &str = "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_gone_and_cycle_records_round_trip() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let table = stack.state_table();
    let version = LogFileVersion {
        instance: "pg-1".into(),
        file: "error/postgresql.log.2026-11-20-13".into(),
        version: FileVersion::new(10, 1_000),
        region: None,
        incarnation: Some(RESOURCE_ID.into()),
    };
    // GIVEN a file that was enqueued, then lost, then no longer listed
    table.record_enqueued(&version, 5).await.unwrap();
    let lost = LostRecord {
        version: version.version,
        detected_ms: 7,
        incarnation: Some(RESOURCE_ID.into()),
    };
    table
        .record_lost("pg-1", &version.file, &lost)
        .await
        .unwrap();
    table
        .record_gone("pg-1", &version.file, 8_000)
        .await
        .unwrap();
    let cycle = InstanceCycle {
        instance: "pg-1".into(),
        at_ms: 9,
        listed_from_ms: Some(3),
        listed: 4,
        skipped: Some("status is stopped".into()),
        resource_id: Some(RESOURCE_ID.into()),
        ..InstanceCycle::default()
    };
    table.record_instance_cycle(&cycle).await.unwrap();
    let fleet = FleetCycle {
        at_ms: 9,
        duration_ms: 2,
        instances: 1,
        ..FleetCycle::default()
    };
    table.record_fleet_cycle(&fleet).await.unwrap();

    // THEN every record reads back, and the lister's records are not files
    let state = stack.file_state("pg-1", &version.file).await;
    assert_eq!(state.lost, Some(lost));
    assert_eq!(state.gone_ms, Some(8_000));
    assert_eq!(state.incarnation.as_deref(), Some(RESOURCE_ID));
    assert_eq!(state.unshipped(), None, "a lost version is not pending");
    let all = table.all_files().await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(table.instance_cycles().await.unwrap(), vec![cycle]);
    assert_eq!(table.fleet_cycle().await.unwrap(), Some(fleet));

    // AND the entry carries the TTL attribute the table expires it by
    let item = stack
        .clients
        .dynamodb
        .get_item()
        .table_name(&stack.lister_config.state_table)
        .key(
            "instance",
            aws_sdk_dynamodb::types::AttributeValue::S("pg-1".into()),
        )
        .key(
            "file",
            aws_sdk_dynamodb::types::AttributeValue::S(version.file.clone()),
        )
        .send()
        .await
        .unwrap();
    let expires: i64 = item.item().unwrap()["expires_at"]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires, 8 + shipper::state::GONE_ENTRY_TTL_SECS);
    let ttl = stack
        .clients
        .dynamodb
        .describe_time_to_live()
        .table_name(&stack.lister_config.state_table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));

    // AND enqueuing the file again (it came back) clears the expiry
    table.record_enqueued(&version, 10).await.unwrap();
    assert_eq!(stack.file_state("pg-1", &version.file).await.gone_ms, None);
}

/// One rule decides whether a shipped record moves the state forward
/// (`ShippedRecord::is_replaced_by`); the in-memory table applies it, and
/// DynamoDB states it as a condition. Every case goes through both tables
/// and must agree with the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_tables_move_forward_exactly_when_the_rule_says() {
    use shipper::state::{MemoryStateTable, StateUpdate};
    use shipper::version::ShippedRecord;
    let stack = LocalStack::start(StackOptions::default()).await;
    let dynamo = stack.state_table();
    let memory = MemoryStateTable::default();
    let record = |size: u64, lw: i64, key: &str, incarnation: Option<&str>| ShippedRecord {
        version: FileVersion::new(size, lw),
        listed_size: size,
        at_ms: 1,
        key: key.into(),
        stored_bytes: size,
        crc32c: "AAAAAA==".into(),
        raw_crc32c: "AAAAAA==".into(),
        incarnation: incarnation.map(Into::into),
    };
    let (a, b) = (Some("db-A"), Some("db-B"));
    let held = record(10, 100, "k", a);
    let cases = [
        (held.clone(), record(5, 101, "k", a)),     // later
        (held.clone(), record(11, 100, "k", a)),    // more bytes, same time
        (held.clone(), record(4, 100, "k~v", a)),   // other bytes, own key
        (held.clone(), record(10, 100, "k~v", a)),  // same size, other key
        (held.clone(), record(4, 100, "k", a)),     // fewer bytes, same key
        (held.clone(), record(99, 99, "k~v", a)),   // older
        (held.clone(), record(10, 100, "k", a)),    // the same again
        (held.clone(), record(10, 100, "k", None)), // incarnation unknown
        (held.clone(), record(1, 1, "k~v", b)),     // another incarnation
        (record(10, 100, "k", None), record(10, 100, "k", a)),
        (record(10, 100, "k", None), record(9, 99, "k", a)),
        (record(10, 100, "k", None), record(10, 101, "k", None)),
    ];
    let mut forward = 0;
    for (n, (first, next)) in cases.iter().enumerate() {
        let file = format!("error/case-{n}.log");
        let expected = if first.is_replaced_by(next) {
            forward += 1;
            StateUpdate::Advanced
        } else {
            StateUpdate::Superseded
        };
        for (name, table) in [
            ("DynamoDB", &dynamo as &dyn ShippedRecords),
            ("memory", &memory),
        ] {
            assert_eq!(
                table.ship("pg-1", &file, first).await,
                StateUpdate::Advanced
            );
            assert_eq!(
                table.ship("pg-1", &file, next).await,
                expected,
                "{name}, case {n}: {first:?} then {next:?}"
            );
        }
    }
    // The table has cases on both sides of the rule.
    assert_eq!(forward, 6);
}

/// `record_shipped` of either table, object-safe for the loop above.
trait ShippedRecords {
    fn ship<'a>(
        &'a self,
        instance: &'a str,
        file: &'a str,
        record: &'a shipper::version::ShippedRecord,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = shipper::state::StateUpdate> + 'a>>;
}

impl<T: FileStates> ShippedRecords for T {
    fn ship<'a>(
        &'a self,
        instance: &'a str,
        file: &'a str,
        record: &'a shipper::version::ShippedRecord,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = shipper::state::StateUpdate> + 'a>>
    {
        Box::pin(async move {
            self.record_shipped(instance, file, record)
                .await
                .expect("record_shipped")
        })
    }
}

/// A test stack deletes its bucket (objects and unfinished uploads first),
/// table and queues when dropped, so a long-running moto stays small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stack_leaves_nothing_behind_in_moto() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let clients = stack.clients.clone();
    let made = stack.resources();
    clients
        .s3
        .put_object()
        .bucket(&made.bucket)
        .key("k")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    clients
        .s3
        .create_multipart_upload()
        .bucket(&made.bucket)
        .key("open")
        .send()
        .await
        .unwrap();
    drop(stack);
    assert!(
        clients
            .s3
            .head_bucket()
            .bucket(&made.bucket)
            .send()
            .await
            .is_err()
    );
    assert!(
        clients
            .dynamodb
            .describe_table()
            .table_name(&made.table)
            .send()
            .await
            .is_err()
    );
    for queue in &made.queues {
        assert!(
            clients
                .sqs
                .get_queue_attributes()
                .queue_url(queue)
                .send()
                .await
                .is_err(),
            "{queue}"
        );
    }
}
