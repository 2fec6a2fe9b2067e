#include "server/events/webhook_sender.hpp"

#include "common/identity.hpp"
#include "common/protocol.hpp"
#include "server/events/webhook_signature.hpp"
#include "server/logging.hpp"
#include "server/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <random>

namespace crier {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

std::chrono::milliseconds webhook_retry_delay(std::chrono::milliseconds base, unsigned attempt, double jitter) {
  auto const cap = std::max(base, std::min<std::chrono::milliseconds>(base * 64, 1min));
  auto delay = base;
  for (unsigned i = 0; i < attempt && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  auto const half = delay / 2;
  return half + std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>((delay - half).count()) *
                                                                    std::clamp(jitter, 0.0, 1.0)));
}

namespace {

asio::ssl::context client_tls_context() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  ctx.set_default_verify_paths(); // the system's roots, or SSL_CERT_FILE / SSL_CERT_DIR
  ctx.set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

double jitter() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

} // namespace

std::shared_ptr<webhook_sender> webhook_sender::create(asio::io_context& ioc, settings s, webhook_queue& queue,
                                                       metrics& m) {
  return std::shared_ptr<webhook_sender>(new webhook_sender(ioc, std::move(s), queue, m));
}

webhook_sender::webhook_sender(asio::io_context& ioc, settings s, webhook_queue& queue, metrics& m)
  : settings_(std::move(s)),
    queue_(queue),
    metrics_(m),
    boot_(random_hex(16)),
    strand_(asio::make_strand(ioc)),
    tls_context_(client_tls_context()),
    resolver_(strand_),
    wake_(strand_),
    backoff_(strand_),
    done_(strand_) {}

void webhook_sender::start() {
  // The wake-up only posts: it runs under the queue's lock, often under a room's too.
  queue_.set_wake([weak = weak_from_this()] {
    if (auto self = weak.lock()) asio::post(self->strand_, [self] { self->wake_.cancel(); });
  });
  running_ = true;
  log_info("webhooks: sending room events", {{"host", settings_.url.host_header},
                                              {"tls", settings_.url.tls ? "on" : "off"},
                                              {"batch_size", settings_.batch_size},
                                              {"queue", queue_.capacity()}});
  asio::co_spawn(strand_, run(), [self = shared_from_this()](std::exception_ptr e) {
    self->running_ = false;
    self->done_.cancel();
    log_exception("webhook sender", "", e);
  });
}

asio::awaitable<void> webhook_sender::run() {
  unsigned attempt = 0;
  while (!give_up_) {
    if (queue_.size() == 0) {
      if (stopping_) break;
      if (queue_.arm(1)) {
        wake_.expires_at(clock::time_point::max());
        co_await wake_.async_wait(nothrow);
      }
      continue;
    }
    // Let a batch gather, unless it is full already, this is a retry, or shutdown is on.
    if (!stopping_ && attempt == 0 && settings_.batch_delay.count() > 0 && queue_.arm(settings_.batch_size)) {
      wake_.expires_after(settings_.batch_delay);
      co_await wake_.async_wait(nothrow);
      queue_.disarm();
    }
    auto const batch = queue_.peek(settings_.batch_size);
    if (batch.empty()) continue;
    auto const result = co_await post(render_webhook_body(boot_, batch));
    if (result.status >= 200 && result.status < 300) {
      metrics_.webhook_sent(queue_.acknowledge(batch.back().n));
      attempt = 0;
      if (std::exchange(failing_, false)) log_info("webhooks: the receiver acknowledges again");
      continue;
    }
    metrics_.webhook_retried(batch.size());
    if (!std::exchange(failing_, true)) {
      // One line per run of failures, however long the receiver stays away.
      if (result.status != 0)
        log_warn("webhooks: the receiver refused a request; retrying with backoff", {{"status", result.status}});
      else
        log_warn("webhooks: a request failed; retrying with backoff", {{"error", result.error}});
    }
    if (give_up_ || (stopping_ && clock::now() >= deadline_)) break;
    auto delay = webhook_retry_delay(settings_.retry, attempt++, jitter());
    if (stopping_) delay = std::min(delay, std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - clock::now()));
    backoff_.expires_after(delay);
    co_await backoff_.async_wait(nothrow);
  }
  close_connection();
  running_ = false;
  done_.cancel();
}

std::chrono::milliseconds webhook_sender::request_budget() const {
  if (!stopping_) return settings_.timeout;
  auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - clock::now());
  return std::clamp(left, 1ms, settings_.timeout);
}

