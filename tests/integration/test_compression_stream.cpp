// A room's compression stream on the real binary, frame by frame: members whose clients let the
// server keep its context get each broadcast compressed once, with reference to the ones before
// it, and inflate every message with the window they kept; a member who joins late, whose queue
// drops messages, or who got a message compressed on its own, gets messages compressed on their
// own until a reset point, and never one it cannot inflate; a client that asked for
// server_no_context_takeover gets only messages that inflate alone.
#include "tests/support/crier_process.hpp"
#include "tests/support/deflate_codec.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace crier::test {
namespace {

// The offer browsers and most libraries make: the server may keep its context.
std::string const offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
std::string const offer_no_context =
  "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits\r\n";

// The next data frame, as it came (pings skipped).
in_frame next_data_frame(raw_ws& c) {
  for (;;) {
    auto r = c.read_frame(10s);
    if (r.status != raw_ws::read_status::frame) throw std::runtime_error("no frame: " + r.ec.message());
    if (r.frame.opcode == ws_op::ping || r.frame.opcode == ws_op::pong) continue;
    return std::move(r.frame);
  }
}

// A member whose client keeps its inflater's window, as a browser does.
struct follower {
  raw_ws ws;
  context_inflater inflater;
  std::vector<std::string> wire; // each message's bytes as they came

