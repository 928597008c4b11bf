//! `rdslogs verify`: what RDS lists, what the state table says was shipped
//! and what S3 holds, reconciled per file version. Changes nothing.

use clap::Args;
use shipper::aws::AwsClients;
use shipper::config::WorkerConfig;
use shipper::manifest::{ChainWalk, walk_chain};
use shipper::operator::backfill::Window;
use shipper::operator::verify::{Verdict, VerifyReport, VerifyRequest, verify};
use shipper::rds::RdsRate;
use shipper::sink::S3Sink;
use shipper::state::{CycleRecords, DynamoStateTable};

use crate::exit::{Outcome, refuse};
use crate::{args, output, when};

#[derive(Args)]
pub struct VerifyArgs {
    /// Only this DB instance [default: every instance the lister has seen].
    #[arg(long, value_parser = args::instance_id)]
    instance: Option<String>,
    /// Only versions last written at or after this time (RFC 3339, a UTC
    /// date or date-time, or relative such as "2d ago").
    #[arg(long, value_parser = when::arg)]
    since: Option<i64>,
    /// Only versions last written before this time [default: now].
    #[arg(long, value_parser = when::arg)]
    until: Option<i64>,
    /// The instances' region [default: the SDK's].
    #[arg(long, value_parser = args::region)]
    region: Option<String>,
    /// Read every object back and recompute its CRC32C, and the log
    /// file's once decompressed.
    #[arg(long)]
    deep: bool,
    /// Also walk each instance's chain of daily manifests and check every
    /// object they list (docs/manifests.md).
    #[arg(long)]
    manifests: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

const ORDER: [Verdict; 7] = [
    Verdict::Intact,
    Verdict::Present,
    Verdict::Missing,
    Verdict::Mismatch,
    Verdict::Pending,
    Verdict::Failed,
    Verdict::Lost,
];

pub async fn run(
    clients: &AwsClients,
    config: &WorkerConfig,
    rate: RdsRate,
    args: &VerifyArgs,
) -> anyhow::Result<Outcome> {
    let window = match (args.since, args.until) {
        (None, None) => None,
        (since, until) => {
            match Window::new(since.unwrap_or(0), until.unwrap_or_else(shipper::now_ms)) {
                Ok(window) => Some(window),
                Err(reason) => return refuse(reason),
            }
        }
    };
    let state = DynamoStateTable::new(clients.dynamodb.clone(), config.state_table.clone());
    let records = state.instance_cycles().await?;
    let instances = match &args.instance {
        Some(instance) => vec![instance.clone()],
        None => {
            let mut seen: Vec<String> = records.iter().map(|c| c.instance.clone()).collect();
            seen.sort();
            seen.dedup();
            seen
        }
    };
    let catalog = clients.catalog_in(args.region.as_deref(), rate);
    let archive = S3Sink::reader(clients.s3.clone(), config.bucket.clone());
    let request = VerifyRequest {
        instances,
        window,
        deep: args.deep,
    };
    let bar = output::bar(request.instances.len() as u64, "verifying", args.json);
    let report = verify(&catalog, &state, &archive, &request, |done, _| {
        bar.set_position(done as u64)
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    let mut chains = Vec::new();
    if args.manifests {
        for instance in &request.instances {
            let head = records
                .iter()
                .find(|r| &r.instance == instance)
                .and_then(|r| r.manifest.as_ref());
            let head = head.map(|(date, sha)| (date.as_str(), sha.as_str()));
            chains.push(walk_chain(&archive, &config.prefix, instance, head).await?);
        }
    }
    let chain_broken = chains.iter().any(|c| !c.problems.is_empty());
    let damaged = report.damaged() || chain_broken;
    if args.json {
        output::json(&serde_json::json!({
            "findings": report.findings,
            "summary": summary(&report),
            "not_listed": report.not_listed,
            "manifests": args.manifests.then_some(&chains),
            "damaged": damaged,
        }))?;
    } else {
        print(&report);
        if args.manifests {
            print_chains(&chains);
        }
    }
    Ok(if damaged {
        Outcome::Damaged
    } else if report.findings.is_empty() {
        Outcome::NothingMatched
    } else if !report.not_listed.is_empty() {
        Outcome::Partial
    } else {
        Outcome::Done
    })
}

fn summary(report: &VerifyReport) -> serde_json::Value {
    ORDER
        .iter()
        .map(|v| (v.label().to_lowercase(), report.count(*v).into()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn print(report: &VerifyReport) {
    if !report.findings.is_empty() {
        let mut table = output::table(
            &[
                "instance",
                "file",
                "size",
                "last written",
                "status",
                "key",
                "detail",
            ],
            &[2],
        );
        for f in &report.findings {
            table.add_row(vec![
                f.instance.clone(),
                f.file.clone(),
                f.size.map_or("-".to_owned(), output::bytes),
                output::time_or_dash(f.last_written_ms),
                f.verdict.label().to_owned(),
                f.key.clone().unwrap_or_else(|| "-".to_owned()),
                f.detail.clone(),
            ]);
        }
        println!("{table}");
    }
    for (instance, why) in &report.not_listed {
        eprintln!("RDS did not list {instance} (its pending versions are the state's): {why}");
    }
    let counts: Vec<String> = ORDER
        .iter()
        .map(|v| format!("{} {}", report.count(*v), v.label().to_lowercase()))
        .collect();
    println!("{}", counts.join(", "));
    if report.damaged() {
        println!("the archive is damaged: see the MISSING and MISMATCH rows");
    } else if report.findings.is_empty() {
        println!("nothing to verify: no file version in the selection");
    }
}

fn print_chains(chains: &[ChainWalk]) {
    let problems: Vec<_> = chains.iter().flat_map(|c| &c.problems).collect();
    if !problems.is_empty() {
        let mut table = output::table(&["instance", "at", "problem"], &[]);
        for p in &problems {
            table.add_row(vec![p.instance.clone(), p.key.clone(), p.problem.clone()]);
        }
        println!("{table}");
    }
    let manifests: usize = chains.iter().map(|c| c.manifests).sum();
    let objects: usize = chains.iter().map(|c| c.objects).sum();
    println!(
        "manifests: {} of {} listing {} checked, {}",
        output::count(manifests, "manifest"),
        output::count(chains.len(), "instance"),
        output::count(objects, "object"),
        if problems.is_empty() {
            "every chain whole".to_owned()
        } else {
            output::count(problems.len(), "problem")
        }
    );
}
