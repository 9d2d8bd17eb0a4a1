//! The address guard: which addresses outbound requests may reach.
//!
//! By default newswire refuses loopback, private, link-local (which covers
//! the 169.254.169.254 cloud metadata address), CGNAT, multicast,
//! unspecified, documentation and reserved ranges, in IPv4 and IPv6, and
//! looks through IPv4-mapped, NAT64 and 6to4 IPv6 forms to the IPv4 address
//! inside. The check runs on the resolved addresses, inside the resolver the
//! HTTP client connects with, so the address checked is the address used
//! (a DNS answer that changes between check and connect cannot slip
//! through), and on IP literals in every URL, including each redirect hop.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether a connection to `ip` is allowed without `allow_private`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..=127).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || ip.is_multicast()
        || a >= 240; // reserved and broadcast
    !blocked
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x2001 && seg[1] == 0) // Teredo: hides an IPv4 peer
        || seg[0] == 0x0100 && seg[1] == 0 && seg[2] == 0 && seg[3] == 0; // discard-only
    !blocked
}

/// The IPv4 address an IPv6 address stands for, in the forms that reach an
/// IPv4 host: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d),
/// NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    let low = || Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
    if seg[..5].iter().all(|&s| s == 0) && seg[5] == 0xffff {
        return Some(low());
    }
    if seg[..6].iter().all(|&s| s == 0) && !(seg[6] == 0 && seg[7] <= 1) {
        return Some(low());
    }
    if seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2..6].iter().all(|&s| s == 0) {
        return Some(low());
    }
    if seg[0] == 0x2002 {
        return Some(Ipv4Addr::new((seg[1] >> 8) as u8, seg[1] as u8, (seg[2] >> 8) as u8, seg[2] as u8));
    }
    None
}

/// Networks reachable despite being private: `[pipeline] allowed_networks`.
#[derive(Debug, Clone, Default)]
pub struct AllowedNetworks(Vec<(IpAddr, u8)>);

impl AllowedNetworks {
    /// From (address, prefix length) pairs.
    pub fn new(networks: Vec<(IpAddr, u8)>) -> Self {
        AllowedNetworks(networks)
    }

    /// Whether `ip` lies in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|&(net, prefix)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }

    /// Whether a connection to `ip` is allowed without `allow_private`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.contains(ip)
    }
}

/// A resolver that drops non-public addresses unless allowed, and answers
/// from a fixed table first (so tests can point public-looking names at
/// 127.0.0.1 and watch the guard refuse them).
#[derive(Clone)]
pub struct GuardedResolver {
    allow_private: bool,
    allowed: Arc<AllowedNetworks>,
    overrides: Arc<HashMap<String, Vec<SocketAddr>>>,
}

impl GuardedResolver {
    /// A resolver; `overrides` maps lowercase host names to addresses.
    pub fn new(
        allow_private: bool,
        allowed: Arc<AllowedNetworks>,
        overrides: Arc<HashMap<String, Vec<SocketAddr>>>,
    ) -> Self {
        GuardedResolver { allow_private, allowed, overrides }
    }
}

/// The error a resolver returns when every address of a name is refused.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to non-public addresses ({addrs}); set allow_private = true to allow them")]
pub struct ForbiddenAddress {
    /// The name resolved.
    pub host: String,
    /// The addresses refused.
    pub addrs: String,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let allow_private = self.allow_private;
        let allowed = Arc::clone(&self.allowed);
        let fixed = self.overrides.get(&host).cloned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match fixed {
                Some(addrs) => addrs,
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let allowed: Vec<SocketAddr> =
                addrs.iter().copied().filter(|a| allow_private || allowed.permits(a.ip())).collect();
            if allowed.is_empty() && !addrs.is_empty() {
                let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(ForbiddenAddress { host, addrs: list.join(", ") }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().expect("test address parses"))
    }

    #[test]
    fn refuses_private_and_special_ranges() {
        for addr in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(!public(addr), "{addr} must be refused");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for addr in
            ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
        {
            assert!(public(addr), "{addr} must be allowed");
        }
    }

    #[test]
    fn allowed_networks_match_by_prefix() {
        let nets = AllowedNetworks::new(vec![
            ("10.1.0.0".parse().expect("ip"), 16),
            ("127.0.0.1".parse().expect("ip"), 32),
            ("fd00::".parse().expect("ip"), 8),
        ]);
        assert!(nets.permits("10.1.200.3".parse().expect("ip")));
        assert!(!nets.permits("10.2.0.1".parse().expect("ip")));
        assert!(nets.permits("127.0.0.1".parse().expect("ip")));
        assert!(!nets.permits("127.0.0.2".parse().expect("ip")));
        assert!(nets.permits("fd12::1".parse().expect("ip")));
        assert!(!nets.permits("169.254.169.254".parse().expect("ip")));
        assert!(nets.permits("8.8.8.8".parse().expect("ip")), "public stays allowed");
    }

    #[tokio::test]
    async fn resolver_refuses_names_pointing_at_private_addresses() {
        let table: HashMap<String, Vec<SocketAddr>> = [
            ("evil.example".to_string(), vec!["127.0.0.1:0".parse().expect("addr")]),
            (
                "mixed.example".to_string(),
                vec!["10.0.0.1:0".parse().expect("addr"), "8.8.8.8:0".parse().expect("addr")],
            ),
        ]
        .into_iter()
        .collect();
        let table = Arc::new(table);
        let none = Arc::new(AllowedNetworks::default());
        let strict = GuardedResolver::new(false, none.clone(), table.clone());
        let err = match strict.resolve("evil.example".parse().expect("name")).await {
            Ok(_) => panic!("a private-only name must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("evil.example resolves only to non-public addresses (127.0.0.1)"), "{err}");
        let mixed: Vec<SocketAddr> =
            strict.resolve("mixed.example".parse().expect("name")).await.expect("ok").collect();
        assert_eq!(mixed, vec!["8.8.8.8:0".parse::<SocketAddr>().expect("addr")]);
        let open = GuardedResolver::new(true, none, table.clone());
        let local: Vec<SocketAddr> = open.resolve("evil.example".parse().expect("name")).await.expect("ok").collect();
        assert_eq!(local.len(), 1);
        let some = Arc::new(AllowedNetworks::new(vec![("127.0.0.0".parse().expect("ip"), 8)]));
        let open = GuardedResolver::new(false, some, table);
        let local: Vec<SocketAddr> = open.resolve("evil.example".parse().expect("name")).await.expect("ok").collect();
        assert_eq!(local.len(), 1);
    }
}
