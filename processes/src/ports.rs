//! Free loopback ports, picked where neither a dev server's own ports nor outgoing connections
//! can take them.

use std::net::TcpListener;

/// Replaces each 0 with a port that is free right now.
///
/// The picks come from *below* the kernel's ephemeral range on purpose. The dev server picks
/// its own internal ports (history, matching, worker) from that range by binding port 0 and
/// letting go, and every outgoing connection takes a port from it too. A port we picked there
/// could be handed to one of those before our server binds it, and worse, the server we start
/// could lose an internal port to another test's pick after it answered, and die mid-test.
/// The probe sockets stay open until all ports are picked, so two picks never collide here.
pub fn free_ports_where_zero<const N: usize>(ip: &str, ports: [u16; N]) -> anyhow::Result<[u16; N]> {
    let mut probes = Vec::with_capacity(N);
    let mut picked = ports;
    for port in picked.iter_mut().filter(|port| **port == 0) {
        let probe = bind_outside_ephemeral_range(ip)?;
        *port = probe.local_addr()?.port();
        probes.push(probe);
    }
    Ok(picked)
}

/// Ports from 10000 up to the start of the ephemeral range (32768 by default on Linux).
fn bind_outside_ephemeral_range(ip: &str) -> anyhow::Result<TcpListener> {
    use std::hash::{BuildHasher, RandomState};
    const LOWEST: u16 = 10_000;
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    if ephemeral_start <= LOWEST + 1_000 {
        // An unusual range: fall back to the OS's own pick.
        return Ok(TcpListener::bind((ip, 0))?);
    }
    let span = u64::from(ephemeral_start - LOWEST);
    // RandomState is seeded randomly per instance: enough to spread parallel tests apart.
    let seed = RandomState::new().hash_one(std::process::id());
    for attempt in 0..200u64 {
        let port = LOWEST + ((seed.wrapping_add(attempt.wrapping_mul(7_919))) % span) as u16;
        if let Ok(listener) = TcpListener::bind((ip, port)) {
            return Ok(listener);
        }
    }
    Ok(TcpListener::bind((ip, 0))?)
}
