//! `rds-sim`: serve a simulated RDS endpoint from a folder, or generate one.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rds_sim::generate::{GenerateOptions, generate};
use rds_sim::{AcceptedCredentials, Iam, Identity, SimConfig};

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
        /// An access key that may do anything (optional with --identity).
        #[arg(long, env = "RDS_SIM_ACCESS_KEY_ID", requires = "secret_access_key")]
        access_key_id: Option<String>,
        #[arg(long, env = "RDS_SIM_SECRET_ACCESS_KEY", hide_env_values = true)]
        secret_access_key: Option<String>,
        /// When set, every request must carry this session token.
        #[arg(long, env = "RDS_SIM_SESSION_TOKEN", hide_env_values = true)]
        session_token: Option<String>,
        /// Another accepted IAM user, NAME:ACCESS_KEY_ID:SECRET[:POLICY_FILE]
        /// (repeatable); with a policy file, each request must be allowed
        /// by that IAM policy document. The secret must not contain ':'.
        #[arg(long = "identity", value_name = "SPEC", value_parser = Identity::from_spec)]
        identities: Vec<Identity>,
        /// The account in ARNs and in denials.
        #[arg(long, default_value = rds_sim::iam::DEFAULT_ACCOUNT)]
        account_id: String,
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
            identities,
            account_id,
            page_size,
        } => {
            anyhow::ensure!(
                root.is_dir(),
                "fleet folder {} does not exist",
                root.display()
            );
            let credentials = match (access_key_id, secret_access_key, identities.first()) {
                (Some(access_key_id), Some(secret_access_key), _) => AcceptedCredentials {
                    access_key_id,
                    secret_access_key,
                    session_token,
                },
                // Identities are looked up first, so this one keeps its policy.
                (None, _, Some(first)) => first.credentials.clone(),
                _ => anyhow::bail!("give --access-key-id and --secret-access-key, or --identity"),
            };
            let sim = rds_sim::start(SimConfig {
                root,
                credentials,
                iam: Iam {
                    account_id,
                    identities,
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
