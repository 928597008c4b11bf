//! `ship-bench`: ships single large files from the simulated RDS to an
//! S3-compatible server in a separate worker process and prints wall time,
//! throughput and the worker's peak RSS, next to a plain download of the same
//! file over loopback as the physical reference.
//!
//! Two S3 sides, both served by the s3s framework in this process (moto
//! accepts large uploads too slowly to measure anything but moto): a
//! discard store that counts bytes and keeps none, so the S3 side is not the
//! bottleneck, and s3s-fs, a real store on the local file system (tmpfs when
//! available). Run it with `scripts/bench.sh` (release mode). With
//! `--extension` it measures the worker's extension check instead, with
//! `--first-sync` the worker's throughput on many small files, with
//! `--cold-start BINARY` a Lambda binary's start-up.

mod cold_start;
mod discard;
mod extension;
mod first_sync;
mod process;
mod sim;
mod single_file;

use process::{Measured, cpu_secs, measured_child, mib, mib_per_s, peak_rss_kib, print_measured};
use single_file::{measure, summarise};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use shipper::aws::AwsClients;
use shipper::layout::{Compression, KeyLayout};
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
    /// Where the S3 server keeps objects; default: tmpfs (/dev/shm) when the
    /// machine has it, so the S3 side measures S3 handling, not the disk.
    #[arg(long)]
    s3_root: Option<PathBuf>,
    /// Multipart part size of the worker.
    #[arg(long, default_value_t = 8)]
    part_size_mib: u64,
    /// Parts uploading at once.
    #[arg(long, default_value_t = 2)]
    parts_in_flight: usize,
    /// Compression of the shipped objects: none, gzip or zstd.
    #[arg(long, default_value = "none", value_parser = Compression::parse)]
    compression: Compression,
    /// Measure what the extension check costs instead (discard store only):
    /// each file shipped whole over its first half, against to a new key.
    #[arg(long)]
    extension: bool,
    /// Rounds of the --extension (per size) or --first-sync measurement (on
    /// a shared machine one round's figure moves by tens of percent);
    /// default 21 for --extension, 2 for --first-sync.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: Option<u32>,
    /// Measure the worker's throughput on a first sync of many small files
    /// instead, with each --records-at-once (discard store only).
    #[arg(long)]
    first_sync: bool,
    #[command(flatten)]
    sync: first_sync::Options,
    /// Measure this Lambda binary's start-up instead: process start to its
    /// first request to the runtime API, over --rounds runs (default 21).
    #[arg(long, value_name = "BINARY")]
    cold_start: Option<PathBuf>,
}

/// What a child process does; the parent never calls these itself, so the
/// child's peak RSS is the worker's alone.
#[derive(Subcommand)]
enum Role {
    Ship(ChildArgs),
    Download(ChildArgs),
    Upload(ChildArgs),
    /// The whole file to a key where nothing exists (after the same untimed
    /// preparation as `Extend`).
    Fresh(ChildArgs),
    /// The whole file over an earlier version: its first half.
    Extend(ChildArgs),
    /// Many small files, in SQS batches (`--first-sync`).
    ShipBatches(first_sync::ChildArgs),
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
    #[arg(long, value_parser = Compression::parse)]
    compression: Compression,
    /// The file on disk, for the S3-only reference.
    #[arg(long)]
    path: PathBuf,
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "bench"),
            ),
        )
        .build()
}

async fn child(role: Role) -> anyhow::Result<()> {
    let args = match &role {
        Role::Ship(a) | Role::Download(a) | Role::Upload(a) | Role::Fresh(a) | Role::Extend(a) => a,
        Role::ShipBatches(a) => return first_sync::child(a).await,
    };
    let clients =
        AwsClients::with_rds_config(&sdk_config(&args.s3), &sdk_config(&args.rds)).await?;
    let sink = S3Sink::new(
        clients.s3.clone(),
        BUCKET,
        (args.part_size_mib * MIB) as usize,
        args.parts_in_flight,
        Duration::from_secs(900),
    );
    let started = Instant::now();
    let bytes = match &role {
        Role::Ship(_) => {
            let worker = Worker {
                source: clients.log_source.clone(),
                sink,
                state: MemoryStateTable::default(),
                layout: KeyLayout::new("{prefix}/{instance}/{file}", "bench", args.compression)
                    .map_err(anyhow::Error::msg)?,
                batch: Default::default(),
            };
            let version = LogFileVersion {
                instance: INSTANCE.into(),
                file: args.file.clone(),
                version: FileVersion::new(args.size, 1),
                region: None,
                incarnation: None,
            };
            match worker.ship(&version).await? {
                SyncOutcome::Shipped { bytes, .. } => bytes,
                other => bail!("not shipped: {other:?}"),
            }
        }
        Role::Upload(_) => upload_only(&sink, &args.path).await?,
        Role::Download(_) => plain_download(&clients.log_source, &args.file).await?,
        Role::Fresh(_) | Role::Extend(_) => {
            let over_earlier = matches!(role, Role::Extend(_));
            // Measures only the whole file's pass, not the preparation.
            let measured =
                extension::ship_whole(args, &clients.log_source, sink, over_earlier).await?;
            return print_measured(&measured);
        }
        Role::ShipBatches(_) => unreachable!("returned above"),
    };
    print_measured(&Measured {
        bytes,
        secs: started.elapsed().as_secs_f64(),
        cpu_secs: cpu_secs(),
        peak_rss_kib: peak_rss_kib(),
    })
}

