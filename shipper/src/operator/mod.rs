//! What the operator CLI `rdslogs` does beyond running the handlers: the
//! dead-letter queue, fleet status, backfills, snapshots, the deployment
//! checklist and the settings a deployed stack gives, as plain logic.

pub mod backfill;
pub mod dlq;
#[cfg(feature = "operator-sdks")]
pub mod doctor;
pub mod record;
pub mod snapshot;
#[cfg(feature = "operator-sdks")]
pub mod stack;
pub mod status;
pub mod verify;
