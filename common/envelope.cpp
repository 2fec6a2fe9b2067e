#include "common/envelope.hpp"

#include <charconv>

namespace crier {

namespace {

template <class T>
bool parse_number(std::string_view& in, char end, T& out) {
  auto const stop = in.find(end);
  if (stop == std::string_view::npos || stop == 0) return false;
  auto const [p, ec] = std::from_chars(in.data(), in.data() + stop, out);
  if (ec != std::errc{} || p != in.data() + stop) return false;
  in.remove_prefix(stop + 1);
  return true;
}

} // namespace

std::string member_label(member_info const& m) {
  std::string out = std::to_string(m.user.size());
  out += ':';
  out += m.user;
  out += m.name;
  return out;
}

bool read_member_label(std::string_view label, member_info& out) {
  std::size_t user_len = 0;
  if (!parse_number(label, ':', user_len) || user_len > label.size()) return false;
  out.user = std::string(label.substr(0, user_len));
  out.name = std::string(label.substr(user_len));
  return true;
}

std::pair<std::string, std::string> encode_split(envelope const& e) {
  std::string head{static_cast<char>(e.type), ' '};
  std::string tail;
  auto const label = member_label(e.from);
  tail.reserve(48 + e.node.size() + e.from.id.size() + label.size() + e.payload.size());
  tail += ' ';
  tail += e.node;
  tail += ' ';
  tail += std::to_string(e.ts);
  tail += ' ';
  tail += std::to_string(e.from.id.size());
  tail += ' ';
  tail += std::to_string(label.size());
  tail += '\n';
  tail += e.from.id;
  tail += label;
  tail += e.payload;
  return {std::move(head), std::move(tail)};
}

std::pair<std::string, std::string> presence_split(envelope::kind k, std::int64_t ts) {
  // encode_split's header, with seq 0 as presence has none.
  std::string before{static_cast<char>(k), ' ', '0', ' '};
  std::string after{' '};
  after += std::to_string(ts);
  after += ' ';
  return {std::move(before), std::move(after)};
}

std::string encode(envelope const& e) {
  auto [head, tail] = encode_split(e);
  head += std::to_string(e.seq);
  head += tail;
  return head;
}

std::optional<envelope> decode_envelope(std::string_view in) {
  envelope e;
  if (in.size() < 2 || in[1] != ' ') return std::nullopt;
  switch (in[0]) {
  case 't': e.type = envelope::kind::text; break;
  case 'b': e.type = envelope::kind::binary; break;
  case 'j': e.type = envelope::kind::join; break;
  case 'l': e.type = envelope::kind::leave; break;
  default: return std::nullopt;
  }
  in.remove_prefix(2);
  if (!parse_number(in, ' ', e.seq)) return std::nullopt;
  auto const space = in.find(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  e.node = std::string(in.substr(0, space));
  in.remove_prefix(space + 1);
  std::size_t id_len = 0, label_len = 0;
  if (!parse_number(in, ' ', e.ts) || !parse_number(in, ' ', id_len) || !parse_number(in, '\n', label_len))
    return std::nullopt;
  if (id_len > in.size() || label_len > in.size() - id_len) return std::nullopt;
  e.from.id = std::string(in.substr(0, id_len));
  if (!read_member_label(in.substr(id_len, label_len), e.from)) return std::nullopt;
  e.payload = std::string(in.substr(id_len + label_len));
  return e;
}

} // namespace crier
