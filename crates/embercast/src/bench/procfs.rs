//! What the bench reads from `/proc`: a server's CPU time and resident
//! memory, and this process's open-file limit. Parsers are pure functions of
//! the file's text, so they are tested on captured text.

use std::io;

/// Clock ticks per second of `/proc/<pid>/stat` times. Linux fixes USER_HZ at
/// 100 on every architecture we run on (sysconf would need `unsafe` libc).
pub const TICKS_PER_SECOND: u64 = 100;

/// One reading of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// utime + stime, in clock ticks, of every thread of the process.
    pub cpu_ticks: u64,
    /// VmRSS in kB.
    pub rss_kb: u64,
}

/// Reads `pid`'s CPU time and RSS now.
pub fn sample(pid: u32) -> io::Result<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let bad = |what| io::Error::new(io::ErrorKind::InvalidData, format!("/proc/{pid}/{what} unreadable"));
    Ok(Sample {
        cpu_ticks: cpu_ticks(&stat).ok_or_else(|| bad("stat"))?,
        rss_kb: rss_kb(&status).ok_or_else(|| bad("status"))?,
    })
}

/// utime + stime from the text of `/proc/<pid>/stat`. The command name (field
/// 2) is in parentheses and may itself hold spaces or parentheses, so fields
/// are counted from the last `)`: field 3 (state) comes right after it.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// VmRSS (kB) from the text of `/proc/<pid>/status`.
pub fn rss_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// The soft limit on open files from the text of `/proc/self/limits`
/// (`None` when it is "unlimited" or unreadable).
pub fn open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_ascii_whitespace().next()?.parse().ok()
}

/// This process's soft open-file limit, if it can be read.
pub fn own_open_files_limit() -> Option<u64> {
    open_files_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_utime_plus_stime_counted_after_the_command_name() {
        let stat = "4242 (embercast (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    731 269 0 0 20 0 3 0 98765 123456789 15000 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(1000));
        assert_eq!(cpu_ticks("4242 (truncated) S 1"), None);
    }

    #[test]
    fn rss_and_open_files() {
        let status = "Name:\tembercast\nVmPeak:\t  99999 kB\nVmRSS:\t   63116 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(rss_kb(status), Some(63116));
        assert_eq!(rss_kb("Name:\tx\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 20000                files     \n";
        assert_eq!(open_files_limit(limits), Some(1024));
        assert_eq!(open_files_limit(&limits.replace("1024 ", "unlimited")), None);
    }

    #[test]
    fn own_process_is_readable() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_kb > 0);
    }
}
