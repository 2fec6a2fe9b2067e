#include "common/deflate_offer.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace crier {
namespace {

// RFC 7230 token characters.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

struct param {
  std::string name;
  std::optional<std::string> value; // unquoted
};
struct extension {
  std::string name;
  std::vector<param> params;
};

// A recursive-descent reader of the header's grammar (RFC 6455 section 9.1, with RFC 7230's
// lists: empty elements and optional whitespace are allowed).
class reader {
public:
  explicit reader(std::string_view s) : s_(s) {}

  // nullopt on a syntax error.
  std::optional<std::vector<extension>> extensions() {
    std::vector<extension> out;
    for (;;) {
      skip_ows();
      if (at_end()) return out;
      if (peek() == ',') {
        ++i_;
        continue;
      }
      extension e;
      if (!token(e.name)) return std::nullopt;
      for (;;) {
        skip_ows();
        if (at_end() || peek() == ',') break;
        if (peek() != ';') return std::nullopt;
        ++i_;
        skip_ows();
        param p;
        if (!token(p.name)) return std::nullopt;
        skip_ows();
        if (!at_end() && peek() == '=') {
          ++i_;
          skip_ows();
          std::string v;
          if (!at_end() && peek() == '"') {
            if (!quoted(v)) return std::nullopt;
          } else if (!token(v)) {
            return std::nullopt;
          }
          p.value = std::move(v);
        }
        e.params.push_back(std::move(p));
      }
      out.push_back(std::move(e));
      if (!at_end()) ++i_; // the ','
    }
  }

private:
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  void skip_ows() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++i_;
  }
  bool token(std::string& out) {
    auto const start = i_;
    while (!at_end() && is_tchar(peek())) ++i_;
    out.assign(s_.substr(start, i_ - start));
    return i_ > start;
  }
  bool quoted(std::string& out) {
    ++i_; // the opening quote
    while (!at_end()) {
      char const c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (at_end()) return false;
        out += s_[i_++];
      } else {
        out += c;
      }
    }
    return false;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// "8" to "15", without leading zeros (RFC 7692 section 7.1.2).
std::optional<int> window_bits(std::string_view v) {
  if (v.empty() || v.size() > 2 || v[0] < '1' || v[0] > '9') return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return std::nullopt;
  return n;
}

// One permessage-deflate offer: the agreement for it, or nullopt when it must be declined.
std::optional<deflate_agreement> accept_offer(extension const& offer, bool keep_context) {
  deflate_agreement a;
  bool seen_server_bits = false, seen_client_bits = false, seen_server_nct = false, seen_client_nct = false;
  bool client_bits_open = false; // client_max_window_bits without a value: the server picks
  std::optional<int> client_bits;
  for (auto const& p : offer.params) {
    if (iequals(p.name, "server_max_window_bits")) {
      if (std::exchange(seen_server_bits, true) || !p.value) return std::nullopt;
      auto const bits = window_bits(*p.value);
      if (!bits) return std::nullopt;
      a.server_max_window_bits = *bits;
    } else if (iequals(p.name, "client_max_window_bits")) {
      if (std::exchange(seen_client_bits, true)) return std::nullopt;
      if (p.value) {
        client_bits = window_bits(*p.value);
        if (!client_bits) return std::nullopt;
      } else {
        client_bits_open = true;
      }
    } else if (iequals(p.name, "server_no_context_takeover")) {
      if (std::exchange(seen_server_nct, true) || p.value) return std::nullopt;
    } else if (iequals(p.name, "client_no_context_takeover")) {
      if (std::exchange(seen_client_nct, true) || p.value) return std::nullopt;
      a.client_no_context_takeover = true;
    } else {
      return std::nullopt; // a parameter not defined for an offer
    }
  }
  a.accepted = true;
  a.server_context_takeover = keep_context && !seen_server_nct;
  a.response = a.server_context_takeover ? "permessage-deflate" : "permessage-deflate; server_no_context_takeover";
  if (seen_server_bits) a.response += "; server_max_window_bits=" + std::to_string(a.server_max_window_bits);
  if (a.client_no_context_takeover) a.response += "; client_no_context_takeover";
  if (client_bits_open) {
    a.client_max_window_bits = preferred_client_window_bits;
  } else if (client_bits && *client_bits >= 9) {
    a.client_max_window_bits = std::min(*client_bits, preferred_client_window_bits);
  }
  // A client that limited itself to 8 bits is answered without the parameter, so the server
  // inflates with the full window: zlib quietly compresses with 9 bits when asked for 8, and a
  // 256-byte inflater would fail on what such a client sends.
  if (client_bits_open || (client_bits && *client_bits >= 9))
    a.response += "; client_max_window_bits=" + std::to_string(a.client_max_window_bits);
  return a;
}

} // namespace

deflate_agreement negotiate_deflate(std::string_view offers, bool keep_context) {
  auto const list = reader(offers).extensions();
  if (!list) return {};
  for (auto const& e : *list) {
    if (!iequals(e.name, "permessage-deflate")) continue;
    if (auto a = accept_offer(e, keep_context)) return std::move(*a);
  }
  return {};
}

} // namespace crier
