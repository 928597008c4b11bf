//! Unit tests of `fleet`.
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
