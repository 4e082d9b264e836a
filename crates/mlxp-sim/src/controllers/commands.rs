//! The few commands the sim's containers carry out: a pod of `restartPolicy: Never` (a Job's,
//! a `kubectl run --restart=Never`) whose containers each run one of `echo …`, `true`,
//! `false`, `exit N` or `sleep N` — as the command, or as `sh -c "…"` of just that — ends
//! as it would: after its sleep or at once, with its exit code, and with what echo printed
//! in its log. Anything else runs until it is deleted (the sim runs no images).

use serde_json::Value;

/// How a known command ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub seconds: i64,
    pub exit_code: i64,
    /// What it printed (echo), a line at most.
    pub output: Option<String>,
}

/// How the pod's containers end together, when every one runs a known command and the pod
/// is not restarted: the longest run, the first non-zero exit code, the outputs in order.
pub fn of_pod(pod: &Value) -> Option<Run> {
    if pod["spec"]["restartPolicy"].as_str() != Some("Never") {
        return None;
    }
    let runs: Vec<Run> = pod["spec"]["containers"]
        .as_array()?
        .iter()
        .map(of_container)
        .collect::<Option<_>>()?;
    let output: Vec<String> = runs.iter().filter_map(|r| r.output.clone()).collect();
    Some(Run {
        seconds: runs.iter().map(|r| r.seconds).max()?,
        exit_code: runs
            .iter()
            .map(|r| r.exit_code)
            .find(|c| *c != 0)
            .unwrap_or(0),
        output: (!output.is_empty()).then(|| output.join("\n")),
    })
}

fn of_container(container: &Value) -> Option<Run> {
    let words = |key: &str| -> Vec<String> {
        container[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(String::from))
            .collect()
    };
    let mut argv = words("command");
    argv.extend(words("args"));
    if matches!(
        argv.first().map(|p| basename(p)),
        Some("sh" | "bash" | "ash")
    ) {
        if argv.get(1).map(String::as_str) != Some("-c") || argv.len() != 3 {
            return None;
        }
        let script = &argv[2];
        // One simple command only: no sequences, pipes, substitutions or quotes to follow.
        if script.contains([';', '&', '|', '$', '`', '<', '>', '"', '\'', '\n']) {
            return None;
        }
        argv = script.split_whitespace().map(String::from).collect();
    }
    let (program, rest) = argv.split_first()?;
    let done = |exit_code| {
        Some(Run {
            seconds: 0,
            exit_code,
            output: None,
        })
    };
    match basename(program) {
        "echo" => Some(Run {
            seconds: 0,
            exit_code: 0,
            output: Some(rest.join(" ")),
        }),
        "true" if rest.is_empty() => done(0),
        "false" if rest.is_empty() => done(1),
        "exit" => match rest {
            [] => done(0),
            [code] => done(code.parse::<i64>().ok()? & 0xff),
            _ => None,
        },
        "sleep" => match rest {
            [secs] => Some(Run {
                seconds: secs
                    .trim_end_matches('s')
                    .parse::<i64>()
                    .ok()
                    .filter(|s| *s >= 0)?,
                exit_code: 0,
                output: None,
            }),
            _ => None,
        },
        _ => None,
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: Value) -> Value {
        json!({"spec": {"restartPolicy": "Never", "containers": containers}})
    }

    #[test]
    fn the_known_commands_end_as_they_would() {
        let echo =
            pod(json!([{"name": "c", "image": "busybox", "command": ["echo", "hi", "there"]}]));
        assert_eq!(
            of_pod(&echo),
            Some(Run {
                seconds: 0,
                exit_code: 0,
                output: Some("hi there".into())
            })
        );
        let shell = pod(json!([{"name": "c", "command": ["/bin/sh", "-c", "exit 3"]}]));
        assert_eq!(of_pod(&shell).map(|r| r.exit_code), Some(3));
        let sleep = pod(json!([{"name": "c", "args": ["sleep", "30"]}]));
        assert_eq!(of_pod(&sleep).map(|r| r.seconds), Some(30));
        let two =
            pod(json!([{"name": "a", "command": ["true"]}, {"name": "b", "command": ["false"]}]));
        assert_eq!(of_pod(&two).map(|r| r.exit_code), Some(1));
    }

    #[test]
    fn anything_else_runs_until_deleted() {
        for containers in [
            json!([{"name": "c", "image": "nginx"}]),
            json!([{"name": "c", "command": ["python", "train.py"]}]),
            json!([{"name": "c", "command": ["sh", "-c", "echo hi; sleep 5"]}]),
            json!([{"name": "c", "command": ["sleep", "infinity"]}]),
            json!([{"name": "c", "command": ["echo", "hi"]}, {"name": "d", "image": "nginx"}]),
        ] {
            assert_eq!(of_pod(&pod(containers.clone())), None, "{containers}");
        }
        // Restarted pods (a Deployment's) never end.
        let mut always = pod(json!([{"name": "c", "command": ["true"]}]));
        always["spec"]["restartPolicy"] = json!("Always");
        assert_eq!(of_pod(&always), None);
    }
}