  void connect(std::uint16_t port, std::string const& target, std::string const& headers = offer,
               int receive_buffer = 0) {
    ws.connect(port, target, 5s, headers, receive_buffer);
  }
  // The next message, inflated with the window of everything before it.
  std::string next() {
    auto const f = next_data_frame(ws);
    EXPECT_TRUE(f.fin);
    wire.push_back(f.payload);
    if (!f.rsv1) return f.payload;
    std::string error;
    auto text = inflater.inflate(f.payload, &error);
    if (!text) throw std::runtime_error("message " + std::to_string(wire.size()) + " does not inflate: " + error);
    return *text;
  }
};

TEST(compression_stream, members_in_step_share_the_rooms_stream_and_a_late_joiner_falls_in_step) {
  crier_process server({"--compression-context-members", "2"});
  follower a, b;
  a.connect(server.port(), "/ws/stream");
  b.connect(server.port(), "/ws/stream");
  EXPECT_EQ(a.ws.handshake().field("sec-websocket-extensions"), "permessage-deflate; client_max_window_bits=10")
    << "the server keeps its context";
  raw_ws alone; // asked for server_no_context_takeover: every message must inflate on its own
  alone.connect(server.port(), "/ws/stream", 5s, offer_no_context);
  EXPECT_EQ(alone.handshake().field("sec-websocket-extensions"),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
  raw_ws plain(server.port(), "/ws/stream");
  ws_client speaker(server.port(), "/ws/stream");

  std::size_t stream_bytes = 0, alone_bytes = 0;
  auto say_and_check = [&](std::size_t from, std::size_t to, std::vector<follower*> const& followers) {
    for (auto i = from; i < to; ++i) {
      speaker.send_text(chat_line(i));
      ASSERT_EQ(speaker.receive().data, chat_line(i));
    }
    for (auto i = from; i < to; ++i) {
      SCOPED_TRACE("message " + std::to_string(i));
      for (auto* f : followers) ASSERT_EQ(f->next(), chat_line(i));
      EXPECT_EQ(b.wire.back(), a.wire.back()) << "the same bytes for every member in step";
      stream_bytes += a.wire.back().size();
      auto const own = next_data_frame(alone);
      ASSERT_TRUE(own.rsv1);
      ASSERT_EQ(inflate_message(own.payload), chat_line(i)) << "inflates with a fresh window";
      alone_bytes += own.payload.size();
      auto const p = next_data_frame(plain);
      ASSERT_FALSE(p.rsv1);
      ASSERT_EQ(p.payload, chat_line(i));
    }
  };

  auto const before = metric(server.port(), "crier_compressions_total");
  auto const streamed_before = metric(server.port(), "crier_compressed_stream_messages_out_total");
  say_and_check(0, 100, {&a, &b});
  // Once per broadcast for the stream, once for the member who takes each message on its own.
  EXPECT_EQ(metric(server.port(), "crier_compressions_total") - before, 200);
  EXPECT_LT(stream_bytes * 10, alone_bytes * 7) << stream_bytes << " bytes in the stream, " << alone_bytes
                                                << " compressed one by one";

  // A member joins: past reset_after_join messages since the last reset point, the next one is
  // one, so it is in step from its first message.
  follower c;
  c.connect(server.port(), "/ws/stream");
  say_and_check(100, 400, {&a, &b, &c});
  ASSERT_EQ(c.wire.size(), 300U);
  for (std::size_t i = 0; i < 300; ++i) EXPECT_EQ(c.wire[i], a.wire[100 + i]) << "in step from message " << 100 + i;
  EXPECT_EQ(metric(server.port(), "crier_compressions_total") - before, 800);
  EXPECT_EQ(metric_reaching(server.port(), "crier_compressed_stream_messages_out_total", streamed_before + 2 * 100 + 3 * 300) -
              streamed_before,
            2 * 100 + 3 * 300);
}

TEST(compression_stream, json_members_follow_the_stream_through_presence_and_replies_of_their_own) {
  crier_process server({"--compression-context-members", "2"});
  std::string const json = offer + "Sec-WebSocket-Protocol: crier.v1\r\n";
  follower a, b;
  a.connect(server.port(), "/ws/jstream?name=ann", json);
  b.connect(server.port(), "/ws/jstream?name=bob", json);
  EXPECT_NE(a.next().find(R"("type":"welcome")"), std::string::npos);
  EXPECT_NE(a.next().find(R"("type":"join")"), std::string::npos); // bob
  EXPECT_NE(b.next().find(R"("type":"welcome")"), std::string::npos);
  ws_client speaker(server.port(), "/ws/jstream?name=speaker");
  for (auto* f : {&a, &b}) EXPECT_NE(f->next().find(R"("type":"join")"), std::string::npos);
  for (std::size_t i = 0; i < 300; ++i) {
    speaker.send_text(chat_line(i));
    speaker.receive();
    // Now and then someone comes and goes, and ann asks for a page of history (a reply to her
    // alone, compressed on its own): every message still inflates.
    if (i % 50 == 25) {
      ws_client visitor(server.port(), "/ws/jstream?name=visitor-" + std::to_string(i));
      visitor.close();
    }
    if (i % 100 == 60) a.ws.send(out_frame{ws_op::text, R"({"type":"history","limit":5})", true});
  }
  // Each message event as it came to each of them: every one inflated (next() checks), and up to
  // ann's first request, the same bytes for both: one stream, presence included.
  std::vector<std::vector<std::string>> wire(2);
  for (std::size_t k = 0; k < 2; ++k) {
    auto& f = k == 0 ? a : b;
    while (wire[k].size() < 300) {
      auto const event = f.next();
      if (!event.starts_with(R"({"type":"message")")) continue; // not a history reply either
      EXPECT_NE(event.find(chat_line(wire[k].size()).substr(40, 40)), std::string::npos) << event;
      wire[k].push_back(f.wire.back());
    }
  }
  for (std::size_t i = 0; i < 60; ++i) EXPECT_EQ(wire[0][i], wire[1][i]) << "message " << i;
}

TEST(compression_stream, a_reader_whose_queue_dropped_messages_inflates_every_one_it_gets) {
  // No idle timeout: these raw clients do not answer pings, and under a sanitizer the run can
  // take longer than a minute.
  crier_process server({"--compression-context-members", "2", "--slow-consumer", "drop-oldest",
                        "--max-queue-bytes", "64KiB", "--idle-timeout", "0"});
  follower reader, stalled;
  reader.connect(server.port(), "/ws/drops");
  // A 4 KiB receive buffer: the server's writes to it stall soon, and its queue drops the oldest.
  stalled.connect(server.port(), "/ws/drops", offer, 4096);
  ws_client speaker(server.port(), "/ws/drops");
  // Words and 6,000 hex digits that compress only to half: over 7 MB on the wire, more than the
  // kernel's buffers hold for the stalled reader (on loopback its send buffer grows to tcp_wmem's
  // 4 MiB). Few large messages rather than many small ones: a sanitizer build pays per message.
  auto const message = [](std::size_t i) {
    auto s = chat_line(i);
    std::uint64_t x = i * 0x9e3779b97f4a7c15ULL + 1;
    for (int k = 0; k < 6000; ++k) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      s += "0123456789abcdef"[x & 15];
    }
    return s;
  };
  constexpr std::size_t sent = 2400, batch = 10; // 62 KB a batch: within a reading client's socket buffers
  for (std::size_t i = 0; i < sent; i += batch) {
    for (auto k = i; k < i + batch; ++k) speaker.send_text(message(k));
    for (auto k = i; k < i + batch; ++k) speaker.receive(30s);
    // Paced by the reader that keeps reading, so that only the stalled one falls behind.
    for (auto k = i; k < i + batch; ++k) ASSERT_EQ(reader.next(), message(k));
  }
  // Now the stalled reader reads everything: in order, each message inflates, up to the last.
  std::size_t received = 0, last = 0;
  for (;;) {
    auto const text = stalled.next();
    auto const id = std::stoul(text.substr(7, 5)) - 10000;
    ASSERT_EQ(text, message(id));
    ASSERT_TRUE(received == 0 || id > last) << id << " after " << last;
    last = id;
    ++received;
    if (id == sent - 1) break;
  }
  auto const dropped = metric(server.port(), "crier_slow_consumer_dropped_total");
  EXPECT_GT(dropped, 0) << "the queue dropped some: the reader fell out of step; received " << received;
  EXPECT_EQ(received + static_cast<std::size_t>(dropped), sent) << "received + dropped = sent, exactly";
  // The reader that kept reading got every message from the stream; the stalled one fell out of
  // step where its queue dropped, and got some compressed on their own until a reset point.
  auto const streamed = metric_once(server.port(), "crier_compressed_stream_messages_out_total",
                                    [&](double v) { return v >= static_cast<double>(sent); });
  EXPECT_GE(streamed, static_cast<double>(sent));
  EXPECT_LT(streamed, static_cast<double>(sent + received));
}

} // namespace
} // namespace crier::test
