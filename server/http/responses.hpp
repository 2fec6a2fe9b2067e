#pragma once
// Every HTTP response the server makes up itself (errors, probes, the API's JSON), so that each
// carries the same headers: Server, Content-Type, nosniff, and the keep-alive the caller chose.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace crier {

using text_response_type = boost::beast::http::response<boost::beast::http::string_body>;

// A text body (a newline is added if it lacks one); errors are answered this way.
text_response_type text_response(boost::beast::http::status status, std::string body, unsigned version,
                                 bool keep_alive, std::string_view type = "text/plain; charset=utf-8");

// A JSON body, serialised by Boost.JSON.
text_response_type json_response(boost::beast::http::status status, boost::json::value const& body,
                                 unsigned version, bool keep_alive);

// 405 with the Allow header for a resource that only reads.
text_response_type method_not_allowed(unsigned version, bool keep_alive);

} // namespace crier
