//! A simulated Amazon RDS endpoint for local runs and tests: the Query API
//! calls the pipeline and `rdslogs` use and the REST log download,
//! SigV4-verified, authorized against IAM policies, with faults, and log
//! files that rotate, are rewritten and change incarnation under test control.

mod download;
pub mod faults;
pub mod fleet;
pub mod generate;
pub mod iam;
pub mod policy;
mod query;
pub mod resource_id;
pub mod rotation;
mod server;
pub mod sigv4;
mod snapshots;
mod xml;

pub use download::PATH_PREFIX as DOWNLOAD_PATH_PREFIX;
pub use faults::{ApiRateLimit, Fault, FaultRule, FaultTarget, Faults};
pub use fleet::{Fleet, InstanceMeta, LogFileInfo};
pub use iam::{Iam, Identity};
pub use policy::Policy;
pub use rotation::{Contents, NewLogFile, Rotated};
pub use server::{RunningSim, SimConfig, start};
pub use sigv4::AcceptedCredentials;
