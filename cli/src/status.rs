//! `rdslogs status`: per instance, files shipped, pending, failed and lost,
//! bytes shipped, lag, and the lister's last cycle, from the state table.

use clap::Args;
use shipper::operator::record::FileRecord;
use shipper::operator::status::{FleetStatus, InstanceStatus, summarize};
use shipper::state::{CycleRecords, FileStates, StateScan};
use shipper::state::{DynamoStateTable, FleetCycle, InstanceCycle};

use crate::exit::Outcome;
use crate::output;
use crate::record;

#[derive(Args)]
pub struct StatusArgs {
    /// Only this DB instance.
    #[arg(long)]
    instance: Option<String>,
    /// One file of the instance: its record, with every S3 key it has had.
    #[arg(long, requires = "instance")]
    file: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(state: &DynamoStateTable, args: &StatusArgs) -> anyhow::Result<Outcome> {
    if let (Some(instance), Some(file)) = (&args.instance, &args.file) {
        return file_status(state, instance, file, args.json).await;
    }
    let spinner = output::waiting("reading the state table", args.json);
    let read = async {
        // One instance is one Query; the whole fleet is a scan.
        let files = match &args.instance {
            Some(instance) => state.files_of(instance).await?,
            None => state.all_files().await?,
        };
        Ok::<_, shipper::Error>((
            files,
            state.instance_cycles().await?,
            state.fleet_cycle().await?,
        ))
    }
    .await;
    spinner.finish_and_clear();
    let (files, cycles, fleet) = read?;
    let now = shipper::now_ms();
    let mut status = summarize(&files, &cycles, now);
    if let Some(instance) = &args.instance {
        status = status.only(instance);
    }
    if args.json {
        output::json(&serde_json::json!({
            "instances": status.instances,
            "total": status.total,
            "last_cycle": fleet,
        }))?;
    } else {
        print(&status, fleet.as_ref(), now);
    }
    Ok(match &args.instance {
        Some(_) if status.instances.is_empty() => Outcome::NothingMatched,
        _ => Outcome::Done,
    })
}

/// `status --instance I --file F`: one file's record (one GetItem).
async fn file_status(
    state: &DynamoStateTable,
    instance: &str,
    file: &str,
    json: bool,
) -> anyhow::Result<Outcome> {
    let Some(found) = state.get(instance, file).await? else {
        eprintln!("the state table has no record of {file} of {instance}");
        return Ok(Outcome::NothingMatched);
    };
    let record = FileRecord::from(&found);
    if json {
        output::json(&serde_json::json!({
            "instance": instance,
            "file": file,
            "record": record,
        }))?;
    } else {
        let line = |name: &str, value: String| println!("{name:<22} {value}");
        line("instance", instance.to_owned());
        line("file", file.to_owned());
        record::print(Some(&record), &line);
    }
    Ok(Outcome::Done)
}

fn print(status: &FleetStatus, fleet: Option<&FleetCycle>, now: i64) {
    if status.instances.is_empty() {
        println!("nothing shipped or pending yet: the state table holds no log file");
    } else {
        print_table(status, now);
    }
    print_lister(fleet, now);
}

fn print_table(status: &FleetStatus, now: i64) {
    let mut table = output::table(
        &[
            "instance",
            "shipped",
            "pending",
            "failed",
            "lost",
            "bytes shipped",
            "stored",
            "lag",
            "last cycle",
        ],
        &[1, 2, 3, 4, 5, 6, 7],
    );
    for s in status.instances.iter().chain([&status.total]) {
        table.add_row(row(s, now));
    }
    println!("{table}");
    let total = &status.total;
    if let (Some(lag), Some(file)) = (total.lag_ms, &total.oldest_unshipped) {
        println!(
            "oldest unshipped: {file}, last written {} ago",
            output::age(lag)
        );
    }
}

fn print_lister(fleet: Option<&FleetCycle>, now: i64) {
    match fleet {
        Some(c) => {
            println!(
                "lister: last cycle {} ({} ago), took {}, {}, {} failed, {} skipped, {} enqueued, {} lost",
                output::time(c.at_ms),
                output::age(now - c.at_ms),
                output::age(c.duration_ms),
                output::count(c.instances as usize, "instance"),
                c.failed,
                c.skipped,
                c.enqueued,
                c.lost
            );
            if c.not_reached > 0 {
                println!(
                    "lister: {} not reached in time; the least recently listed was listed {} before that cycle (docs/fleet.md: fleets larger than one cycle)",
                    output::count(c.not_reached as usize, "instance"),
                    output::age_or_dash(c.oldest_listing_age_ms)
                );
            }
        }
        None => println!("lister: no cycle recorded yet"),
    }
}

fn row(s: &InstanceStatus, now: i64) -> Vec<String> {
    vec![
        s.instance.clone(),
        s.shipped.to_string(),
        s.pending.to_string(),
        s.failed.to_string(),
        s.lost.to_string(),
        output::bytes(s.bytes_shipped),
        output::bytes(s.bytes_stored),
        output::age_or_dash(s.lag_ms),
        s.last_cycle
            .as_ref()
            .map_or_else(|| "-".into(), |c| cycle(c, now)),
    ]
}

fn cycle(c: &InstanceCycle, now: i64) -> String {
    let ago = format!("{} ago", output::age(now - c.at_ms));
    match (&c.error, &c.skipped) {
        (Some(error), _) => format!("{ago}, error: {}", output::clip_front(error, 60)),
        (None, Some(reason)) => format!("{ago}, skipped: {reason}"),
        (None, None) => format!("{ago}, listed {}", c.listed),
    }
}
