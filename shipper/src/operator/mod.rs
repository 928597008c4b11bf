//! What the operator CLI `rdslogs` does beyond running the handlers: the
//! dead-letter queue, fleet status, backfills, snapshots and the deployment
//! checklist, as plain logic.

pub mod backfill;
pub mod dlq;
#[cfg(feature = "doctor")]
pub mod doctor;
pub mod record;
pub mod snapshot;
pub mod status;
