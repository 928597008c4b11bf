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
mod tests {
    use super::*;

    fn db(
        id: &str,
        engine: &str,
        status: &str,
        cluster: Option<&str>,
        tags: &[(&str, &str)],
    ) -> DbInstance {
        DbInstance {
            id: id.into(),
            engine: engine.into(),
            status: status.into(),
            cluster: cluster.map(Into::into),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            resource_id: None,
        }
    }

    fn fleet() -> Vec<DbInstance> {
        vec![
            db(
                "pg-1",
                "postgres",
                "available",
                None,
                &[("env", "prod"), ("team", "a")],
            ),
            db("pg-2", "postgres", "stopped", None, &[("env", "prod")]),
            db("my-1", "mysql", "available", None, &[("env", "dev")]),
            db(
                "au-1",
                "aurora-postgresql",
                "available",
                Some("orders"),
                &[("env", "prod")],
            ),
            db("au-2", "aurora-postgresql", "creating", Some("orders"), &[]),
        ]
    }

    fn reasons(skipped: &[Skipped]) -> Vec<(&str, &str)> {
        skipped
            .iter()
            .map(|s| (s.instance.as_str(), s.reason.as_str()))
            .collect()
    }

    fn ids(targets: &[Target]) -> Vec<&str> {
        targets.iter().map(|t| t.instance.id.as_str()).collect()
    }

    #[test]
    fn all_lists_every_available_instance_and_skips_the_rest_with_a_reason() {
        let sel = InstanceSelection {
            all: true,
            ..Default::default()
        };
        let (targets, skipped) = sel.select(None, &fleet());
        assert_eq!(ids(&targets), ["au-1", "my-1", "pg-1"]);
        let reasons = reasons(&skipped);
        assert_eq!(
            reasons,
            [
                ("au-2", "status is creating"),
                ("pg-2", "status is stopped")
            ]
        );
    }

    #[test]
    fn filters_alone_mean_all_matching_instances() {
        let sel = InstanceSelection {
            engines: vec!["postgres".into(), "aurora-postgresql".into()],
            tags: vec![("env".into(), "prod".into())],
            ..Default::default()
        };
        let (targets, skipped) = sel.select(None, &fleet());
        assert_eq!(ids(&targets), ["au-1", "pg-1"]);
        // pg-2 matches but is stopped; unnamed non-matching instances are silent.
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].instance, "pg-2");
    }

    #[test]
    fn named_instances_and_clusters_are_joined_and_misses_are_reported() {
        let sel = InstanceSelection {
            instances: vec!["my-1".into(), "gone-1".into()],
            clusters: vec!["orders".into(), "nope".into()],
            ..Default::default()
        };
        let (targets, skipped) = sel.select(Some("eu-west-1"), &fleet());
        assert_eq!(ids(&targets), ["au-1", "my-1"]);
        assert_eq!(targets[0].region.as_deref(), Some("eu-west-1"));
        let reasons = reasons(&skipped);
        assert_eq!(
            reasons,
            [
                ("gone-1", "not found"),
                ("nope", "cluster not found or has no instances"),
                ("au-2", "status is creating"),
            ]
        );
    }

    #[test]
    fn a_named_instance_outside_the_filters_is_reported() {
        let sel = InstanceSelection {
            instances: vec!["my-1".into()],
            engines: vec!["postgres".into()],
            ..Default::default()
        };
        let (targets, skipped) = sel.select(None, &fleet());
        assert!(targets.is_empty());
        assert!(skipped[0].reason.contains("engine mysql"), "{skipped:?}");
        let sel = InstanceSelection {
            instances: vec!["pg-1".into()],
            tags: vec![("team".into(), "b".into())],
            ..Default::default()
        };
        assert_eq!(sel.select(None, &fleet()).1[0].reason, "lacks tag team=b");
    }

    #[test]
    fn the_same_identifier_in_two_regions_is_shipped_once() {
        let t = |region: &str, id: &str| Target {
            region: Some(region.into()),
            instance: db(id, "postgres", "available", None, &[]),
        };
        let (kept, skipped) = unique_across_regions(vec![
            t("us-east-1", "a"),
            t("eu-west-1", "a"),
            t("eu-west-1", "b"),
        ]);
        assert_eq!(ids(&kept), ["a", "b"]);
        assert_eq!(skipped[0].region.as_deref(), Some("eu-west-1"));
        assert!(skipped[0].reason.contains("us-east-1"));
    }

    #[test]
    fn file_patterns_include_then_exclude() {
        let f = FileFilter::new(
            &["error/*.csv".into(), "audit/**".into()],
            &["audit/old*".into()],
        )
        .unwrap();
        assert!(f.accepts("error/postgresql.log.2026-11-20-13.csv"));
        assert!(!f.accepts("error/postgresql.log.2026-11-20-13"));
        assert!(f.accepts("audit/server_audit.log.1"));
        let csv = FileFilter::new(&["*.csv".into()], &[]).unwrap();
        assert!(csv.accepts("error/postgresql.log.2026-11-20-13.csv"));
        assert!(!f.accepts("audit/old.log"));
        let no_audit = FileFilter::new(&[], &["audit/*".into()]).unwrap();
        assert!(no_audit.accepts("error/mysql-error.log"));
        assert!(!no_audit.accepts("audit/server_audit.log"));
        assert!(FileFilter::default().accepts("anything"));
        assert!(FileFilter::new(&["a[".into()], &[]).is_err());
    }

    #[test]
    fn interleave_takes_one_from_each_instance_in_turn() {
        let order = interleave(vec![
            vec!["a1", "a2", "a3"],
            vec!["b1"],
            vec![],
            vec!["c1", "c2"],
        ]);
        assert_eq!(order, ["a1", "b1", "c1", "a2", "c2", "a3"]);
    }

    #[test]
    fn tags_parse_as_key_value_pairs() {
        assert_eq!(
            parse_tags(" env=prod, team = a=b ").unwrap(),
            [
                ("env".to_string(), "prod".to_string()),
                ("team".to_string(), "a=b".to_string())
            ]
        );
        assert!(parse_tags("env").is_err());
        assert!(parse_tags("=x").is_err());
        assert!(parse_tags("a=1,a=2").is_err());
        // One tag (`rdslogs snapshot --tag`): the value may be empty.
        assert_eq!(parse_tag("k=").unwrap(), ("k".into(), String::new()));
        assert!(parse_tag("novalue").is_err());
    }

    #[test]
    fn retention_warning_uses_the_engine_default() {
        let hour = 3_600_000;
        assert!(!near_retention("mysql", 0, 18 * hour));
        assert!(near_retention("mysql", 0, 19 * hour));
        assert!(!near_retention("postgres", 0, 50 * hour));
        assert!(near_retention("aurora-postgresql", 0, 55 * hour));
        assert!(!near_retention("sqlserver-se", 0, 100 * hour));
    }
}
