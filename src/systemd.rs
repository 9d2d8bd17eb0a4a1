//! systemd notifications (`Type=notify`): READY=1 once the daemon polls,
//! STOPPING=1 when it drains, and WATCHDOG=1 every half watchdog period
//! while the scheduler loop runs. Without `$NOTIFY_SOCKET` (not under
//! systemd) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Send one notification; errors are ignored (systemd may be gone).
pub fn notify(state: &str) {
    if let Some(socket) = std::env::var_os("NOTIFY_SOCKET") {
        notify_socket(&socket, state);
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
