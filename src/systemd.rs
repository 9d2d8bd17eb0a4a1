//! systemd notifications (`Type=notify-reload`): READY=1 once the daemon
//! polls, RELOADING=1 with MONOTONIC_USEC when a SIGHUP reload starts and
//! READY=1 again when it is done ([`reloading`]), STOPPING=1 when it drains,
//! and WATCHDOG=1 every half watchdog period while the scheduler loop runs.
//! Without `$NOTIFY_SOCKET` (not under systemd) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Send one notification; errors are ignored (systemd may be gone).
pub fn notify(state: &str) {
    if let Some(socket) = std::env::var_os("NOTIFY_SOCKET") {
        notify_socket(&socket, state);
    }
}

/// A reload in progress: RELOADING=1 was sent when it was made, READY=1 is
/// sent when it is dropped (the reload done, applied or rejected), as
/// `Type=notify-reload` wants: systemd then knows when `systemctl reload`
/// has finished.
#[must_use = "the reload ends (READY=1) when this is dropped"]
pub struct Reloading {
    socket: Option<std::ffi::OsString>,
}

/// Say a reload starts; hold the answer until it is done.
pub fn reloading() -> Reloading {
    reloading_on(std::env::var_os("NOTIFY_SOCKET"))
}

fn reloading_on(socket: Option<std::ffi::OsString>) -> Reloading {
    if let Some(socket) = &socket {
        // systemd asks for the time the reload started on CLOCK_MONOTONIC,
        // to tell this reload's READY=1 from an earlier one's.
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let usec = u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000;
        notify_socket(socket, &format!("RELOADING=1\nMONOTONIC_USEC={usec}"));
    }
    Reloading { socket }
}

impl Drop for Reloading {
    fn drop(&mut self) {
        if let Some(socket) = &self.socket {
            notify_socket(socket, "READY=1");
        }
    }
}

/// Send `state` to the notification socket `socket` (a path, or `@name`
/// for an abstract socket).
fn notify_socket(socket: &std::ffi::OsStr, state: &str) {
    let Ok(sender) = UnixDatagram::unbound() else { return };
    let socket = socket.to_string_lossy().into_owned();
    if let Some(name) = socket.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        if let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()) {
            let _ = sender.send_to_addr(state.as_bytes(), &addr);
        }
    } else {
        let _ = sender.send_to(state.as_bytes(), socket);
    }
}

/// How often to send WATCHDOG=1, when systemd asked for it.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    // A watchdog meant for another process (after an exec) is not ours.
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_the_state_to_the_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let receiver = UnixDatagram::bind(&path).expect("bind");
        notify_socket(path.as_os_str(), "READY=1");
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).expect("a datagram arrives");
        assert_eq!(&buf[..n], b"READY=1");
    }

    #[test]
    fn a_reload_says_reloading_with_the_monotonic_time_then_ready() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let receiver = UnixDatagram::bind(&path).expect("bind");
        let usec = || {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
            t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1_000
        };
        let before = usec();
        let reload = reloading_on(Some(path.clone().into_os_string()));
        let after = usec();
        let mut buf = [0u8; 128];
        let n = receiver.recv(&mut buf).expect("RELOADING=1 arrives");
        let text = std::str::from_utf8(&buf[..n]).expect("text");
        let stamp = text.strip_prefix("RELOADING=1\nMONOTONIC_USEC=").unwrap_or_else(|| panic!("{text:?}"));
        let stamp: u64 = stamp.parse().expect("a number");
        assert!((before..=after).contains(&stamp), "{before} <= {stamp} <= {after}");

        receiver.set_nonblocking(true).expect("nonblocking");
        assert!(receiver.recv(&mut buf).is_err(), "READY=1 only once the reload is done");
        drop(reload);
        receiver.set_nonblocking(false).expect("blocking");
        let n = receiver.recv(&mut buf).expect("READY=1 arrives");
        assert_eq!(&buf[..n], b"READY=1");

        // Not under systemd: nothing to send, nothing fails.
        drop(reloading_on(None));
    }

    #[test]
    fn sends_to_abstract_sockets() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("newswire-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let receiver = UnixDatagram::bind_addr(&addr).expect("bind");
        notify_socket(std::ffi::OsStr::new(&format!("@{name}")), "STOPPING=1");
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).expect("a datagram arrives");
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
