//! `rds-sim`: serve a simulated RDS endpoint from a folder, or generate one.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rds_sim::generate::{GenerateOptions, generate};
use rds_sim::{AcceptedCredentials, SimConfig};

#[derive(Parser)]
#[command(
    version,
    about = "A simulated Amazon RDS endpoint for local runs and tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the fleet under ROOT until interrupted.
    Serve {
        #[arg(long)]
        root: PathBuf,
        /// Address to listen on; port 0 picks a free port (printed at start).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// The only access key accepted.
        #[arg(long, env = "RDS_SIM_ACCESS_KEY_ID")]
        access_key_id: String,
        #[arg(long, env = "RDS_SIM_SECRET_ACCESS_KEY", hide_env_values = true)]
        secret_access_key: String,
        /// When set, every request must carry this session token.
        #[arg(long, env = "RDS_SIM_SESSION_TOKEN", hide_env_values = true)]
        session_token: Option<String>,
        /// Largest page of instances or log files per response.
        #[arg(long, default_value_t = 100)]
        page_size: usize,
    },
    /// Write a realistic fleet of log files under OUT.
    Generate {
        #[arg(long)]
        out: PathBuf,
        /// Also write a large PostgreSQL log of this many MiB.
        #[arg(long, default_value_t = 0)]
        large_mib: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            root,
            listen,
            access_key_id,
            secret_access_key,
            session_token,
            page_size,
        } => {
            anyhow::ensure!(
                root.is_dir(),
                "fleet folder {} does not exist",
                root.display()
            );
            let sim = rds_sim::start(SimConfig {
                root,
                credentials: AcceptedCredentials {
                    access_key_id,
                    secret_access_key,
                    session_token,
                },
                page_size,
                listen,
            })
            .await
            .context("cannot start the simulated RDS")?;
            println!("listening on {}", sim.endpoint_url());
            tokio::signal::ctrl_c().await?;
            Ok(())
        }
        Command::Generate { out, large_mib } => {
            let files = generate(
                &out,
                &GenerateOptions {
                    large_file_bytes: large_mib * 1024 * 1024,
                },
            )
            .with_context(|| format!("cannot write the fleet under {}", out.display()))?;
            println!("wrote {} log files under {}", files.len(), out.display());
            Ok(())
        }
    }
}
