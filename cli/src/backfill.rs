//! `rdslogs backfill`: enqueue every file version of an instance last
//! written in a time window, whatever the state table says, with progress.

use clap::Args;
use shipper::aws::AwsClients;
use shipper::config::RawSettings;
use shipper::operator::backfill::{BackfillReport, BackfillRequest, Window, backfill};
use shipper::queue::SqsQueue;
use shipper::rds::RdsRate;
use shipper::state::DynamoStateTable;

use crate::exit::{Outcome, refuse};
use crate::{args, output, when};

#[derive(Args)]
pub struct BackfillArgs {
    /// DB instance whose log files to enqueue.
    #[arg(long, value_parser = args::instance_id)]
    instance: String,
    /// Start of the window on last-written time, inclusive (RFC 3339, a UTC
    /// date or date-time, or relative such as "2d ago").
    #[arg(long, value_parser = when::arg)]
    since: i64,
    /// End of the window, exclusive [default: now].
    #[arg(long, value_parser = when::arg)]
    until: Option<i64>,
    /// The instance's region [default: the SDK's]; the work messages carry it.
    #[arg(long, value_parser = args::region)]
    region: Option<String>,
    /// List what would be enqueued, enqueue nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(
    clients: &AwsClients,
    settings: &RawSettings,
    args: &BackfillArgs,
) -> anyhow::Result<Outcome> {
    let now = shipper::now_ms();
    let window = match Window::new(args.since, args.until.unwrap_or(now)) {
        Ok(window) => window,
        Err(reason) => return refuse(reason),
    };
    let filter = settings.file_filter()?;
    let (rate, burst) = settings.rds_rate()?;
    let queue = SqsQueue::new(clients.sqs.clone(), settings.queue_url()?);
    let state = DynamoStateTable::new(clients.dynamodb.clone(), settings.state_table()?);
    let catalog = clients.catalog_in(args.region.as_deref(), RdsRate::new(rate, burst));
    let request = BackfillRequest {
        instance: &args.instance,
        region: args.region.as_deref(),
        window,
        filter: &filter,
        dry_run: args.dry_run,
    };
    let bar = output::bar(0, &format!("backfilling {}", args.instance), args.json);
    let report = backfill(&catalog, &state, &queue, &request, now, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    if args.json {
        output::json(&serde_json::json!({"window": window, "report": report}))?;
    } else {
        print(&report, window);
    }
    if !report.dry_run && !report.in_window.is_empty() && report.enqueued.is_empty() {
        anyhow::bail!(
            "no version could be enqueued ({})",
            report
                .not_enqueued
                .first()
                .map_or("", |(_, reason)| reason.as_str())
        );
    }
    Ok(if report.in_window.is_empty() {
        Outcome::NothingMatched
    } else if report.not_enqueued.is_empty() {
        Outcome::Done
    } else {
        Outcome::Partial
    })
}

fn print(report: &BackfillReport, window: Window) {
    let mut table = output::table(&["file", "size", "last written", "enqueued"], &[1]);
    for (file, version) in &report.in_window {
        let enqueued = if report.dry_run {
            "dry run".to_owned()
        } else if let Some((_, reason)) = report.not_enqueued.iter().find(|(f, _)| f == file) {
            format!("no: {reason}")
        } else {
            "yes".to_owned()
        };
        table.add_row(vec![
            file.clone(),
            output::bytes(version.size),
            output::time(version.last_written_ms),
            enqueued,
        ]);
    }
    if !report.in_window.is_empty() {
        println!("{table}");
    }
    if report.filtered > 0 {
        println!(
            "{} in the window left out by RDSLOGS_INCLUDE / RDSLOGS_EXCLUDE",
            output::count(report.filtered, "file")
        );
    }
    let verb = if report.dry_run {
        "would enqueue"
    } else {
        "enqueued"
    };
    let count = if report.dry_run {
        report.in_window.len()
    } else {
        report.enqueued.len()
    };
    println!(
        "{verb} {count} of {} of {} last written from {} to before {}",
        output::count(report.in_window.len(), "file version"),
        report.instance,
        output::time(window.since_ms),
        output::time(window.until_ms)
    );
}
