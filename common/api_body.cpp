#include "common/api_body.hpp"

#include "common/names.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace crier {

namespace json = boost::json;

namespace {

std::variant<json::object, api_body_error> parse_object(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8; // nothing legitimate nests deeper
  auto doc = json::parse(json::string_view(body.data(), body.size()), ec, {}, options);
  if (ec) return api_body_error{false, "the body is not valid JSON: " + ec.message()};
  if (!doc.is_object()) return api_body_error{false, "the body must be a JSON object"};
  return std::move(doc.as_object());
}

std::string_view view(json::string const& s) { return {s.data(), s.size()}; }

} // namespace

std::variant<publish_body, api_body_error> parse_publish_body(std::string_view body, std::size_t max_text) {
  auto parsed = parse_object(body);
  if (auto* error = std::get_if<api_body_error>(&parsed)) return std::move(*error);
  auto const& doc = std::get<json::object>(parsed);
  publish_body out;
  auto const* text = doc.if_contains("text");
  if (text == nullptr) return api_body_error{false, "missing field \"text\""};
  if (!text->is_string()) return api_body_error{false, "field \"text\" must be a string"};
  if (text->get_string().size() > max_text)
    return api_body_error{true, "text is " + std::to_string(text->get_string().size()) + " bytes, over --max-message-size (" +
                                  std::to_string(max_text) + ")"};
  out.text = std::string(view(text->get_string()));
  if (auto const* from = doc.if_contains("from"); from != nullptr && !from->is_null()) {
    if (!from->is_object()) return api_body_error{false, "field \"from\" must be an object"};
    if (auto const* user = from->as_object().if_contains("user"); user != nullptr && !user->is_null()) {
      if (!user->is_string() || !is_valid_user_id(view(user->get_string())))
        return api_body_error{false, "from.user must be 1-128 bytes of text without control characters"};
      out.user = std::string(view(user->get_string()));
    }
    if (auto const* name = from->as_object().if_contains("name"); name != nullptr && !name->is_null()) {
      if (!name->is_string()) return api_body_error{false, "from.name must be a string"};
      std::string why;
      auto valid = validate_display_name(view(name->get_string()), why);
      if (!valid) return api_body_error{false, "invalid from.name: " + why};
      out.name = std::move(*valid);
    }
  }
  return out;
}

std::variant<std::string, api_body_error> parse_disconnect_body(std::string_view body) {
  auto parsed = parse_object(body);
  if (auto* error = std::get_if<api_body_error>(&parsed)) return std::move(*error);
  auto const& doc = std::get<json::object>(parsed);
  auto const* user = doc.if_contains("user");
  if (user == nullptr) return api_body_error{false, "missing field \"user\""};
  if (!user->is_string() || !is_valid_user_id(view(user->get_string())))
    return api_body_error{false, "user must be 1-128 bytes of text without control characters"};
  return std::string(view(user->get_string()));
}

} // namespace crier
