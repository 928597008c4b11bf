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
    let settings = RawSettings::from_env();
    let config = settings.worker()?;
    let metrics = shipper::metrics::install_emf(&settings.metrics_namespace()?)?;
    let clients = AwsClients::new(&load_sdk_config().await).await?;
    let worker = clients.worker(&config);
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = shipper::deadline::time_left(event.context.deadline, shipper::now_ms())
            .map(|left| tokio::time::Instant::now() + left);
        let response = worker.handle_batch_until(event.payload, deadline).await;
        shipper::metrics::flush(metrics);
        Ok::<_, Error>(response)
    }))
    .await
}
