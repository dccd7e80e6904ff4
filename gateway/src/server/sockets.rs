//! Listening sockets, one per worker for each listener address.
//!
//! Each worker accepts on its own socket bound with `SO_REUSEPORT`, so the
//! kernel spreads new connections across workers and no two threads ever
//! contend for one accept queue (nginx's `reuseport`). `SO_REUSEPORT` would
//! also let a second gateway process silently share a fixed port; a plain probe
//! bind first makes an address that is already in use fail loudly instead.

use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// The accept queue length, as tokio and std use.
const BACKLOG: i32 = 1024;

/// Binds `count` non-blocking listening sockets on `address` (port 0: one
/// free port, the same for all).
pub(super) fn bind_for_workers(
    address: SocketAddr,
    count: usize,
) -> std::io::Result<Vec<TcpListener>> {
    if count == 1 {
        return Ok(vec![listen(address, false)?]);
    }
    if address.port() == 0 {
        // The first worker's socket takes a free port and holds it while
        // the others join: a probe dropped before they bind would leave a
        // window in which another process can take the port.
        let first = listen(address, true)?;
        let address = first.local_addr()?;
        return std::iter::once(Ok(first))
            .chain((1..count).map(|_| listen(address, true)))
            .collect();
    }
    // A fixed port: the probe makes one already in use fail loudly.
    drop(TcpListener::bind(address)?);
    (0..count).map(|_| listen(address, true)).collect()
}

fn listen(address: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_share_one_port() {
        let sockets = bind_for_workers("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let ports: Vec<u16> = sockets
            .iter()
            .map(|s| s.local_addr().unwrap().port())
            .collect();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|&p| p == ports[0] && p != 0));
    }

    #[test]
    fn an_address_in_use_is_refused_even_for_reuse_port() {
        let held = bind_for_workers("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let taken = held[0].local_addr().unwrap();
        let error = bind_for_workers(taken, 2).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
        assert_eq!(
            bind_for_workers(taken, 1).unwrap_err().kind(),
            std::io::ErrorKind::AddrInUse
        );
    }
}