/// The same signed request the worker makes, bytes counted and dropped.
async fn plain_download(source: &RestLogSource, file: &str) -> anyhow::Result<u64> {
    let mut stream = source.open(None, INSTANCE, file).await?;
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        total += chunk?.len() as u64;
    }
    Ok(total)
}

/// The S3 side alone: the same sink fed from the file on disk, no RDS.
async fn upload_only(sink: &S3Sink, path: &Path) -> anyhow::Result<u64> {
    use shipper::sink::{ObjectSink, Precondition};
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await?;
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((
                Err(shipper::Error::Credentials(format!("read failed: {e}"))),
                file,
            )),
        }
    });
    let key = format!("upload-only/{}", path.display());
    let stored = sink
        .store(&key, &[], None, Box::pin(chunks), &Precondition::Absent)
        .await?;
    Ok(stored.bytes)
}

/// Serves `store` on a free loopback port.
async fn serve_s3(store: impl s3s::S3) -> anyhow::Result<SocketAddr> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    let mut builder = s3s::service::S3ServiceBuilder::new(store);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let http = Builder::new(TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let conn = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    Ok(addr)
}

fn run_child(
    role: &str,
    cli: &Cli,
    urls: (&str, &str),
    file: &str,
    size: u64,
) -> anyhow::Result<Measured> {
    let path = cli.dir.join("fleet").join(INSTANCE).join(file);
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args([role, "--rds", urls.0, "--s3", urls.1, "--file", file])
        .args(["--size", &size.to_string()])
        .args(["--part-size-mib", &cli.part_size_mib.to_string()])
        .args(["--parts-in-flight", &cli.parts_in_flight.to_string()])
        .args(["--compression", compression_name(cli.compression)])
        .arg("--path")
        .arg(&path);
    measured_child(command, &format!("{role} of {file}"))
}

/// Reads a file once so every measurement starts from the page cache.
fn read_once(cli: &Cli, name: &str) -> std::io::Result<u64> {
    std::io::copy(
        &mut std::fs::File::open(cli.dir.join("fleet").join(INSTANCE).join(name))?,
        &mut std::io::sink(),
    )
}

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(role) = cli.command {
        return child(role).await;
    }
    // The binary measured is built apart; this process only serves it.
    if let Some(binary) = &cli.cold_start {
        return cold_start::run(binary, cli.rounds.unwrap_or(21)).await;
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build measures unoptimised hashing; run scripts/bench.sh");
    }
    if cli.first_sync {
        return first_sync::run(&cli).await;
    }
    let fleet = cli.dir.join("fleet");
    let mut files = Vec::new();
    for &size_mib in &cli.sizes_mib {
        let name = format!("error/postgresql.log.bench-{size_mib}mib");
        let path = fleet.join(INSTANCE).join(&name);
        if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(size_mib * MIB) {
            eprintln!("generating {} ({size_mib} MiB)", path.display());
            rds_sim::generate::write_large_log(&path, size_mib * MIB)?;
        }
        files.push((name, size_mib * MIB));
    }
    let sim = sim::start(fleet, ACCESS_KEY, SECRET_KEY).await?;
    let s3_root = cli.s3_root.clone().unwrap_or_else(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            shm.join("rds-log-shipper-bench")
        } else {
            cli.dir.join("s3")
        }
    });
    let rds = sim.endpoint_url();
    println!(
        "RDS side: rds-sim reading {}",
        cli.dir.join("fleet").display()
    );
    println!(
        "worker: a separate process; part size {} MiB, {} parts in flight, compression {}",
        cli.part_size_mib,
        cli.parts_in_flight,
        compression_name(cli.compression)
    );

    println!(
        "\nS3 side: discard store (s3s; counts bytes, keeps none), so S3 is not the bottleneck"
    );
    let discard = format!(
        "http://{}",
        serve_s3(discard::DiscardStore::default()).await?
    );
    if cli.extension {
        return extension::measure(&cli, (&rds, &discard), &files);
    }
    let rows = measure(&cli, (&rds, &discard), &files, None)?;
    summarise(&rows, true);

    println!(
        "\nS3 side: s3s-fs 0.14.1, a real store, under {}",
        s3_root.display()
    );
    if s3_root.exists() {
        std::fs::remove_dir_all(&s3_root)?;
    }
    std::fs::create_dir_all(s3_root.join(BUCKET))?;
    let fs = s3s_fs::FileSystem::new(&s3_root).map_err(|e| anyhow::anyhow!("s3s-fs: {e:?}"))?;
    let fs_url = format!("http://{}", serve_s3(fs).await?);
    let rows = measure(&cli, (&rds, &fs_url), &files, Some(&s3_root))?;
    summarise(&rows, false);
    let _ = std::fs::remove_dir_all(&s3_root);
    Ok(())
}
