#pragma once
// What crier-bench's event-stream and crier.v1 receivers need to read what crier sends them,
// written from the specifications (HTTP/1.1 chunked framing, the Server-Sent Events stream
// format, JSON strings), not from crier's code, and fed whatever a read returns: a chunk
// boundary, a line or a `data:` field may be split anywhere between two reads.
//
//   http_stream_decoder  the response head (status, framing), then the body's bytes out of the
//                        chunked framing (or as they come, for a response without it)
//   sse_parser           body bytes -> events (event type, data, last event id), comments, retry
//   read_message_text    a crier.v1 event -> the text of a message event, JSON-unescaped
//
// Everything here is incremental and allocation-free once warmed up (buffers are reused).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace crier::bench {

// ---------------------------------------------------------------------------------------------
// The HTTP response around an event stream.

class http_stream_decoder {
public:
  // Feeds bytes as read from the socket; calls on_body(std::string_view) with each piece of the
  // body, in order. Returns false once the response is malformed (error() says how); what came
  // before the error has been passed on.
  template <class OnBody>
  bool feed(std::string_view bytes, OnBody&& on_body);

  bool head_done() const noexcept { return state_ != state::head; }
  unsigned status() const noexcept { return status_; }
  bool chunked() const noexcept { return chunked_; }
  std::string const& content_type() const noexcept { return content_type_; }
  // The last chunk (and its trailer) came: the server ended the response.
  bool ended() const noexcept { return state_ == state::done; }
  bool failed() const noexcept { return state_ == state::failed; }
  std::string const& error() const noexcept { return error_; }

  static constexpr std::size_t max_head = 64 * 1024;

private:
  enum class state { head, size_line, data, data_crlf, trailer, identity, done, failed };
  // Parses head_ (status line and headers, without the blank line); false on a malformed one.
  bool parse_head(std::string_view head);
  bool fail(std::string what) {
    state_ = state::failed;
    error_ = std::move(what);
    return false;
  }

  state state_ = state::head;
  std::string head_;            // the head as it arrives, until its blank line
  std::string line_;            // a chunk-size or trailer line as it arrives
  std::uint64_t remaining_ = 0; // of the current chunk's data
  unsigned crlf_ = 0;           // bytes of the CRLF after a chunk's data seen so far
  unsigned status_ = 0;
  bool chunked_ = false;
  std::string content_type_;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// The event stream (https://html.spec.whatwg.org/multipage/server-sent-events.html, "Event stream
// interpretation"): lines end with CRLF, LF or CR; a blank line dispatches the event; a line that
// starts with ':' is a comment; `data` lines join with LF; `id` sets the last event id, which
// stays for the events after it; `retry` is a number; other fields are ignored.

struct sse_event {
  std::string_view type; // "message" when the event had no `event:` field
  std::string_view data;
  std::string_view last_id;
};

class sse_parser {
public:
  // Feeds body bytes; calls on_event(sse_event const&) for each event completed by them (the
  // views are valid during the call only). False when a line grew past max_line (error()).
  template <class OnEvent>
  bool feed(std::string_view bytes, OnEvent&& on_event);

  std::uint64_t comments() const noexcept { return comments_; }
  std::optional<std::uint64_t> retry() const noexcept { return retry_; }
  std::string const& error() const noexcept { return error_; }

  // A big room's welcome lists many members; crier-bench reads crier.v1 frames up to this too.
  static constexpr std::size_t max_line = 64u << 20;

private:
  template <class OnEvent>
  void line(std::string_view l, OnEvent& on_event);

