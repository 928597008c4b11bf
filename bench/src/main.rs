//! `ship-bench`: ships single large files from the simulated RDS to an
//! S3-compatible server in a separate worker process and prints wall time,
//! throughput and the worker's peak RSS, next to a plain download of the same
//! file over loopback as the physical reference.
//!
//! The S3 side is s3s-fs (an S3 server on the local file system, run in this
//! process) because moto accepts large uploads too slowly to measure anything
//! but moto. Run it with `scripts/bench.sh` (release mode).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use shipper::aws::AwsClients;
use shipper::rds::{LogSource, RestLogSource};
use shipper::sink::S3Sink;
use shipper::state::MemoryStateTable;
use shipper::version::{FileVersion, LogFileVersion};
use shipper::worker::{SyncOutcome, Worker};

const ACCESS_KEY: &str = "AKIDBENCH";
const SECRET_KEY: &str = "bench-secret";
const REGION: &str = "us-east-1";
const BUCKET: &str = "bench-logs";
const INSTANCE: &str = "bench-db";
const MIB: u64 = 1024 * 1024;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Option<Role>,
    /// File sizes to ship, in MiB.
    #[arg(long, value_delimiter = ',', default_values_t = [100u64, 1024, 2048])]
    sizes_mib: Vec<u64>,
    /// Where the generated files and the S3 server's data go.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// Multipart part size of the worker.
    #[arg(long, default_value_t = 8)]
    part_size_mib: u64,
    /// Parts uploading at once.
    #[arg(long, default_value_t = 2)]
    parts_in_flight: usize,
}

/// What a child process does; the parent never calls these itself, so the
/// child's peak RSS is the worker's alone.
#[derive(Subcommand)]
enum Role {
    Ship(ChildArgs),
    Download(ChildArgs),
}

#[derive(clap::Args)]
struct ChildArgs {
    #[arg(long)]
    rds: String,
    #[arg(long)]
    s3: String,
    #[arg(long)]
    file: String,
    #[arg(long)]
    size: u64,
    #[arg(long)]
    part_size_mib: u64,
    #[arg(long)]
    parts_in_flight: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Measured {
    bytes: u64,
    secs: f64,
    peak_rss_kib: u64,
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "bench"),
        ))
        .build()
}

/// VmHWM: the peak resident set size of this process, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

async fn child(role: Role) -> anyhow::Result<()> {
    let (ship, args) = match role {
        Role::Ship(a) => (true, a),
        Role::Download(a) => (false, a),
    };
    let clients = AwsClients::with_rds_config(&sdk_config(&args.s3), &sdk_config(&args.rds)).await?;
    let started = Instant::now();
    let bytes = if ship {
        let worker = Worker {
            source: clients.log_source.clone(),
            sink: S3Sink::new(
                clients.s3.clone(),
                BUCKET,
                (args.part_size_mib * MIB) as usize,
                args.parts_in_flight,
                Duration::from_secs(900),
            ),
            state: MemoryStateTable::default(),
            prefix: "bench".into(),
        };
        let version = LogFileVersion {
            instance: INSTANCE.into(),
            file: args.file.clone(),
            version: FileVersion::new(args.size, 1),
        };
        match worker.ship(&version).await? {
            SyncOutcome::Shipped { bytes, .. } => bytes,
            other => bail!("not shipped: {other:?}"),
        }
    } else {
        plain_download(&clients.log_source, &args.file).await?
    };
    let measured = Measured {
        bytes,
        secs: started.elapsed().as_secs_f64(),
        peak_rss_kib: peak_rss_kib(),
    };
    println!("{}", serde_json::to_string(&measured)?);
    Ok(())
}

/// The same signed request the worker makes, bytes counted and dropped.
async fn plain_download(source: &RestLogSource, file: &str) -> anyhow::Result<u64> {
    let mut stream = source.open(INSTANCE, file).await?;
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        total += chunk?.len() as u64;
    }
    Ok(total)
}

async fn start_s3(root: &Path) -> anyhow::Result<SocketAddr> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    std::fs::create_dir_all(root.join(BUCKET))?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| anyhow::anyhow!("s3s-fs: {e:?}"))?;
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let http = Builder::new(TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    Ok(addr)
}

