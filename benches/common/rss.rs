//! Resident memory (this process's or another's) and CPU time, as the benches report them.

/// VmRSS in MiB (0 where /proc is not there).
pub fn rss_mib() -> f64 {
    rss_mib_of("self")
}

/// VmRSS in MiB of the process `pid` ("self" for this one).
#[allow(dead_code)]
pub fn rss_mib_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// User + system CPU seconds of this process.
#[allow(dead_code)]
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat, counted after the ")" that ends the command name.
    (ticks(11) + ticks(12)) / 100.0
}
