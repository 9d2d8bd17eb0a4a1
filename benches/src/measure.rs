//! Running a command and measuring it: wall time, CPU time (getrusage of
//! the waited-for child) and peak RSS (the child's VmHWM, sampled while it
//! runs: getrusage's max RSS would count the pages a forked child shares
//! with this process before exec, and this process holds the whole farm).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

/// What one run cost.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Wall-clock time.
    pub wall: Duration,
    /// User + system CPU time.
    pub cpu: Duration,
    /// Peak resident set, bytes.
    pub peak_rss: u64,
}

fn children_cpu() -> anyhow::Result<Duration> {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, (t.tv_usec() as u32) * 1000);
    Ok(tv(usage.user_time()) + tv(usage.system_time()))
}

/// The high-water mark of a process's resident set, in bytes.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Run `program args` in `cwd` with `env`, optionally pinned to CPUs with
/// taskset, and measure it. Fails if it exits non-zero.
pub async fn run(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    env: &[(&str, String)],
    cpus: Option<&str>,
) -> anyhow::Result<(Cost, String)> {
    run_with(program, args, cwd, env, cpus, None).await
}

/// [`run`], with the command's standard output written to `stdout` (then
/// the returned text is empty): for output too large to hold.
pub async fn run_to(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    env: &[(&str, String)],
    stdout: std::fs::File,
) -> anyhow::Result<Cost> {
    Ok(run_with(program, args, cwd, env, None, Some(stdout)).await?.0)
}

async fn run_with(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    env: &[(&str, String)],
    cpus: Option<&str>,
    stdout: Option<std::fs::File>,
) -> anyhow::Result<(Cost, String)> {
    let cpu_before = children_cpu()?;
    let mut cmd = match cpus {
        Some(list) => {
            let mut c = tokio::process::Command::new("taskset");
            c.arg("-c").arg(list).arg(program);
            c
        }
        None => tokio::process::Command::new(program),
    };
    let out_to = match stdout {
        Some(file) => Stdio::from(file),
        None => Stdio::piped(),
    };
    cmd.args(args).current_dir(cwd).stdout(out_to).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let output = child.wait_with_output();
    tokio::pin!(output);
    // VmHWM only grows, so the last sample before exit is the peak, short
    // of whatever the last few milliseconds added.
    let mut peak_rss = 0;
    let out = loop {
        tokio::select! {
            out = &mut output => break out?,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                if let Some(hwm) = vm_hwm(pid) {
                    peak_rss = peak_rss.max(hwm);
                }
            }
        }
    };
    let wall = started.elapsed();
    let cpu_after = children_cpu()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        anyhow::bail!(
            "{} exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((Cost { wall, cpu: cpu_after.saturating_sub(cpu_before), peak_rss }, stdout))
}
