//! `rdslogs list-once`: one lister cycle, as the scheduled Lambda runs it,
//! and what it found per instance.

use std::time::Duration;

use clap::Args;
use shipper::aws::AwsClients;
use shipper::config::ListerConfig;
use shipper::lister::CycleReport;

use crate::exit::Outcome;
use crate::output::{self, count};

#[derive(Args)]
pub struct ListOnceArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Start no listing after this many seconds, as the Lambda does
    /// before its deadline; the next run carries on where this stopped.
    #[arg(long, value_name = "SECONDS")]
    budget_secs: Option<u64>,
    #[command(flatten)]
    pub scope: crate::settings::ScopeArgs,
}

/// Exit 1 when the cycle as a whole failed (its records, a region); 4 when
/// some instances or versions were left out (the next cycle retries them).
pub async fn run(
    clients: &AwsClients,
    config: &ListerConfig,
    args: &ListOnceArgs,
) -> anyhow::Result<Outcome> {
    let spinner = output::waiting("listing the fleet", args.json);
    let lister = clients.lister(config);
    let now_ms = shipper::now_ms();
    let budget = args.budget_secs.map(Duration::from_secs);
    let deadline = budget.map(|b| tokio::time::Instant::now() + b);
    let mut report = lister.run_cycle_within(now_ms, budget).await;
    // Then the due daily manifests, as the Lambda does.
    if let Some(manifests) = clients.manifests(config) {
        lister
            .write_manifests(&manifests, &mut report, now_ms, deadline)
            .await;
    }
    spinner.finish_and_clear();
    if args.json {
        output::json(&report)?;
    } else {
        print(&report);
    }
    if !report.errors.is_empty() {
        anyhow::bail!("lister cycle incomplete: {}", report.errors.join("; "));
    }
    Ok(match left_out(&report) {
        Some(why) => {
            eprintln!("lister cycle incomplete: {why}");
            Outcome::Partial
        }
        None => Outcome::Done,
    })
}

/// The table (when any instance was in scope) and a summary; a cycle that
/// failed before listing prints nothing here, only its error.
fn print(report: &CycleReport) {
    if report.instances.is_empty() && report.skipped.is_empty() {
        if report.errors.is_empty() {
            println!(
                "no DB instance in scope: check RDSLOGS_INSTANCES, RDSLOGS_CLUSTERS, \
                 RDSLOGS_ENGINES, RDSLOGS_TAGS or RDSLOGS_ALL_INSTANCES"
            );
        }
        return;
    }
    let mut table = output::table(
        &[
            "instance",
            "listed",
            "unchanged",
            "in flight",
            "enqueued",
            "lost",
            "note",
        ],
        &[1, 2, 3, 4, 5],
    );
    for i in &report.instances {
        table.add_row(vec![
            i.instance.clone(),
            i.listed.to_string(),
            i.unchanged.to_string(),
            i.in_flight.to_string(),
            i.enqueued.to_string(),
            i.lost.to_string(),
            i.error.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    for s in &report.skipped {
        let dash = || "-".to_owned();
        table.add_row(vec![
            s.instance.clone(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            format!("skipped: {}", s.reason),
        ]);
    }
    println!("{table}");
    let enqueued = report.enqueued();
    let mut summary = if enqueued == 0 {
        "nothing new to ship".to_owned()
    } else {
        format!("enqueued {}", count(enqueued, "file version"))
    };
    for (n, what) in [
        (report.lost(), "lost"),
        (report.near_retention(), "near RDS's retention"),
    ] {
        if n > 0 {
            summary.push_str(&format!(", {n} {what}"));
        }
    }
    if report.throttled > 0 {
        summary.push_str(&format!(
            ", {} from RDS (retried)",
            count(report.throttled as usize, "throttled call")
        ));
    }
    if report.manifests_written > 0 {
        summary.push_str(&format!(
            ", {} written",
            count(report.manifests_written, "daily manifest")
        ));
    }
    println!("{summary}");
    if !report.not_reached.is_empty() {
        println!(
            "{} not reached in time (the next cycle starts with them){}",
            count(report.not_reached.len(), "instance"),
            report
                .oldest_listing_age_ms
                .map_or(String::new(), |age| format!(
                    "; the oldest was listed {} ago",
                    output::age(age)
                ))
        );
    }
}

/// What the cycle left out, instance by instance: the versions that cannot
/// ship as configured (not in the table), and a count of what it shows.
fn left_out(report: &CycleReport) -> Option<String> {
    let failed = report
        .instances
        .iter()
        .filter(|i| i.error.is_some())
        .count();
    let not_enqueued: usize = report.instances.iter().map(|i| i.not_enqueued).sum();
    let mut why: Vec<String> = Vec::new();
    why.extend(
        report
            .instances
            .iter()
            .flat_map(|i| i.unshippable.iter().cloned()),
    );
    if failed > 0 {
        why.push(format!(
            "{} failed (the note column says why)",
            count(failed, "instance")
        ));
    }
    if not_enqueued > 0 {
        why.push(format!(
            "{} not enqueued (the next cycle tries again)",
            count(not_enqueued, "file version")
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}
