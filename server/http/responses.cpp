#include "server/http/responses.hpp"

#include "server/net.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>

namespace crier {

text_response_type text_response(http::status status, std::string body, unsigned version, bool keep_alive,
                                 std::string_view type) {
  text_response_type res{status, version};
  res.set(http::field::server, server_header);
  res.set(http::field::content_type, type);
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  if (!res.body().empty() && res.body().back() != '\n') res.body() += '\n';
  res.prepare_payload();
  return res;
}

text_response_type json_response(http::status status, boost::json::value const& body, unsigned version,
                                 bool keep_alive) {
  return text_response(status, boost::json::serialize(body), version, keep_alive, "application/json");
}

text_response_type method_not_allowed(unsigned version, bool keep_alive) {
  auto res = text_response(http::status::method_not_allowed, "method not allowed", version, keep_alive);
  res.set(http::field::allow, "GET, HEAD");
  return res;
}

} // namespace crier
