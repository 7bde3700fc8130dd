//! CPU time and memory (current and peak) of the cluster's processes, from `/proc`
//! (Linux).

use std::time::Duration;

/// The unit of `/proc/PID/stat`'s CPU times: fixed at 100 per second by Linux's ABI
/// (`USER_HZ`), whatever the kernel's internal tick.
const USER_HZ: u64 = 100;

/// One process's resource use so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time of all its threads, user and system (`/proc/PID/stat`).
    pub cpu: Duration,
    /// Resident memory now, bytes (`VmRSS` in `/proc/PID/status`).
    pub rss_bytes: u64,
    /// Peak resident memory, bytes (`VmHWM` in `/proc/PID/status`).
    pub peak_rss_bytes: u64,
}

/// The resource use of process `pid`, or `None` where `/proc` cannot tell (another OS,
/// the process gone).
pub fn of(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse(&stat, &status)
}

/// The resource use that a process's `/proc/PID/stat` and `/proc/PID/status` texts
/// describe, or `None` if a field is missing.
pub fn parse(stat: &str, status: &str) -> Option<Usage> {
    // Fields after the command name (which may hold spaces): state is the first, utime
    // the 12th and stime the 13th (fields 14 and 15 of proc(5)).
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Usage {
        cpu: Duration::from_millis(ticks * 1000 / USER_HZ),
        rss_bytes: status_kib(status, "VmRSS:")? * 1024,
        peak_rss_bytes: status_kib(status, "VmHWM:")? * 1024,
    })
}

/// A `kB` field of `/proc/PID/status`, such as `VmRSS:` (the prefix includes the colon).
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn reads_this_process() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(spin.elapsed());
        }
        let usage = super::of(std::process::id()).expect("/proc on Linux");
        assert!(usage.rss_bytes > 0);
        assert!(usage.peak_rss_bytes >= usage.rss_bytes, "{usage:?}");
        assert!(usage.cpu >= Duration::from_millis(30), "{usage:?}");
    }

    #[test]
    fn parses_cpu_rss_and_peak() {
        // A command name with a space and a parenthesis, as proc(5) allows.
        let stat = "4242 (sluice (x)) S 1 4242 4242 0 -1 4194560 2000 0 0 0 250 50 0 0 \
                    20 0 12 0 100 1000000 500 18446744073709551615";
        let status = "Name:\tsluice\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\n\
                      VmRSS:\t  102400 kB\nThreads:\t12\n";
        let usage = super::parse(stat, status).expect("complete fields");
        assert_eq!(usage.cpu, Duration::from_secs(3));
        assert_eq!(usage.rss_bytes, 100 * 1024 * 1024);
        assert_eq!(usage.peak_rss_bytes, 200 * 1024 * 1024);
        assert_eq!(super::parse(stat, "VmHWM:\t1 kB\n"), None);
        assert_eq!(super::parse("4242 (sluice) S 1", status), None);
    }
}
