//! Unit tests of `config`.
use super::*;

fn raw(pairs: &[(&str, &str)]) -> RawSettings {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    RawSettings::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

#[test]
fn a_missing_setting_is_named_in_the_error() {
    let err = raw(&[(INSTANCES, "db-1")]).lister().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: RDSLOGS_STATE_TABLE: is not set"
    );
    let err = raw(&[]).worker().unwrap_err();
    assert!(err.to_string().contains("RDSLOGS_BUCKET"), "{err}");
}

#[test]
fn invalid_values_are_refused_with_the_variable_name() {
    let base = [(STATE_TABLE, "t"), (QUEUE_URL, "http://q")];
    let mut bad = base.to_vec();
    bad.push((INSTANCES, "db-1, not_valid"));
    assert!(
        raw(&bad)
            .lister()
            .unwrap_err()
            .to_string()
            .contains("RDSLOGS_INSTANCES")
    );
    let err = raw(&[(BUCKET, "b-1"), (STATE_TABLE, "t"), (PART_SIZE_MIB, "1")])
        .worker()
        .unwrap_err();
    assert!(err.to_string().contains("RDSLOGS_PART_SIZE_MIB"), "{err}");
    let err = raw(&[(BUCKET, "Bad_Bucket"), (STATE_TABLE, "t")])
        .worker()
        .unwrap_err();
    assert!(err.to_string().contains("RDSLOGS_BUCKET"), "{err}");
    let mut bad_url = vec![
        (INSTANCES, "db-1"),
        (STATE_TABLE, "t"),
        (QUEUE_URL, "queue"),
    ];
    bad_url.truncate(3);
    assert!(
        raw(&bad_url)
            .lister()
            .unwrap_err()
            .to_string()
            .contains("RDSLOGS_QUEUE_URL")
    );
}

#[test]
fn defaults_fill_the_optional_settings() {
    let cfg = raw(&[(BUCKET, "logs"), (STATE_TABLE, "t")])
        .worker()
        .unwrap();
    assert_eq!(cfg.prefix, "rds-logs");
    assert_eq!(cfg.layout, KeyLayout::default());
    assert_eq!(cfg.part_size, 8 * 1024 * 1024);
    let cfg = raw(&[
        (INSTANCES, " a-1 ,b-2,"),
        (STATE_TABLE, "t"),
        (QUEUE_URL, "https://q"),
    ])
    .lister()
    .unwrap();
    assert_eq!(cfg.selection.instances, ["a-1", "b-2"]);
    assert_eq!(cfg.rds_rate.get(), 10);
    assert_eq!(cfg.concurrency, 8);
    assert!(cfg.regions.is_empty());
}

#[test]
fn key_template_and_compression_are_checked() {
    let base = [(BUCKET, "logs"), (STATE_TABLE, "t")];
    let mut gz = base.to_vec();
    gz.extend([(COMPRESSION, "gzip"), (KEY_TEMPLATE, "{instance}/{file}")]);
    assert_eq!(
        raw(&gz).worker().unwrap().layout.compression(),
        Compression::Gzip
    );
    for (name, bad) in [(COMPRESSION, "lz4"), (KEY_TEMPLATE, "{prefix}/{file}")] {
        let mut settings = base.to_vec();
        settings.push((name, bad));
        let err = raw(&settings).worker().unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
    }
}

#[test]
fn the_instance_selection_combines_every_setting_and_needs_one() {
    let base = [(STATE_TABLE, "t"), (QUEUE_URL, "https://q")];
    let err = raw(&base).lister().unwrap_err().to_string();
    assert!(err.contains("no instance is selected"), "{err}");
    let mut all = base.to_vec();
    all.extend([
        (CLUSTERS, "orders"),
        (ENGINES, "postgres, aurora-postgresql"),
        (TAGS, "env=prod"),
        (ALL_INSTANCES, "TRUE"),
        (REGIONS, "eu-west-1,us-east-1"),
        (INCLUDE, "*.csv"),
        (EXCLUDE, "audit/*"),
    ]);
    let cfg = raw(&all).lister().unwrap();
    assert_eq!(cfg.selection.clusters, ["orders"]);
    assert_eq!(cfg.selection.engines, ["postgres", "aurora-postgresql"]);
    assert_eq!(cfg.selection.tags, [("env".into(), "prod".into())]);
    assert!(cfg.selection.all);
    assert_eq!(cfg.regions, ["eu-west-1", "us-east-1"]);
    assert!(cfg.file_filter.accepts("error/x.csv"));
    assert!(!cfg.file_filter.accepts("audit/x.csv"));
    for (name, bad) in [
        (ALL_INSTANCES, "maybe"),
        (TAGS, "env"),
        (REGIONS, "EU WEST"),
        (EXCLUDE, "a[b"),
        (CLUSTERS, "bad_cluster"),
        (RDS_RATE, "0"),
    ] {
        let mut settings = all.clone();
        settings.retain(|(k, _)| *k != name);
        settings.push((name, bad));
        let err = raw(&settings).lister().unwrap_err().to_string();
        assert!(err.contains(name), "{name}: {err}");
    }
}
