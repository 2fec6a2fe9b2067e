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

std::pair<std::string, std::string> encode_split(envelope const& e) {
  std::string head{static_cast<char>(e.type), ' '};
  std::string tail;
  tail.reserve(48 + e.node.size() + e.from.id.size() + e.from.name.size() + e.payload.size());
  tail += ' ';
  tail += e.node;
  tail += ' ';
  tail += std::to_string(e.ts);
  tail += ' ';
  tail += std::to_string(e.from.id.size());
  tail += ' ';
  tail += std::to_string(e.from.name.size());
  tail += '\n';
  tail += e.from.id;
  tail += e.from.name;
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
  std::size_t id_len = 0, name_len = 0;
  if (!parse_number(in, ' ', e.ts) || !parse_number(in, ' ', id_len) || !parse_number(in, '\n', name_len))
    return std::nullopt;
  if (id_len > in.size() || name_len > in.size() - id_len) return std::nullopt;
  e.from.id = std::string(in.substr(0, id_len));
  e.from.name = std::string(in.substr(id_len, name_len));
  e.payload = std::string(in.substr(id_len + name_len));
  return e;
}

} // namespace crier
