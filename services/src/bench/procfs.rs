//! What a process has cost so far, read from Linux's /proc: CPU seconds (user + system) and
//! resident memory (now, and the peak).

use anyhow::Context;

/// CPU seconds `pid` has used so far (user + system), its children not included.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: count the fields after its ')'.
    let after_name = stat.rsplit_once(')').context("an unexpected /proc/<pid>/stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Resident memory of `pid` in MiB: `(now, peak)` (VmRSS, VmHWM).
pub fn rss_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status.lines().find(|line| line.starts_with(name)).with_context(|| format!("no {name}"))?;
        let kib: f64 = line.split_whitespace().nth(1).context("no value")?.parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The whole machine's CPU seconds so far, from /proc/stat: `(busy, all)`, summed over every
/// core. Busy is everything but idle and I/O wait; between two readings it says how much of the
/// machine was in use, whoever used it.
pub fn machine_cpu_seconds() -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat.lines().find(|line| line.starts_with("cpu ")).context("no cpu line in /proc/stat")?;
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice).
    let ticks: Vec<u64> = line.split_whitespace().skip(1).take(8).map(str::parse).collect::<Result<_, _>>()?;
    anyhow::ensure!(ticks.len() == 8, "an unexpected /proc/stat cpu line: {line}");
    let all: u64 = ticks.iter().sum();
    let idle = ticks[3] + ticks[4];
    let per_second = clock_ticks_per_second();
    Ok(((all - idle) as f64 / per_second, all as f64 / per_second))
}

/// CPUs this machine has.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu_and_memory() {
        let pid = std::process::id();
        let before = cpu_seconds(pid).unwrap();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i) * i);
        }
        assert!(x > 0);
        assert!(cpu_seconds(pid).unwrap() > before);
        let (now, peak) = rss_mib(pid).unwrap();
        assert!(now > 1.0 && peak >= now, "{now} {peak}");
        let (busy, all) = machine_cpu_seconds().unwrap();
        assert!(busy > 0.0 && all > busy, "{busy} {all}");
    }
}
