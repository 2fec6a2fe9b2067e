#pragma once
// A loopback TCP relay for fault injection: listens on 127.0.0.1 (a free port) and forwards every
// connection to 127.0.0.1:<target>, both ways, on its own thread. The test then breaks the link
// the way networks break, without touching either end:
//   pass       forward everything (the default)
//   pause      stop forwarding; what was sent is held and delivered on pass (a stalled link)
//   blackhole  read and discard everything both ways (a link whose packets vanish)
//   slow       hold each chunk for `delay` before forwarding it (a slow link)
// reset() closes every current connection with a TCP RST; new connections are accepted in any
// mode. Only 127.0.0.1 is ever used.

#include <chrono>
#include <cstdint>
#include <memory>

namespace crier::test {

class tcp_relay {
public:
  enum class mode { pass, pause, blackhole, slow };

  explicit tcp_relay(std::uint16_t target);
  ~tcp_relay();
  tcp_relay(tcp_relay const&) = delete;
  tcp_relay& operator=(tcp_relay const&) = delete;

  std::uint16_t port() const noexcept;
  void set(mode m, std::chrono::milliseconds delay = {});
  void reset();
  // Connections forwarded now.
  std::size_t connections() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace crier::test