fn run_child(role: &str, cli: &Cli, rds: &str, s3: &str, file: &str, size: u64) -> anyhow::Result<Measured> {
    let out = Command::new(std::env::current_exe()?)
        .args([role, "--rds", rds, "--s3", s3, "--file", file])
        .args(["--size", &size.to_string()])
        .args(["--part-size-mib", &cli.part_size_mib.to_string()])
        .args(["--parts-in-flight", &cli.parts_in_flight.to_string()])
        .output()
        .context("cannot run the child process")?;
    if !out.status.success() {
        bail!("{role} of {file} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout).context("child output")?)
}

fn mib_per_s(m: &Measured) -> f64 {
    m.bytes as f64 / MIB as f64 / m.secs
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(role) = cli.command {
        return child(role).await;
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build measures unoptimised hashing; run scripts/bench.sh");
    }
    let fleet = cli.dir.join("fleet");
    let mut files = Vec::new();
    for &mib in &cli.sizes_mib {
        let name = format!("error/postgresql.log.bench-{mib}mib");
        let path = fleet.join(INSTANCE).join(&name);
        if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(mib * MIB) {
            eprintln!("generating {} ({mib} MiB)", path.display());
            rds_sim::generate::write_large_log(&path, mib * MIB)?;
        }
        files.push((name, mib * MIB));
    }
    let sim = rds_sim::start(rds_sim::SimConfig {
        root: fleet,
        credentials: rds_sim::AcceptedCredentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            session_token: None,
        },
        page_size: 100,
        listen: "127.0.0.1:0".parse()?,
    })
    .await?;
    let s3 = format!("http://{}", start_s3(&cli.dir.join("s3")).await?);
    let rds = sim.endpoint_url();
    println!("S3 side: s3s-fs 0.14.1 on the local file system; RDS side: rds-sim; worker: separate process");
    println!(
        "part size {} MiB, {} parts in flight\n",
        cli.part_size_mib, cli.parts_in_flight
    );
    println!(
        "{:>9} {:>9} {:>9} {:>13} {:>14} {:>12} {:>9}",
        "size MiB", "ship s", "MiB/s", "peak RSS MiB", "plain dl s", "plain MiB/s", "ratio"
    );
    let mut rows = Vec::new();
    for (name, size) in &files {
        let plain = run_child("download", &cli, &rds, &s3, name, *size)?;
        let shipped = run_child("ship", &cli, &rds, &s3, name, *size)?;
        if shipped.bytes != *size || plain.bytes != *size {
            bail!("byte counts differ from the file size for {name}");
        }
        let stored = cli.dir.join("s3").join(BUCKET).join("bench").join(INSTANCE).join(name);
        let stored_len = std::fs::metadata(&stored).map(|m| m.len()).unwrap_or(0);
        if stored_len != *size {
            bail!("S3 holds {stored_len} bytes of {name}, expected {size}");
        }
        println!(
            "{:>9} {:>9.2} {:>9.1} {:>13.1} {:>14.2} {:>12.1} {:>9.2}",
            size / MIB,
            shipped.secs,
            mib_per_s(&shipped),
            shipped.peak_rss_kib as f64 / 1024.0,
            plain.secs,
            mib_per_s(&plain),
            mib_per_s(&shipped) / mib_per_s(&plain)
        );
        rows.push((*size, shipped, plain));
        std::fs::remove_file(&stored).ok();
    }
    let smallest = rows.iter().min_by_key(|r| r.0).map(|r| r.1.peak_rss_kib as f64);
    let largest = rows.iter().max_by_key(|r| r.0);
    if let (Some(small), Some((size, big, _))) = (smallest, largest) {
        let big_rss = big.peak_rss_kib as f64 / 1024.0;
        println!();
        println!("peak RSS at {} MiB: {big_rss:.1} MiB (target <= 64)", size / MIB);
        println!("RSS ratio largest/smallest: {:.2} (target <= 1.2)", big.peak_rss_kib as f64 / small);
        let worst = rows
            .iter()
            .map(|(_, s, p)| mib_per_s(s) / mib_per_s(p))
            .fold(f64::INFINITY, f64::min);
        println!("lowest throughput ratio ship/plain: {worst:.2} (target >= 0.5 when S3 is not the bottleneck)");
    }
    Ok(())
}
