#include "tests/support/tcp_relay.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <future>
#include <set>
#include <thread>

namespace crier::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct tcp_relay::impl : std::enable_shared_from_this<impl> {
  struct link {
    tcp::socket down, up;
    explicit link(asio::io_context& ioc) : down(ioc), up(ioc) {}
  };

  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  std::uint16_t target;
  std::atomic<mode> current{mode::pass};
  std::atomic<std::int64_t> delay_ms{0};
  std::set<std::shared_ptr<link>> links; // on the relay's thread only
  std::atomic<std::size_t> count{0};
  std::thread thread;

  explicit impl(std::uint16_t t) : target(t) {}

  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto l = std::make_shared<link>(ioc);
      co_await acceptor.async_accept(l->down, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      co_await l->up.async_connect({asio::ip::make_address("127.0.0.1"), target},
                                   asio::redirect_error(asio::use_awaitable, ec));
      if (ec) continue; // the target is down: the client sees its connection closed
      links.insert(l);
      count = links.size();
      asio::co_spawn(ioc, pump(l, l->down, l->up), asio::detached);
      asio::co_spawn(ioc, pump(l, l->up, l->down), asio::detached);
    }
  }

  asio::awaitable<void> pump(std::shared_ptr<link> l, tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buf{};
    asio::steady_timer timer(ioc);
    boost::system::error_code ec;
    for (;;) {
      // Paused: read nothing, so that the data waits in the kernel's buffers (polling the mode).
      while (current.load() == mode::pause) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!from.is_open()) break;
      }
      auto const n = co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      auto const m = current.load();
      if (m == mode::blackhole) continue;
      if (m == mode::slow) {
        timer.expires_after(std::chrono::milliseconds(delay_ms.load()));
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      while (current.load() == mode::pause) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    close(l, false);
  }

  void close(std::shared_ptr<link> const& l, bool rst) {
    boost::system::error_code ec;
    for (auto* s : {&l->down, &l->up}) {
      if (!s->is_open()) continue;
      if (rst) s->set_option(asio::socket_base::linger(true, 0), ec); // close() then sends RST
      s->close(ec);
    }
    links.erase(l);
    count = links.size();
  }
};

tcp_relay::tcp_relay(std::uint16_t target) : impl_(std::make_shared<impl>(target)) {
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([i = impl_.get()] { i->ioc.run(); });
}

tcp_relay::~tcp_relay() {
  // Whatever is suspended (the pumps, the accept loop) is destroyed with the io_context.
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t tcp_relay::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }

void tcp_relay::set(mode m, std::chrono::milliseconds delay) {
  impl_->delay_ms = delay.count();
  impl_->current = m;
}

void tcp_relay::reset() {
  std::promise<void> done;
  asio::post(impl_->ioc, [i = impl_.get(), &done] {
    for (auto const& l : std::set(i->links)) i->close(l, true);
    done.set_value();
  });
  done.get_future().wait();
}

std::size_t tcp_relay::connections() const { return impl_->count.load(); }

} // namespace crier::test
