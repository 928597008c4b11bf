//! `rdslogs snapshot`: a manual DB snapshot (of the whole cluster for an
//! Aurora member), tagged as made by this tool, now or at a future time.

use std::time::Duration;

use clap::Args;
use shipper::operator::snapshot::{
    self, Progress, RdsSnapshots, SnapshotInfo, SnapshotService, Source, Start,
};

use crate::exit::{Outcome, refuse};
use crate::{args, output, when};

#[derive(Args)]
pub struct SnapshotArgs {
    /// DB instance to snapshot; for an Aurora cluster member, its cluster.
    #[arg(long, value_parser = args::instance_id)]
    instance: String,
    /// When to take it: a future time is waited for, a past one refused
    /// (RFC 3339, a UTC date-time, or relative such as "in 2h").
    #[arg(long, value_parser = when::arg)]
    at: Option<i64>,
    /// Snapshot identifier [default: rdslogs-<instance or cluster>-<yyyymmdd>-<hhmmss>]
    #[arg(long)]
    id: Option<String>,
    /// An extra tag, key=value (repeatable); created-by=rdslogs is always set.
    #[arg(long = "tag", value_parser = args::tag)]
    tags: Vec<(String, String)>,
    /// Wait until the snapshot is available.
    #[arg(long)]
    wait: bool,
    /// Seconds between status checks while waiting.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    poll_secs: u64,
    /// Print the snapshot as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(rds: aws_sdk_rds::Client, args: SnapshotArgs) -> anyhow::Result<Outcome> {
    let now = shipper::now_ms();
    let start = match snapshot::start(args.at, now) {
        Ok(start) => start,
        Err(reason) => return refuse(reason),
    };
    let service = RdsSnapshots::new(rds);
    // Look the instance up first, so a typo fails before any wait.
    let source = service.source_of(&args.instance).await?;
    if let Start::After(wait) = start {
        let spinner = output::waiting(
            &format!(
                "waiting until {} to snapshot",
                output::time(args.at.unwrap_or(now))
            ),
            args.json,
        );
        tokio::time::sleep(wait).await;
        spinner.finish_and_clear();
    }
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| snapshot::snapshot_id(&source, args.at.unwrap_or(now)));
    let mut info = service
        .create(&source, &id, &snapshot::tags(&args.tags))
        .await?;
    if args.wait {
        info = wait_until_available(&service, &source, info, &args).await?;
    }
    if args.json {
        output::json(&info)?;
    } else {
        print(&info);
    }
    Ok(Outcome::Done)
}

async fn wait_until_available(
    service: &RdsSnapshots,
    source: &Source,
    mut info: SnapshotInfo,
    args: &SnapshotArgs,
) -> anyhow::Result<SnapshotInfo> {
    let spinner = output::waiting(
        &format!("snapshot {} is {}", info.id, info.status),
        args.json,
    );
    loop {
        match info.progress() {
            Progress::Available => break,
            Progress::Failed => {
                spinner.finish_and_clear();
                anyhow::bail!("snapshot {} ended as {}", info.id, info.status);
            }
            Progress::Creating => {}
        }
        tokio::time::sleep(Duration::from_secs(args.poll_secs)).await;
        info = service.describe(source, &info.id).await?;
        spinner.set_message(format!("snapshot {} is {}", info.id, info.status));
    }
    spinner.finish_and_clear();
    Ok(info)
}

fn print(info: &SnapshotInfo) {
    let what = match &info.source {
        Source::Instance(id) => format!("instance {id}"),
        Source::Cluster(id) => format!("cluster {id}"),
    };
    println!("snapshot   {}", info.id);
    println!("of         {what}");
    println!("status     {}", info.status);
    println!("created    {}", output::time_or_dash(info.created_ms));
    if let Some(arn) = &info.arn {
        println!("arn        {arn}");
    }
    let tags: Vec<String> = info.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("tags       {}", tags.join(", "));
}