asio::awaitable<webhook_sender::answer> webhook_sender::post(std::string body) {
  auto const started = clock::now();
  answer result;
  if (!plain_ && !tls_) {
    if (auto why = co_await connect(); !why.empty()) result.error = std::move(why);
  }
  // An if, not ?: : GCC 12 evaluates both arms of a conditional with co_await in them.
  if (result.error.empty() && settings_.url.tls)
    result = co_await exchange(*tls_, std::move(body));
  else if (result.error.empty())
    result = co_await exchange(*plain_, std::move(body));
  if (result.status == 0) close_connection();
  metrics_.webhook_request(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started));
  co_return result;
}

asio::awaitable<std::string> webhook_sender::connect() {
  auto const& url = settings_.url;
  auto [rec, endpoints] = co_await resolver_.async_resolve(url.host, url.port, nothrow);
  if (rec) co_return "cannot resolve " + url.host + ": " + rec.message();
  beast::tcp_stream* tcp = nullptr;
  if (url.tls) {
    tls_.emplace(strand_, tls_context_);
    tcp = &beast::get_lowest_layer(*tls_);
  } else {
    plain_.emplace(strand_);
    tcp = &*plain_;
  }
  tcp->expires_after(request_budget());
  auto [cec, ep] = co_await tcp->async_connect(endpoints, nothrow);
  if (cec) co_return "connect: " + cec.message();
  tcp->socket().set_option(asio::ip::tcp::no_delay(true));
  if (!url.tls) co_return std::string{};
  // SNI for a host name (not for an address, RFC 6066), and a certificate that must be for the
  // URL's host, name or address. SSL_set_tlsext_host_name, without the macro's C cast.
  boost::system::error_code not_an_address;
  asio::ip::make_address(url.host, not_an_address);
  if (not_an_address && SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                 const_cast<char*>(url.host.c_str())) != 1)
    co_return std::string("TLS: cannot set SNI");
  tls_->set_verify_callback(asio::ssl::host_name_verification(url.host));
  auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, nothrow);
  if (hec) co_return "TLS handshake: " + hec.message();
  co_return std::string{};
}

template <class Stream>
asio::awaitable<webhook_sender::answer> webhook_sender::exchange(Stream& stream, std::string body) {
  auto const& url = settings_.url;
  auto const timestamp = now_ms() / 1000;
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, server_header);
  req.set(http::field::content_type, "application/json");
  req.set(webhook_timestamp_header, std::to_string(timestamp));
  req.set(webhook_signature_header, webhook_signature(settings_.secret, timestamp, body));
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();

  answer result;
  beast::get_lowest_layer(stream).expires_after(request_budget());
  auto [wec, written] = co_await http::async_write(stream, req, nothrow);
  if (wec) {
    result.error = "send: " + wec.message();
    co_return result;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{64} * 1024); // the answer's body is not used
  auto [rec, read] = co_await http::async_read(stream, buffer_, parser, nothrow);
  if (rec) {
    result.error = "reading the answer: " + rec.message();
    co_return result;
  }
  beast::get_lowest_layer(stream).expires_never();
  auto const& res = parser.get();
  result.status = res.result_int();
  if (!res.keep_alive()) close_connection();
  co_return result;
}

void webhook_sender::close_connection() {
  // No TLS close_notify: the receiver learns nothing from it, and it could wait on a dead peer.
  if (tls_) beast::get_lowest_layer(*tls_).close();
  if (plain_) plain_->close();
  tls_.reset();
  plain_.reset();
  buffer_.clear();
}

asio::awaitable<void> webhook_sender::drain(clock::time_point deadline) {
  co_await asio::co_spawn(strand_, drain_here(deadline), asio::use_awaitable);
}

asio::awaitable<void> webhook_sender::drain_here(clock::time_point deadline) {
  stopping_ = true;
  deadline_ = deadline;
  wake_.cancel();    // no more gathering: send what there is
  backoff_.cancel(); // and retry at once, within the deadline
  if (running_) {
    done_.expires_at(deadline);
    auto [ec] = co_await done_.async_wait(nothrow);
    if (!ec && running_) {
      // The deadline: whatever is in flight is abandoned.
      give_up_ = true;
      resolver_.cancel();
      // Closed, not destroyed: the pending operation completes with an error first.
      if (tls_) beast::get_lowest_layer(*tls_).close();
      if (plain_) plain_->close();
      wake_.cancel();
      backoff_.cancel();
      done_.expires_at(clock::time_point::max());
      co_await done_.async_wait(nothrow);
    }
  }
  if (auto const left = queue_.close(); left > 0)
    log_warn("webhooks: shutdown timeout: events left undelivered (counted as dropped)", {{"events", left}});
}

} // namespace crier
