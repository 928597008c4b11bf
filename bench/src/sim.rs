//! The simulated RDS both benchmarks serve their files from.

use rds_sim::{AcceptedCredentials, RunningSim, SimConfig};

/// Starts the simulator on a free loopback port over `root`, accepting
/// these static credentials.
pub async fn start(
    root: std::path::PathBuf,
    access_key: &str,
    secret_key: &str,
) -> anyhow::Result<RunningSim> {
    Ok(rds_sim::start(SimConfig {
        root,
        credentials: AcceptedCredentials {
            access_key_id: access_key.into(),
            secret_access_key: secret_key.into(),
            session_token: None,
        },
        iam: Default::default(),
        page_size: 100,
        listen: "127.0.0.1:0".parse()?,
    })
    .await?)
}
