//! The lister Lambda: on each EventBridge schedule, one cycle that enqueues
//! every new or changed log file version. Only wiring lives here.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use shipper::aws::{AwsClients, load_sdk_config};
use shipper::config::RawSettings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let settings = RawSettings::from_env();
    let config = settings.lister()?;
    let metrics = shipper::metrics::install_emf(&settings.metrics_namespace()?)?;
    let clients = AwsClients::new(&load_sdk_config().await).await?;
    let lister = clients.lister(&config);
    let manifests = clients.manifests(&config);
    let (lister, manifests) = (&lister, manifests.as_ref());
    run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent>| async move {
            let remaining = shipper::deadline::time_left(event.context.deadline, shipper::now_ms());
            let result = lister
                .handle_scheduled(event.payload, remaining, manifests)
                .await;
            shipper::metrics::flush(metrics);
            result.map_err(Error::from)
        },
    ))
    .await
}
