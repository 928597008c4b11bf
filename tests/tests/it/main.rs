//! Integration tests on the local stack (moto and the simulated RDS), in one
//! test binary so the AWS SDK is linked once (the log test, tests/secrets.rs,
//! has a process of its own).

// The SDK upload futures nest deeply; their layout needs more than the
// default query depth.
#![recursion_limit = "256"]

mod aws_errors;
mod deadline;
mod faults;
mod fleet;
mod lambda_handlers;
mod layout;
mod lister_failures;
mod object_lock;
mod pipeline;
mod races;
mod rds_sim_api;
mod reuse;
mod state_table;
