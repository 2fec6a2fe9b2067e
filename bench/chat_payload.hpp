#pragma once
// --payload words: messages as a chat app sends them, JSON of 150-300 bytes made of English words.
//
// Scenario (v) measures what permessage-deflate saves and costs, and that depends on what is
// compressed: make_payload's dots shrink to almost nothing and random bytes not at all, so
// neither says anything about chat. A chat message here is
//
//   {"id":"<40 hex digits>","user":"<name>","text":"<a sentence or three>"}
//
// where the 40 hex digits are make_payload's header (sender, per-sender sequence number, send
// time) at a fixed offset, the user is the sender's name, and the text is one of `text_count`
// texts made once, from a fixed seed, of words drawn with Zipf-like frequencies (common words
// often, rare words seldom), with capitals, commas and full stops. Everything is deterministic:
// the same run sends the same bytes on every machine. A text is picked by (sender, seq) so that a
// sender repeats one only every `text_count` messages: with context takeover (Node ws), deflate
// finds the words of earlier messages in its window, as it would in a real chat, but never the
// whole message.
//
// A receiver rebuilds the message from its header and compares every byte (check), so a message
// that inflates to anything else counts as corrupt, whatever part of it is wrong.

#include "bench/bench_support.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crier::bench {

class chat_corpus {
public:
  static constexpr std::size_t text_count = 4096; // a power of two: see text_index
  static constexpr std::size_t min_size = 150;
  static constexpr std::size_t max_size = 300;
  // Where the header's 40 hex digits start: after {"id":"
  static constexpr std::size_t header_offset = 7;

  chat_corpus(); // builds the texts; about 1 MB, a few milliseconds

  // Replaces `out` with the message for `h`. Reuses out's capacity: no allocation once it holds max_size.
  void write(std::string& out, header const& h) const;

  // The header of `payload` when payload is exactly the message write() makes for that header.
  std::optional<header> check(std::string_view payload) const;

  std::string_view user(std::uint32_t sender) const noexcept;
  std::string_view text(std::uint32_t sender, std::uint64_t seq) const noexcept {
    return texts_[text_index(sender, seq)];
  }
  std::size_t text_index(std::uint32_t sender, std::uint64_t seq) const noexcept {
    // An odd multiplier modulo a power of two is a bijection: a sender's text_count consecutive
    // messages all have different texts. The sender term starts every sender somewhere else.
    return static_cast<std::size_t>((seq * 2654435761u + std::uint64_t{sender} * 40503u) % text_count);
  }

private:
  std::vector<std::string> texts_;
};

} // namespace crier::bench