  std::string partial_;  // a line not yet ended
  bool skip_lf_ = false; // the last byte fed was a CR: an LF first in the next feed ends no line
  std::string type_, data_, last_id_;
  bool has_data_ = false;
  std::uint64_t comments_ = 0;
  std::optional<std::uint64_t> retry_;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// A crier.v1 event as crier renders it: {"type":"message","seq":N,"ts":T,"from":{...},"text":"..."}.

enum class crier_event { message, other, malformed };

struct message_text {
  crier_event kind = crier_event::malformed;
  // For a message: its text, unescaped; a view into the event when the text had no escapes,
  // else into `scratch`.
  std::string_view text;
};

// Reads a crier.v1 event. `message` with the text for a message event; `other` for any other
// event (welcome, join, leave, presence, ...); `malformed` when it is not a crier.v1 event or a
// message whose text is not a well-formed JSON string.
message_text read_message_text(std::string_view json, std::string& scratch);

// Decodes the JSON string body `s` (between the quotes, escapes and all) into `out` as UTF-8.
// False on a bad escape, a lone surrogate, or a raw control character.
bool json_unescape(std::string_view s, std::string& out);

// ---------------------------------------------------------------------------------------------
// Templates.

template <class OnBody>
bool http_stream_decoder::feed(std::string_view bytes, OnBody&& on_body) {
  std::size_t pos = 0;
  auto const n = bytes.size();
  while (pos < n) {
    switch (state_) {
    case state::head: {
      // Search only where the blank line could newly end: from 3 bytes before the new ones.
      auto const from = head_.size() >= 3 ? head_.size() - 3 : 0;
      head_.append(bytes.substr(pos));
      auto const end = head_.find("\r\n\r\n", from);
      if (end == std::string::npos) {
        if (head_.size() > max_head) return fail("response head longer than 64 KiB");
        return true;
      }
      // What followed the head in this read is body: put it back.
      auto const consumed_here = end + 4 - (head_.size() - (n - pos));
      pos += consumed_here;
      head_.resize(end);
      if (!parse_head(head_)) return false;
      head_.clear();
      head_.shrink_to_fit();
      state_ = chunked_ ? state::size_line : state::identity;
      break;
    }
    case state::identity:
      on_body(bytes.substr(pos));
      return true;
    case state::size_line:
    case state::trailer: {
      auto const lf = bytes.find('\n', pos);
      auto const piece = bytes.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
      line_.append(piece);
      if (line_.size() > 4096) return fail("chunk-size or trailer line longer than 4 KiB");
      if (lf == std::string_view::npos) return true;
      pos = lf + 1;
      if (line_.empty() || line_.back() != '\r') return fail("chunk line not ended by CRLF");
      line_.pop_back();
      if (state_ == state::trailer) {
        if (line_.empty()) state_ = state::done; // the blank line after the trailer fields
        line_.clear();
        break;
      }
      // chunk-size [; extensions]
      std::uint64_t size = 0;
      std::size_t digits = 0;
      for (char c : line_) {
        int d = -1;
        if (c >= '0' && c <= '9')
          d = c - '0';
        else if (c >= 'a' && c <= 'f')
          d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
          d = c - 'A' + 10;
        if (d < 0) break;
        if (++digits > 15) return fail("chunk size too large");
        size = size * 16 + static_cast<std::uint64_t>(d);
      }
      if (digits == 0 ||
          (digits < line_.size() && line_[digits] != ';' && line_[digits] != ' ' && line_[digits] != '\t'))
        return fail("malformed chunk size line: " + line_.substr(0, 40));
      line_.clear();
      if (size == 0) {
        state_ = state::trailer;
      } else {
        remaining_ = size;
        state_ = state::data;
      }
      break;
    }
    case state::data: {
      auto const take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - pos));
      on_body(bytes.substr(pos, take));
      pos += take;
      remaining_ -= take;
      if (remaining_ == 0) {
        state_ = state::data_crlf;
        crlf_ = 0;
      }
      break;
    }
    case state::data_crlf:
      if (bytes[pos] != (crlf_ == 0 ? '\r' : '\n')) return fail("chunk data not followed by CRLF");
      ++pos;
      if (++crlf_ == 2) state_ = state::size_line;
      break;
    case state::done:
      return fail("bytes after the last chunk");
    case state::failed:
      return false;
    }
  }
  return state_ != state::failed;
}

template <class OnEvent>
bool sse_parser::feed(std::string_view bytes, OnEvent&& on_event) {
  if (!error_.empty()) return false;
  std::size_t pos = 0;
  auto const n = bytes.size();
  if (skip_lf_ && n > 0) {
    if (bytes[0] == '\n') pos = 1; // the LF of a CRLF split between two reads
    skip_lf_ = false;
  }
  while (pos < n) {
    // The first CR or LF: an LF by memchr, then a CR before it (crier sends none, so that scan
    // runs to the LF); two vectorised scans instead of a loop over every byte.
    auto const* const base = bytes.data();
    auto const* const lf = static_cast<char const*>(std::memchr(base + pos, '\n', n - pos));
    auto const stop = lf != nullptr ? static_cast<std::size_t>(lf - base) : n;
    auto const* const cr = static_cast<char const*>(std::memchr(base + pos, '\r', stop - pos));
    auto const eol = cr != nullptr ? static_cast<std::size_t>(cr - base) : stop;
    if (eol == n) {
      if (partial_.size() + (n - pos) > max_line) {
        error_ = "event stream line longer than 64 MiB";
        return false;
      }
      partial_.append(bytes.substr(pos));
      break;
    }
    if (partial_.empty()) {
      line(bytes.substr(pos, eol - pos), on_event);
    } else {
      partial_.append(bytes.substr(pos, eol - pos));
      line(std::string_view(partial_), on_event);
      partial_.clear();
    }
    pos = eol + 1;
    if (bytes[eol] == '\r') {
      if (pos < n) {
        if (bytes[pos] == '\n') ++pos;
      } else {
        skip_lf_ = true;
      }
    }
  }
  return true;
}

template <class OnEvent>
void sse_parser::line(std::string_view l, OnEvent& on_event) {
  if (l.empty()) {
    // Dispatch. No data field: nothing is dispatched, and the event type is forgotten.
    if (has_data_) {
      std::string_view data(data_);
      data.remove_suffix(1); // the LF after the last data line
      sse_event const e{type_.empty() ? std::string_view("message") : std::string_view(type_), data, last_id_};
      on_event(e);
    }
    type_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (l.front() == ':') {
    ++comments_;
    return;
  }
  auto const colon = l.find(':');
  auto const field = l.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_ += '\n';
    has_data_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    std::uint64_t v = 0;
    bool digits = !value.empty();
    for (char c : value) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (digits) retry_ = v;
  }
}

} // namespace crier::bench
