//! rds-log-shipper's shared library: the domain (file versions, the diff rule,
//! messages, S3 layout), the AWS adapters behind small traits, and the lister
//! and worker handlers that the Lambdas and the `rdslogs` CLI both run.

pub mod aws;
pub mod config;
pub mod deadline;
pub mod enqueue;
pub mod error;
pub mod fleet;
pub mod layout;
pub mod lister;
pub mod manifest;
pub mod message;
pub mod metrics;
#[cfg(test)]
mod mocks;
pub mod operator;
pub mod poller;
pub mod provision;
pub mod queue;
pub mod rds;
pub mod retry;
pub mod sink;
pub mod state;
pub mod version;
pub mod worker;

pub use error::{Error, Result};

/// Milliseconds since the Unix epoch, the unit RDS and the state table use.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
