// The event-stream reading of crier-bench's SSE receivers (bench/sse_stream.hpp): the chunked
// response, the SSE lines and events, and the text of crier.v1 message events, fed in pieces
// split at every position, because a read can end anywhere.

#include "bench/sse_stream.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

namespace crier::bench {
namespace {

struct seen {
  std::string type, data, id;
  bool operator==(seen const&) const = default;
};

std::ostream& operator<<(std::ostream& os, seen const& e) {
  return os << e.type << " [" << e.id << "] " << e.data;
}

// What a client reading `wire` in the given pieces gets: body via the decoder, then events.
struct reader {
  http_stream_decoder http;
  sse_parser sse;
  std::vector<seen> events;
  bool ok = true;

  void feed(std::string_view bytes) {
    ok = ok && http.feed(bytes, [&](std::string_view body) {
      ok = ok && sse.feed(body, [&](sse_event const& e) {
        events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_id)});
      });
    });
  }
};

std::string chunk(std::string_view body) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  return std::string(size) + std::string(body) + "\r\n";
}

std::string const head =
    "HTTP/1.1 200 OK\r\nServer: crier/0.1.0\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

std::string const welcome =
    R"({"type":"welcome","id":"a1","name":"ann","room":"bench","epoch":"9c1f03aa","members":[],"member_count":1,"history":[],"seq":0,"resumed":false})";
std::string const msg1 =
    R"({"type":"message","seq":1,"ts":1795640474250,"from":{"id":"b2","name":"bob \",\"text\":\"x"},"text":"hello \"you\"\\ \u00e9\ud83d\ude00"})";
std::string const msg2 =
    R"({"type":"message","seq":2,"ts":1795640474251,"from":{"id":"b2","name":"bob"},"text":"plain"})";

// crier's stream: the retry, the welcome, a ping, two messages (the second in the same chunk as
// the ping, as a batch is), and the last chunk after a close event.
std::string stream() {
  return head + chunk("retry: 1000\n\n") + chunk("event: welcome\ndata: " + welcome + "\n\n") +
         chunk(": ping\n\nevent: message\nid: 9c1f03aa:1\ndata: " + msg1 + "\n\n") +
         chunk("event: message\nid: 9c1f03aa:2\ndata: " + msg2 + "\n\n") +
         chunk("event: close\ndata: {\"type\":\"close\",\"code\":1001,\"reason\":\"bye\"}\n\n") + "0\r\n\r\n";
}

std::vector<seen> const expected = {
    {"welcome", welcome, ""},
    {"message", msg1, "9c1f03aa:1"},
    {"message", msg2, "9c1f03aa:2"},
    {"close", R"({"type":"close","code":1001,"reason":"bye"})", "9c1f03aa:2"},
};

TEST(SseStream, WholeStreamInOneRead) {
  reader r;
  r.feed(stream());
  ASSERT_TRUE(r.ok) << r.http.error() << r.sse.error();
  EXPECT_EQ(r.http.status(), 200u);
  EXPECT_TRUE(r.http.chunked());
  EXPECT_TRUE(r.http.ended());
  EXPECT_EQ(r.events, expected);
  EXPECT_EQ(r.sse.comments(), 1u);
  EXPECT_EQ(r.sse.retry(), 1000u);
}

TEST(SseStream, SplitInTwoAtEveryByte) {
  // Covers a split in the head, in a chunk-size line, in its CRLF, mid-line in the data, in
  // "data:" itself, between an event's last line and its blank line, and inside the last chunk.
  auto const wire = stream();
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    reader r;
    r.feed(std::string_view(wire).substr(0, cut));
    r.feed(std::string_view(wire).substr(cut));
    ASSERT_TRUE(r.ok) << "cut at " << cut << ": " << r.http.error() << r.sse.error();
    ASSERT_EQ(r.events, expected) << "cut at " << cut;
    ASSERT_TRUE(r.http.ended());
    ASSERT_EQ(r.sse.comments(), 1u);
  }
}

TEST(SseStream, OneByteAtATime) {
  reader r;
  for (char c : stream()) r.feed(std::string_view(&c, 1));
  ASSERT_TRUE(r.ok) << r.http.error() << r.sse.error();
  EXPECT_EQ(r.events, expected);
}

TEST(SseStream, ChunkBoundaryInsideALineAndADataFieldAcrossChunks) {
  // The server may chunk the stream anywhere: a chunk ends inside "da|ta: {..." and the JSON
  // continues in the next chunk, read in a third read.
  std::string const ev = "event: message\nid: e:2\ndata: " + msg2 + "\n\n";
  auto const wire = head + chunk(ev.substr(0, 17)) + chunk(ev.substr(17, 30)) + chunk(ev.substr(47));
  reader r;
  r.feed(std::string_view(wire).substr(0, head.size() + 20));
  EXPECT_TRUE(r.events.empty());
  r.feed(std::string_view(wire).substr(head.size() + 20, 40));
  EXPECT_TRUE(r.events.empty());
  r.feed(std::string_view(wire).substr(head.size() + 60));
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], (seen{"message", msg2, "e:2"}));
}

