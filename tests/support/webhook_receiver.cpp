#include "tests/support/webhook_receiver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <thread>

namespace crier::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// The coroutines are members of impl, whose parameters their frames copy: a capturing lambda
// would leave its frame pointing at a closure gone when the constructor returns.
struct webhook_receiver::impl {
  webhook_receiver& owner;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  std::unique_ptr<asio::ssl::context> tls;
  std::thread thread;

  explicit impl(webhook_receiver& o) : owner(o) {}

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [rec, n] = co_await http::async_read(stream, buffer, req, nothrow);
      if (rec) co_return;
      request r{std::string(req.method_string()), std::string(req.target()), std::string(req[http::field::content_type]),
                std::string(req["X-Crier-Timestamp"]), std::string(req["X-Crier-Signature"]), req.body(),
                owner.status_.load()};
      http::response<http::string_body> res{static_cast<http::status>(r.answered), req.version()};
      res.keep_alive(req.keep_alive());
      res.body() = r.answered / 100 == 2 ? "ok" : "no";
      res.prepare_payload();
      {
        std::lock_guard lock(owner.mutex_);
        owner.requests_.push_back(std::move(r));
      }
      owner.changed_.notify_all();
      auto [wec, m] = co_await http::async_write(stream, res, nothrow);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  asio::awaitable<void> connection(tcp::socket socket) {
    if (!tls) {
      co_await serve(socket);
      co_return;
    }
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
    if (!hec) co_await serve(stream);
  }

  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(nothrow);
      if (ec) co_return;
      asio::co_spawn(ioc, connection(std::move(socket)), asio::detached);
    }
  }
};

webhook_receiver::webhook_receiver() : webhook_receiver({}, {}) {}

webhook_receiver::webhook_receiver(std::string const& cert_file, std::string const& key_file)
  : impl_(std::make_unique<impl>(*this)), tls_(!cert_file.empty()) {
  port_ = impl_->acceptor.local_endpoint().port();
  if (tls_) {
    impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(cert_file);
    impl_->tls->use_private_key_file(key_file, asio::ssl::context::pem);
  }
  asio::co_spawn(impl_->ioc, impl_->accept(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

webhook_receiver::~webhook_receiver() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::vector<webhook_receiver::request> webhook_receiver::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

namespace {
std::vector<boost::json::object> events_of(std::vector<webhook_receiver::request> const& requests, bool acknowledged) {
  std::vector<boost::json::object> out;
  for (auto const& r : requests) {
    if (acknowledged && r.answered / 100 != 2) continue;
    auto const body = boost::json::parse(r.body); // kept: the loop below reads into it
    for (auto const& e : body.as_object().at("events").as_array()) out.push_back(e.as_object());
  }
  return out;
}
} // namespace

std::vector<boost::json::object> webhook_receiver::events(bool acknowledged) const {
  return events_of(requests(), acknowledged);
}

bool webhook_receiver::wait_until(std::function<bool(std::vector<boost::json::object> const&)> const& done,
                                  std::chrono::milliseconds timeout, bool acknowledged) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return done(events_of(requests_, acknowledged)); });
}

std::string expected_signature(std::string const& secret, std::string const& timestamp, std::string const& body) {
  std::string const text = timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<unsigned char const*>(text.data()),
       text.size(), mac, &length);
  std::string out = "sha256=";
  char hex[3];
  for (unsigned i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

} // namespace crier::test
