#include "server/server_state.hpp"

#include "server/session/send_ring.hpp"

#include <fstream>
#include <stdexcept>

namespace crier {

namespace {

std::unique_ptr<boost::asio::ssl::context> make_tls_context(config const& cfg) {
  if (cfg.tls_cert.empty()) return nullptr;
  namespace ssl = boost::asio::ssl;
  for (auto const& [flag, path] : {std::pair{"--tls-cert", cfg.tls_cert}, std::pair{"--tls-key", cfg.tls_key}}) {
    if (!std::ifstream(path)) throw std::runtime_error(std::string(flag) + ": cannot read '" + path.string() + "'");
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 and up only.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cfg.tls_cert.string(), ec);
  if (ec) throw std::runtime_error("--tls-cert: cannot load '" + cfg.tls_cert.string() + "': " + ec.message());
  ctx->use_private_key_file(cfg.tls_key.string(), ssl::context::pem, ec);
  if (ec) throw std::runtime_error("--tls-key: cannot load '" + cfg.tls_key.string() + "': " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("--tls-key: '" + cfg.tls_key.string() + "' does not match the certificate in --tls-cert");
  return ctx;
}

} // namespace

server_state::server_state(config cfg)
  : config_(std::move(cfg)),
    rooms_(room_settings{config_.history, config_.empty_room_ttl, config_.max_empty_rooms, config_.max_rooms,
                         &metrics_, config_.presence_threshold, std::chrono::milliseconds{100},
                         config_.compression ? config_.compression_min_size : SIZE_MAX, config_.compression_level,
                         config_.compression ? config_.compression_context_members : 0}),
    tokens_(token_keys{config_.token_secret, config_.token_public_key_pem, config_.token_issuer,
                       config_.token_audience, config_.token_leeway}),
    tls_(make_tls_context(config_)) {
  if (config_.webhook_url.empty()) return;
  webhooks_ = std::make_unique<webhook_queue>(config_.webhook_events, config_.webhook_queue, metrics_);
  rooms_.set_events(webhooks_.get());
}

bool server_state::try_reserve_session() noexcept {
  auto n = sessions_.load(std::memory_order_relaxed);
  do {
    if (n >= config_.max_connections) return false;
  } while (!sessions_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
  return true;
}

void server_state::session_ended() {
  if (sessions_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::lock_guard lock(callback_mutex_);
  if (on_idle_) on_idle_();
}

std::optional<std::string> server_state::not_ready_reason() const {
  if (draining_.load(std::memory_order_acquire)) return "draining: shutting down";
  // Local delivery goes on without Redis, but a load balancer should send new sessions to a node
  // that reaches the rest of the cluster.
  if (!rooms_.cluster_up()) return "redis unavailable";
  return std::nullopt;
}

metrics_gauges server_state::gauges() {
  metrics_gauges g;
  g.sessions = live_sessions();
  g.event_streams = event_streams_.load(std::memory_order_relaxed);
  g.rooms = rooms_.room_count();
  g.queued_bytes = rooms_.queued_bytes();
  g.ready = !not_ready_reason();
  g.webhooks = webhooks_ != nullptr;
  g.io_uring_sends = send_ring::sends_total();
  g.io_uring_submits = send_ring::submits_total();
  if (!config_.redis_url.empty()) g.redis_up = rooms_.cluster_up() ? 1 : 0;
  return g;
}

void server_state::set_idle_callback(std::function<void()> f) {
  std::lock_guard lock(callback_mutex_);
  on_idle_ = std::move(f);
}

} // namespace crier