TEST(SseStream, LineEndingsCommentsAndFields) {
  // CRLF, CR and LF line ends (a CRLF split between reads is one line end), several data lines
  // joined with LF, a field without a colon, no space after the colon, unknown fields, and an
  // event without data (not dispatched, its type forgotten).
  sse_parser p;
  std::vector<seen> got;
  auto const on = [&](sse_event const& e) {
    got.push_back({std::string(e.type), std::string(e.data), std::string(e.last_id)});
  };
  ASSERT_TRUE(p.feed(": hello\r\nevent: nodata\r\n\r\ndata:a\rdata: b\r", on));
  ASSERT_TRUE(p.feed("\ndata\nfoo: bar\nid: 7\n\r", on));
  ASSERT_TRUE(p.feed("\n: x\n:\ndata: next\n\n", on));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (seen{"message", "a\nb\n", "7"})); // "data" with no colon is an empty data line
  EXPECT_EQ(got[1], (seen{"message", "next", "7"}));   // the last id stays
  EXPECT_EQ(p.comments(), 3u);
  EXPECT_FALSE(p.retry());
}

TEST(SseStream, RefusesWhatIsNotAnEventStream) {
  {
    http_stream_decoder d;
    EXPECT_FALSE(
        d.feed("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\norigin not allowed",
               [](std::string_view) {}));
    EXPECT_EQ(d.status(), 403u);
    EXPECT_NE(d.error().find("403"), std::string::npos);
  }
  {
    http_stream_decoder d;
    EXPECT_FALSE(d.feed("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
                        [](std::string_view) {}));
  }
  {
    http_stream_decoder d;
    EXPECT_FALSE(d.feed(head + "zz\r\n", [](std::string_view) {}));
  }
  {
    http_stream_decoder d;
    EXPECT_FALSE(d.feed(head + "3\r\nabcX", [](std::string_view) {})); // data not followed by CRLF
  }
  {
    // HTTP/1.0: no chunks, the body runs until the connection closes.
    http_stream_decoder d;
    std::string body;
    EXPECT_TRUE(d.feed("HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n",
                       [&](std::string_view b) { body += b; }));
    EXPECT_EQ(body, "data: x\n\n");
  }
}

TEST(MessageText, MessagesOthersAndMalformed) {
  std::string scratch;
  auto const m1 = read_message_text(msg1, scratch);
  ASSERT_EQ(m1.kind, crier_event::message);
  EXPECT_EQ(m1.text, "hello \"you\"\\ \xc3\xa9\xf0\x9f\x98\x80"); // the name's ,"text":" is not the key
  auto const m2 = read_message_text(msg2, scratch);
  ASSERT_EQ(m2.kind, crier_event::message);
  EXPECT_EQ(m2.text, "plain");
  EXPECT_EQ(m2.text.data(), msg2.data() + msg2.find("plain")); // no escapes: no copy
  // A message without a seq (cluster mode, Redis unreachable) is a message all the same.
  EXPECT_EQ(read_message_text(R"({"type":"message","ts":1,"from":{"id":"a","name":"b"},"text":"t"})", scratch).text,
            "t");
  EXPECT_EQ(read_message_text(welcome, scratch).kind, crier_event::other);
  EXPECT_EQ(read_message_text(R"({"type":"presence","ts":1,"count":3,"joined":1,"left":0})", scratch).kind,
            crier_event::other);
  for (std::string_view bad :
       {R"(hello)", R"({"type":"message","seq":1})", R"({"type":"message","seq":1,"text":"unterminated})",
        R"({"type":"message","seq":1,"text":"bad \q escape"})", R"({"type":"message","seq":1,"text":"lone \ud83d"})",
        R"({"type":"message","seq":1,"text":"low first \ude00"})",
        "{\"type\":\"message\",\"seq\":1,\"text\":\"raw \x01\"}", R"({"type":"message","seq":1,"text":"x"junk})"})
    EXPECT_EQ(read_message_text(bad, scratch).kind, crier_event::malformed) << bad;
}

TEST(MessageText, UnescapesWhatBoostJsonSerializes) {
  // Every ASCII character, and UTF-8 of 2, 3 and 4 bytes, through a serializer like crier's.
  std::string text;
  for (int c = 1; c < 128; ++c) text += static_cast<char>(c);
  text += "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  auto const json = R"({"type":"message","seq":9,"ts":1,"from":{"id":"a","name":"b"},"text":)" +
                    boost::json::serialize(boost::json::string(text)) + "}";
  std::string scratch;
  auto const m = read_message_text(json, scratch);
  ASSERT_EQ(m.kind, crier_event::message);
  EXPECT_EQ(m.text, text);
  // And the same text parsed by Boost.JSON from the event.
  EXPECT_EQ(m.text, std::string_view(boost::json::parse(json).at("text").as_string()));
}

} // namespace
} // namespace crier::bench
