//! The worker Lambda: ships the file versions of each SQS batch and reports
//! the records that failed. Only wiring lives here.

// The SDK upload futures nest deeply; their layout needs more than the
// default query depth.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use shipper::aws::{AwsClients, load_sdk_config};
use shipper::config::RawSettings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = RawSettings::from_env().worker()?;
    let clients = AwsClients::new(&load_sdk_config().await).await?;
    let worker = clients.worker(&config);
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(worker.handle_batch(event.payload).await)
    }))
    .await
}
