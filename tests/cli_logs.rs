//! `mlxp logs` against the embedded cluster: a Job's pods merged, each line after its pod
//! (as stern prints them), `--timestamps` as the server recorded them, and an unknown
//! target one line on stderr with exit code 1.

mod common;

use common::ops::{platform, text};

#[tokio::test]
async fn logs_of_a_job_print_each_line_after_its_pod() {
    let p = platform().await;
    let out = p
        .mlxp(&["logs", "job/train-fraud-detector-r12", "-n", "training"])
        .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.len() >= 2
            && lines
                .iter()
                .all(|l| l.starts_with("train-fraud-detector-r12-")),
        "{stdout}"
    );
    assert!(
        lines.iter().any(|l| l.contains(" starting training on ")),
        "{stdout}"
    );

    let out = p
        .mlxp(&[
            "logs",
            "job/train-fraud-detector-r12",
            "-n",
            "training",
            "--timestamps",
        ])
        .await;
    let first = text(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let time = first.split(' ').next().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok(),
        "a time first: {first}"
    );

    let out = p.mlxp(&["logs", "job/no-such-job", "-n", "training"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-job"), "{stderr}");
}
