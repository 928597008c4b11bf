//! `rdslogs dlq`: list, show, redrive and purge the dead-letter queue. Every
//! read holds the messages it received and releases them, consuming nothing.

use anyhow::Context;
use clap::{ArgGroup, Args, Subcommand};
use shipper::aws::AwsClients;
use shipper::config::RawSettings;
use shipper::operator::dlq::{self, DlqEntry, IdMatch, RedriveReport, Scan, Selector};
use shipper::queue::SqsQueue;
use shipper::state::DynamoStateTable;

use crate::exit::{Outcome, refuse};
use crate::output;
use crate::record;

#[derive(Subcommand)]
pub enum DlqCommand {
    /// One row per dead-lettered file version, joined with the state
    /// table's failure record.
    List {
        /// Only messages for this DB instance.
        #[arg(long)]
        instance: Option<String>,
        #[command(flatten)]
        scan: ScanArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything known about one entry: message, work request, state record.
    Show {
        /// Message id, or a unique prefix of it (tables show eight characters).
        id: String,
        #[command(flatten)]
        scan: ScanArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move messages back to the work queue: send first, delete after, so an
    /// interruption duplicates a message rather than losing it.
    Redrive(RedriveArgs),
    /// Delete every message in the dead-letter queue.
    Purge {
        /// Confirm; without it nothing is deleted.
        #[arg(long)]
        yes: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How the queue is read without consuming it.
#[derive(Args)]
pub struct ScanArgs {
    /// Read at most about this many messages.
    #[arg(long, default_value_t = 10_000)]
    limit: usize,
    /// Seconds each message read stays hidden from other readers before
    /// this command releases it; an interrupted command's messages
    /// reappear after this long.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(i32).range(5..=43_200))]
    hold_secs: i32,
}

#[derive(Args)]
#[command(group(ArgGroup::new("selection").required(true).args(["all", "instance", "id"])))]
pub struct RedriveArgs {
    /// Every message.
    #[arg(long)]
    all: bool,
    /// Messages for this DB instance.
    #[arg(long)]
    instance: Option<String>,
    /// One message, by id or unique id prefix.
    #[arg(long)]
    id: Option<String>,
    /// Say what would move, move nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    scan: ScanArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(
    clients: &AwsClients,
    settings: &RawSettings,
    command: DlqCommand,
) -> anyhow::Result<Outcome> {
    let dlq = SqsQueue::new(clients.sqs.clone(), settings.dlq_url()?);
    match command {
        DlqCommand::List {
            instance,
            scan,
            json,
        } => {
            let state = DynamoStateTable::new(clients.dynamodb.clone(), settings.state_table()?);
            list(&dlq, &state, instance.as_deref(), &scan, json).await
        }
        DlqCommand::Show { id, scan, json } => {
            let state = DynamoStateTable::new(clients.dynamodb.clone(), settings.state_table()?);
            show(&dlq, &state, &id, &scan, json).await
        }
        DlqCommand::Redrive(args) => {
            let work = SqsQueue::new(clients.sqs.clone(), settings.queue_url()?);
            redrive(&dlq, &work, &args).await
        }
        DlqCommand::Purge { yes, json } => purge(&dlq, yes, json).await,
    }
}

/// Reads the whole queue (holding every message) with a progress spinner.
async fn read_all(dlq: &SqsQueue, args: &ScanArgs, quiet: bool) -> anyhow::Result<Scan> {
    let spinner = output::spinner("reading the dead-letter queue", quiet);
    let scan = dlq::scan(dlq, args.limit, args.hold_secs, |n| {
        spinner.set_position(n as u64)
    })
    .await;
    spinner.finish_and_clear();
    let scan = scan?;
    if !scan.complete {
        eprintln!(
            "note: read {}, not the whole queue (the --limit was reached, or \
             messages came back after --hold-secs)",
            output::count(scan.letters.len(), "message")
        );
    }
    Ok(scan)
}

/// Joins a scan with the state table, releasing the messages whatever happens.
async fn joined(
    dlq: &SqsQueue,
    state: &DynamoStateTable,
    scan: &Scan,
) -> anyhow::Result<Vec<DlqEntry>> {
    let entries = dlq::entries(state, &scan.letters, shipper::now_ms()).await;
    dlq::release_all(dlq, &scan.letters).await;
    Ok(entries?)
}

async fn list(
    dlq: &SqsQueue,
    state: &DynamoStateTable,
    instance: Option<&str>,
    args: &ScanArgs,
    json: bool,
) -> anyhow::Result<Outcome> {
    let scan = read_all(dlq, args, json).await?;
    let mut entries = joined(dlq, state, &scan).await?;
    if let Some(instance) = instance {
        entries.retain(|e| e.instance.as_deref() == Some(instance));
    }
    if json {
        output::json(&serde_json::json!({"entries": entries, "complete": scan.complete}))?;
    } else {
        print_table(&entries);
    }
    Ok(if instance.is_some() && entries.is_empty() {
        Outcome::NothingMatched
    } else {
        Outcome::Done
    })
}

fn print_table(entries: &[DlqEntry]) {
    if entries.is_empty() {
        println!("nothing dead-lettered: the dead-letter queue is empty");
        return;
    }
    let mut table = output::table(
        &[
            "id",
            "instance",
            "file",
            "size",
            "last written",
            "attempts",
            "first failed",
            "last failed",
            "age",
            "state",
            "failure",
            "last error",
        ],
        &[3, 5],
    );
    for e in entries {
        let failure = e.failure();
        table.add_row(vec![
            e.id.chars().take(8).collect(),
            e.instance.clone().unwrap_or_else(|| "-".into()),
            e.file.clone().unwrap_or_else(|| "-".into()),
            e.version
                .map_or_else(|| "-".into(), |v| output::bytes(v.size)),
            output::time_or_dash(e.version.map(|v| v.last_written_ms)),
            failure.map_or_else(|| "-".into(), |f| f.attempts.to_string()),
            output::time_or_dash(failure.map(|f| f.first_failed_ms)),
            output::time_or_dash(failure.map(|f| f.last_failed_ms)),
            output::age_or_dash(e.age_ms),
            e.state.name().to_owned(),
            failure.map_or_else(
                || "-".into(),
                |f| format!("{}, {}", f.reason, record::permanence(f.permanent)),
            ),
            output::clip_front(
                failure
                    .map(|f| f.last_error.as_str())
                    .or(e.malformed.as_deref())
                    .unwrap_or("-"),
                70,
            ),
        ]);
    }
    println!("{table}");
    println!("{}", output::count(entries.len(), "dead-lettered message"));
}

async fn show(
    dlq: &SqsQueue,
    state: &DynamoStateTable,
    id: &str,
    args: &ScanArgs,
    json: bool,
) -> anyhow::Result<Outcome> {
    let scan = read_all(dlq, args, json).await?;
    let letter = match dlq::resolve_id(&scan.letters, id) {
        IdMatch::One(letter) => letter.clone(),
        IdMatch::None => {
            dlq::release_all(dlq, &scan.letters).await;
            eprintln!("no dead-lettered message has the id {id:?}");
            return Ok(Outcome::NothingMatched);
        }
        IdMatch::Ambiguous(ids) => {
            dlq::release_all(dlq, &scan.letters).await;
            return refuse(format!("{id:?} fits several messages: {}", ids.join(", ")));
        }
    };
    let entry = dlq::entries(state, std::slice::from_ref(&letter), shipper::now_ms()).await;
    dlq::release_all(dlq, &scan.letters).await;
    let entry = entry?.remove(0);
    if json {
        output::json(&entry)?;
    } else {
        print_entry(&entry);
    }
    Ok(Outcome::Done)
}

fn print_entry(e: &DlqEntry) {
    let line = |name: &str, value: String| println!("{name:<22} {value}");
    let dash = || "-".to_owned();
    line("id", e.id.clone());
    line("state", e.state.name().to_owned());
    line("instance", e.instance.clone().unwrap_or_else(dash));
    line("file", e.file.clone().unwrap_or_else(dash));
    if let Some(v) = e.version {
        line(
            "size",
            format!("{} ({} bytes)", output::bytes(v.size), v.size),
        );
        line("last written", output::time(v.last_written_ms));
    }
    if let Some(reason) = &e.malformed {
        line("not a work message", reason.clone());
    }
    line("first sent", output::time_or_dash(e.sent_ms));
    line("message age", output::age_or_dash(e.age_ms));
    line(
        "receives",
        e.receive_count.map_or_else(dash, |n| n.to_string()),
    );
    record::print(e.record.as_ref(), &line);
    line("body", e.body.clone());
}

async fn redrive(dlq: &SqsQueue, work: &SqsQueue, args: &RedriveArgs) -> anyhow::Result<Outcome> {
    let scan = read_all(dlq, &args.scan, args.json).await?;
    let selector = match (&args.instance, &args.id) {
        (Some(instance), _) => Selector::Instance(instance.clone()),
        (None, Some(id)) => match dlq::resolve_id(&scan.letters, id) {
            IdMatch::One(letter) => Selector::Id(letter.id.clone()),
            IdMatch::None => Selector::Id(id.clone()),
            IdMatch::Ambiguous(ids) => {
                dlq::release_all(dlq, &scan.letters).await;
                return refuse(format!("{id:?} fits several messages: {}", ids.join(", ")));
            }
        },
        (None, None) => Selector::All,
    };
    let selected = scan.letters.iter().filter(|l| selector.matches(l)).count();
    let complete = scan.complete;
    let bar = output::bar(selected as u64, "redriving", args.json || args.dry_run);
    let report = dlq::redrive(dlq, work, scan, &selector, args.dry_run, |n| {
        bar.set_position(n as u64)
    })
    .await;
    bar.finish_and_clear();
    if args.json {
        output::json(&report)?;
    } else {
        print_report(&report);
    }
    let sent = report.moved.len() + report.not_deleted.len();
    if !report.dry_run && !report.selected.is_empty() && sent == 0 {
        anyhow::bail!(
            "no message could be sent to the work queue; all stay in the dead-letter queue ({})",
            report
                .not_sent
                .first()
                .map_or("", |(_, reason)| reason.as_str())
        );
    }
    Ok(if report.selected.is_empty() {
        Outcome::NothingMatched
    } else if report.all_moved() && complete {
        Outcome::Done
    } else {
        Outcome::Partial
    })
}

fn print_report(report: &RedriveReport) {
    if report.dry_run {
        for id in &report.selected {
            println!("would move {id}");
        }
        println!(
            "dry run: {} would move to the work queue",
            output::count(report.selected.len(), "message")
        );
        return;
    }
    for (id, reason) in &report.not_sent {
        println!("not moved {id}: {reason}");
    }
    for (id, reason) in &report.not_deleted {
        println!("sent but still in the dead-letter queue {id}: {reason}");
    }
    println!(
        "moved {} of {} selected to the work queue",
        report.moved.len(),
        output::count(report.selected.len(), "message")
    );
}

async fn purge(dlq: &SqsQueue, yes: bool, json: bool) -> anyhow::Result<Outcome> {
    use shipper::queue::ReceivingQueue;
    if !yes {
        return refuse(
            "purge deletes every message in the dead-letter queue for good; \
             add --yes to confirm (see `rdslogs dlq list` first)",
        );
    }
    let count = dlq.approximate_len().await?;
    dlq.purge()
        .await
        .context("purging the dead-letter queue (SQS allows one purge a minute)")?;
    if json {
        output::json(&serde_json::json!({"purged": true, "approximate_count": count}))?;
    } else {
        println!(
            "purged the dead-letter queue (about {})",
            output::count(count as usize, "message")
        );
    }
    Ok(Outcome::Done)
}
