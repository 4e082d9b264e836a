//! `mlxp logs TARGET [-f]`: a pod's log, or every pod of a Job or a Deployment merged, each
//! line after its pod's name as stern prints them; `-f` follows, new pods included.

use std::io::Write;
use std::time::Duration;

use crate::cluster::{LogEvent, LogOptions, follow_logs, snapshot_once};
use mlxp_core::logs::{LogTarget, find_target};

const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// pod/NAME, job/NAME, deploy/NAME, or a bare name (a pod, else a Job, else a
    /// Deployment).
    target: String,
    /// Follow: print lines as they come, and the logs of pods that start later.
    #[arg(short, long)]
    follow: bool,
    /// The container (default: the pod's first).
    #[arg(short, long)]
    container: Option<String>,
    /// The previous container's log (after a restart).
    #[arg(short, long)]
    previous: bool,
    /// Each line's time, as the server records it.
    #[arg(long)]
    timestamps: bool,
}

/// Prints the log; the exit code (1 when the target is not found or a pod's log failed).
pub async fn logs(
    client: kube::Client,
    namespace: Option<&str>,
    args: LogsArgs,
) -> anyhow::Result<i32> {
    let snapshot = snapshot_once(client.clone(), SYNC_TIMEOUT).await?;
    let target = match find_target(&snapshot, &args.target, namespace) {
        Ok(target) => target,
        Err(why) => {
            eprintln!("mlxp: {why}");
            return Ok(1);
        }
    };
    let prefixed = !matches!(target, LogTarget::Pod { .. });
    let selector = target.selector(&snapshot);
    let options = LogOptions {
        follow: args.follow,
        container: args.container,
        previous: args.previous,
    };
    let mut events = follow_logs(client, target, selector, options);
    let mut failed = false;
    let mut stdout = std::io::stdout().lock();
    while let Some(event) = events.recv().await {
        let written = match event {
            LogEvent::Line(line) => {
                let mut text = String::new();
                if args.timestamps
                    && let Some(time) = &line.time
                {
                    text.push_str(time);
                    text.push(' ');
                }
                if prefixed {
                    text.push_str(&line.pod);
                    text.push(' ');
                }
                text.push_str(&line.text);
                text.push('\n');
                stdout.write_all(text.as_bytes())
            }
            LogEvent::Ended {
                pod,
                error: Some(error),
            } => {
                failed = true;
                eprintln!("mlxp: the log of {pod}: {error}");
                Ok(())
            }
            LogEvent::Note(note) => {
                eprintln!("mlxp: {note}");
                Ok(())
            }
            LogEvent::Reconnecting { pod, cause } => {
                eprintln!("mlxp: the log of {pod} was cut ({cause}); reconnecting");
                Ok(())
            }
            LogEvent::Started(_) | LogEvent::Ended { .. } => Ok(()),
            LogEvent::Done => break,
        };
        // A reader that has gone (`| head`) ends it quietly.
        if written.and_then(|()| stdout.flush()).is_err() {
            return Ok(0);
        }
    }
    Ok(i32::from(failed))
}
