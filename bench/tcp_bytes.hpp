#pragma once
// What a server sent on the wire: the TCP bytes of every connection whose local port is the
// server's, asked of the kernel (sock_diag, as `ss -ti` does).
//
// Scenario (v) compares bytes per delivery with and without compression, for crier and for Node
// ws. /proc/PID/io's wchar cannot say it: it counts write() and writev(), which Node uses, but
// not sendmsg(), which Asio uses, so for crier it stays near zero whatever it sends. tcp_info's
// tcpi_bytes_sent counts what TCP sent, from whatever system call: WebSocket frames with their
// headers, compressed or not, above TCP and IP (retransmissions included; on loopback there are
// none). The server's side of a connection is the socket whose local port is the one it listens
// on; crier-bench's own sockets have that port as their remote port, so they do not count.

#include <cstdint>
#include <optional>
#include <vector>

namespace crier::bench {

// Also the data segments: bytes per segment show how much the server wrote at once (with
// TCP_NODELAY on loopback, about one segment per write of up to 64 KiB), which is most of what a
// delivery costs it.
struct tcp_sent {
  std::uint64_t bytes = 0;    // tcpi_bytes_sent
  std::uint64_t segments = 0; // tcpi_data_segs_out (a 32-bit counter per socket, summed)
};

// tcp_info summed over every TCP socket (any state) of the address family (AF_INET or AF_INET6)
// whose local port is one of `ports`. nullopt when the kernel does not answer (no sock_diag) or
// gives a tcp_info too old to have the fields.
std::optional<tcp_sent> tcp_sent_from_ports(std::vector<std::uint16_t> const& ports, int family);

} // namespace crier::bench
