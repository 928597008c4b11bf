//! The Lambda handlers fed the committed event fixtures, as the runtime
//! would deserialise them.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use integration_tests::{LocalStack, StackOptions};
use lambda_runtime::{Context, LambdaEvent};
use rds_sim::{Fault, FaultRule, FaultTarget};

const NO_MANIFESTS: Option<&shipper::manifest::DailyManifests<shipper::sink::S3Sink>> = None;

const SCHEDULED: &str = include_str!("../../../fixtures/scheduled-event.json");
const SQS_BATCH: &str = include_str!("../../../fixtures/sqs-batch-one-malformed.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_handler_ships_the_good_record_and_reports_the_malformed_one() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let event = LambdaEvent::new(
        serde_json::from_str::<SqsEvent>(SQS_BATCH).unwrap(),
        Context::default(),
    );
    let response = stack
        .clients
        .worker(&stack.worker_config)
        .handle_batch(event.payload)
        .await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["059f36b4-87a3-44ab-83d2-661975830a7d"]);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json["batchItemFailures"][0]["itemIdentifier"],
        "059f36b4-87a3-44ab-83d2-661975830a7d"
    );
    let file = "error/postgresql.log.2026-11-20-13";
    assert_eq!(
        stack.object(&stack.key("pg-orders", file)).await.unwrap(),
        stack.source_bytes("pg-orders", file)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lister_handler_runs_a_cycle_on_the_scheduled_event() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let event = LambdaEvent::new(
        serde_json::from_str::<EventBridgeEvent>(SCHEDULED).unwrap(),
        Context::default(),
    );
    let lister = stack.clients.lister(&stack.lister_config);
    let report = lister
        .handle_scheduled(event.payload, None, NO_MANIFESTS)
        .await
        .unwrap();
    assert_eq!(report.enqueued(), stack.source_files().len());

    // An instance RDS refuses to list makes the cycle an error for the
    // function's error metric, after the others were handled.
    let refused = stack.lister_config.selection.instances[0].clone();
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Action {
            action: "DescribeDBLogFiles".into(),
            instance: Some(refused.clone()),
        },
        fault: Fault::Error {
            status: 403,
            code: "AccessDenied".into(),
            message: "not authorized".into(),
        },
        times: None,
    });
    let event = serde_json::from_str::<EventBridgeEvent>(SCHEDULED).unwrap();
    let err = lister
        .handle_scheduled(event, None, NO_MANIFESTS)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&refused), "{err}");
    assert!(err.to_string().contains("AccessDenied"), "{err}");
}
