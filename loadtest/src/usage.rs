//! CPU time and peak memory of the cluster's processes, from `/proc` (Linux).

use std::time::Duration;

/// The unit of `/proc/PID/stat`'s CPU times: fixed at 100 per second by Linux's ABI
/// (`USER_HZ`), whatever the kernel's internal tick.
const USER_HZ: u64 = 100;

/// One process's resource use so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time of all its threads, user and system (`/proc/PID/stat`).
    pub cpu: Duration,
    /// Peak resident memory, bytes (`VmHWM` in `/proc/PID/status`).
    pub peak_rss_bytes: u64,
}

/// The resource use of process `pid`, or `None` where `/proc` cannot tell (another OS,
/// the process gone).
pub fn of(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the first, utime
    // the 12th and stime the 13th (fields 14 and 15 of proc(5)).
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Usage {
        cpu: Duration::from_millis(ticks * 1000 / USER_HZ),
        peak_rss_bytes: hwm_kib * 1024,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            std::hint::black_box(spin.elapsed());
        }
        let usage = super::of(std::process::id()).expect("/proc on Linux");
        assert!(usage.peak_rss_bytes > 0);
        assert!(
            usage.cpu >= std::time::Duration::from_millis(30),
            "{usage:?}"
        );
    }
}
