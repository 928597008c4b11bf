//! Where a log file goes in S3. Kept in one function so the layout can change
//! (date partitions, compression suffixes) without touching the pipeline.

/// `<prefix>/<instance>/<log file name>`; an empty prefix puts the instance first.
pub fn object_key(prefix: &str, instance: &str, file: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("{instance}/{file}")
    } else {
        format!("{prefix}/{instance}/{file}")
    }
}

#[cfg(test)]
mod tests {
    use super::object_key;

    #[test]
    fn keys_keep_the_file_path_under_prefix_and_instance() {
        assert_eq!(
            object_key("rds-logs/", "pg-1", "error/postgresql.log.2026-11-20-13"),
            "rds-logs/pg-1/error/postgresql.log.2026-11-20-13"
        );
        assert_eq!(object_key("", "pg-1", "a.log"), "pg-1/a.log");
        assert_eq!(object_key("/a/b/", "pg-1", "a.log"), "a/b/pg-1/a.log");
    }
}
