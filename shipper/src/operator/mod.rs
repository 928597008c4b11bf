//! What the operator CLI `rdslogs` does beyond running the handlers: the
//! dead-letter queue, fleet status, backfills and snapshots, as plain logic.

pub mod backfill;
pub mod dlq;
pub mod snapshot;
pub mod status;
