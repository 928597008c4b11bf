//! `--help` puts what a command does first and where it runs after, under
//! its own heading; `--instances` (the lister's scope) only appears where
//! the fleet is listed, never beside a command's `--instance`.

use std::process::Command;

const DEPLOYMENT: &str = "Deployment settings (flags override --stack, which overrides RDSLOGS_*):";

/// The flags under each heading of `rdslogs <args> --help`, in order.
fn sections(args: &[&str]) -> Vec<(String, Vec<String>)> {
    let out = Command::new(env!("CARGO_BIN_EXE_rdslogs"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run rdslogs");
    assert!(out.status.success());
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            sections.push((line.to_owned(), Vec::new()));
        } else if let (Some((_, flags)), Some(flag)) = (
            sections.last_mut(),
            line.split_whitespace().find(|w| w.starts_with("--")),
        ) {
            flags.push(flag.trim_end_matches(',').to_owned());
        }
    }
    sections
}

fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_commands_own_options_come_first_then_the_deployment_settings() {
    let status = sections(&["status"]);
    let headings: Vec<&str> = status.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(headings, ["Options:", DEPLOYMENT]);
    assert_eq!(
        status[0].1,
        flags(&["--instance", "--file", "--json", "--help"])
    );
    assert_eq!(
        status[1].1,
        flags(&[
            "--stack",
            "--bucket",
            "--prefix",
            "--state-table",
            "--queue-url",
            "--dlq-url"
        ])
    );
    for command in [
        &["backfill"][..],
        &["dlq", "list"],
        &["work"],
        &["snapshot"],
    ] {
        let all: Vec<String> = sections(command).into_iter().flat_map(|(_, f)| f).collect();
        assert!(!all.contains(&"--instances".to_owned()), "{command:?}");
    }
    let listing = sections(&["list-once"]);
    assert_eq!(listing.last().unwrap().0, DEPLOYMENT);
    assert!(
        listing
            .last()
            .unwrap()
            .1
            .contains(&"--instances".to_owned())
    );
    assert!(!listing[0].1.contains(&"--instances".to_owned()));
}
