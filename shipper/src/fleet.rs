//! Which instances and files a lister cycle covers: the instance selection
//! (list, clusters, engines, tags, all), file name patterns, RDS's retention
//! per engine, and the round-robin order that keeps instances fair.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// One DB instance as `DescribeDBInstances` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbInstance {
    pub id: String,
    pub engine: String,
    pub status: String,
    pub cluster: Option<String>,
    pub tags: Vec<(String, String)>,
    /// `DbiResourceId`: which incarnation carries the identifier now.
    pub resource_id: Option<String>,
}

/// An instance the cycle will list, and the region it is in (`None`: the
/// lister's own region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub region: Option<String>,
    pub instance: DbInstance,
}

/// An instance (or cluster) left out of the cycle, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub instance: String,
    pub region: Option<String>,
    pub reason: String,
}

/// Statuses in which RDS serves log files. Everything else (stopped,
/// creating, starting, deleting, failed, ...) is skipped with its status.
const LISTABLE_STATUSES: &[&str] = &[
    "available",
    "backing-up",
    "configuring-enhanced-monitoring",
    "configuring-iam-database-auth",
    "configuring-log-exports",
    "maintenance",
    "modifying",
    "storage-full",
    "storage-optimization",
    "upgrading",
];

/// Which instances are in scope. Sources (explicit ids, cluster members,
/// all) are joined; filters (engines, tags) narrow the result. Filters
/// alone mean "all instances that match".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceSelection {
    pub instances: Vec<String>,
    pub clusters: Vec<String>,
    pub engines: Vec<String>,
    /// Every pair must match a tag of the instance.
    pub tags: Vec<(String, String)>,
    pub all: bool,
}

impl InstanceSelection {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn takes_all(&self) -> bool {
        self.all || (self.instances.is_empty() && self.clusters.is_empty())
    }

    fn filter_miss(&self, db: &DbInstance) -> Option<String> {
        if !self.engines.is_empty() && !self.engines.iter().any(|e| e == &db.engine) {
            return Some(format!(
                "engine {} is not in RDSLOGS_ENGINES ({})",
                db.engine,
                self.engines.join(",")
            ));
        }
        let missing: Vec<String> = self
            .tags
            .iter()
            .filter(|(k, v)| !db.tags.iter().any(|(tk, tv)| tk == k && tv == v))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (!missing.is_empty()).then(|| format!("lacks tag {}", missing.join(", ")))
    }

    /// Picks the instances to list from everything one region reported.
    /// Named instances or clusters that are missing, excluded by a filter or
    /// not available come back as skipped, never silently dropped.
    pub fn select(
        &self,
        region: Option<&str>,
        found: &[DbInstance],
    ) -> (Vec<Target>, Vec<Skipped>) {
        let skip = |instance: &str, reason: String| Skipped {
            instance: instance.to_owned(),
            region: region.map(str::to_owned),
            reason,
        };
        let by_id: HashMap<&str, &DbInstance> = found.iter().map(|d| (d.id.as_str(), d)).collect();
        let mut targets = Vec::new();
        let mut skipped = Vec::new();
        let mut chosen: BTreeMap<&str, bool> = BTreeMap::new(); // id -> named explicitly
        for id in &self.instances {
            if by_id.contains_key(id.as_str()) {
                chosen.insert(id, true);
            } else {
                skipped.push(skip(id, "not found".into()));
            }
        }
        for cluster in &self.clusters {
            let members: Vec<&DbInstance> = found
                .iter()
                .filter(|d| d.cluster.as_deref() == Some(cluster.as_str()))
                .collect();
            if members.is_empty() {
                skipped.push(skip(
                    cluster,
                    "cluster not found or has no instances".into(),
                ));
            }
            for member in members {
                chosen.entry(&member.id).or_insert(true);
            }
        }
        if self.takes_all() {
            for db in found {
                chosen.entry(&db.id).or_insert(false);
            }
        }
        for (id, named) in chosen {
            let db = by_id[id];
            if let Some(miss) = self.filter_miss(db) {
                // Only an instance the operator named deserves a note.
                if named {
                    skipped.push(skip(id, miss));
                }
                continue;
            }
            if !LISTABLE_STATUSES.contains(&db.status.as_str()) {
                skipped.push(skip(id, format!("status is {}", db.status)));
                continue;
            }
            targets.push(Target {
                region: region.map(str::to_owned),
                instance: db.clone(),
            });
        }
        (targets, skipped)
    }
}

/// Drops targets whose identifier was already taken in an earlier region:
/// the state table and S3 keys are per identifier, so two instances of the
/// same name would overwrite each other's logs.
pub fn unique_across_regions(targets: Vec<Target>) -> (Vec<Target>, Vec<Skipped>) {
    let mut seen: HashMap<String, Option<String>> = HashMap::new();
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for target in targets {
        match seen.get(&target.instance.id) {
            Some(first) => skipped.push(Skipped {
                instance: target.instance.id.clone(),
                region: target.region.clone(),
                reason: format!(
                    "an instance of the same name in region {} is shipped instead; \
                     identifiers must be unique across RDSLOGS_REGIONS",
                    first.as_deref().unwrap_or("(default)")
                ),
            }),
            None => {
                seen.insert(target.instance.id.clone(), target.region.clone());
                kept.push(target);
            }
        }
    }
    (kept, skipped)
}

/// Include and exclude patterns on log file names. `*` also matches `/`, so
/// `*.csv` covers `error/postgresql.log.2026-11-20-13.csv`.
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl FileFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        Ok(Self {
            include: glob_set(include)?,
            exclude: glob_set(exclude)?,
        })
    }

    pub fn accepts(&self, file: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(file))
            && !self.exclude.as_ref().is_some_and(|set| set.is_match(file))
    }
}

fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(pattern)
            .build()
            .map_err(|e| format!("{pattern:?} is not a valid pattern: {e}"))?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| format!("cannot combine the patterns: {e}"))
}

/// How long RDS keeps a log file by default, per engine, in hours: MySQL
/// and MariaDB rotate hourly files kept 24 h; PostgreSQL keeps 3 days
/// (`rds.log_retention_period`); SQL Server and Oracle keep 7 days.
pub fn default_retention_hours(engine: &str) -> i64 {
    match engine {
        e if e.contains("postgres") => 72,
        e if e.starts_with("sqlserver") || e.starts_with("oracle") || e.starts_with("custom") => {
            7 * 24
        }
        // mysql, mariadb, aurora-mysql, aurora (MySQL 5.6 compatible), and
        // anything unknown: assume the shortest.
        _ => 24,
    }
}

/// True when an unshipped version written at `last_written_ms` has used
/// more than three quarters of its engine's retention.
pub fn near_retention(engine: &str, last_written_ms: i64, now_ms: i64) -> bool {
    let retention_ms = default_retention_hours(engine) * 3_600_000;
    now_ms - last_written_ms > retention_ms * 3 / 4
}

/// Orders work so every instance gets a turn: the first item of each
/// instance, then the second of each, and so on.
pub fn interleave<T>(per_instance: Vec<Vec<T>>) -> Vec<T> {
    let total = per_instance.iter().map(Vec::len).sum();
    let mut queues: VecDeque<std::vec::IntoIter<T>> =
        per_instance.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    while let Some(mut queue) = queues.pop_front() {
        if let Some(item) = queue.next() {
            out.push(item);
            queues.push_back(queue);
        }
    }
    out
}

/// Parses `key=value,key2=value2` (RDSLOGS_TAGS).
pub fn parse_tags(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut seen = HashSet::new();
    split_list(text)
        .into_iter()
        .map(|pair| {
            let (k, v) = parse_tag(&pair)?;
            if !seen.insert(k.clone()) {
                return Err(format!("tag {k:?} is given twice"));
            }
            Ok((k, v))
        })
        .collect()
}

/// Parses one `key=value` tag, trimmed; the value may be empty.
pub fn parse_tag(pair: &str) -> Result<(String, String), String> {
    let (k, v) = pair
        .split_once('=')
        .ok_or_else(|| format!("{pair:?} is not key=value"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("{pair:?} has an empty key"));
    }
    Ok((k.to_owned(), v.trim().to_owned()))
}

/// Splits a comma-separated setting, trimming blanks away.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
