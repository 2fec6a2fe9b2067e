// The SSE wire format (common/sse): ids, what is read from the front of an event, and how an
// event is written, checked against the SSE specification's line rules.
#include "common/names.hpp"
#include "common/protocol.hpp"
#include "common/sse.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(sse_ids, round_trip_and_refuse_anything_else) {
  EXPECT_EQ(format_event_id("9c1f03aa", 41), "9c1f03aa:41");
  auto const id = parse_event_id("9c1f03aa:41");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->epoch, "9c1f03aa");
  EXPECT_EQ(id->seq, 41u);
  EXPECT_EQ(parse_event_id("e:0")->seq, 0u);
  EXPECT_EQ(parse_event_id("e:18446744073709551615")->seq, UINT64_MAX);
  for (std::string_view bad : {"", ":", "e:", ":5", "e5", "e:-1", "e:+1", "e:1x", "e: 1", "e:18446744073709551616",
                               "e-f:1", "e:1:2", "\xc3\xa9:1"})
    EXPECT_FALSE(parse_event_id(bad)) << bad;
  EXPECT_FALSE(parse_event_id(std::string(65, 'e') + ":1")) << "epochs are short";
}

TEST(sse_events, read_the_type_and_seq_from_crier_s_rendering) {
  member_info const ann{"a1", "ann", ""};
  auto const message = render_message(7, 1, ann, "hi");
  auto const head = read_event_head(message);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->type, "message");
  EXPECT_EQ(head->seq, 7u);
  auto const unsequenced = read_event_head(render_unsequenced_message(1, ann, "hi"));
  ASSERT_TRUE(unsequenced);
  EXPECT_FALSE(unsequenced->seq);
  EXPECT_EQ(read_event_head(render_presence("join", 1, ann))->type, "join");
  EXPECT_FALSE(read_event_head("hello"));
  EXPECT_FALSE(read_event_head(R"({"type":"Bad Type"})"));
  EXPECT_FALSE(read_event_head(R"({"type":""})"));
  EXPECT_FALSE(read_event_head(R"({"type":"unterminated)"));
}

TEST(sse_events, a_message_gets_its_id_and_one_data_line) {
  member_info const ann{"a1", "ann", ""};
  auto const json = render_message(3, 5, ann, "line one\nline two");
  std::string out;
  ASSERT_TRUE(append_sse_event(out, json, "ep0ch"));
  EXPECT_EQ(out, "event: message\nid: ep0ch:3\ndata: " + json + "\n\n");
  EXPECT_EQ(out.find('\n', out.find("data: ")), out.size() - 2) << "the JSON escapes its line breaks";

  std::string join;
  ASSERT_TRUE(append_sse_event(join, render_presence("join", 1, ann), "ep0ch"));
  EXPECT_EQ(join.find("id:"), std::string::npos) << "only messages are places to resume from";
  std::string rejected = "kept";
  EXPECT_FALSE(append_sse_event(rejected, "not json", "e"));
  EXPECT_EQ(rejected, "kept");
}

TEST(sse_events, raw_line_breaks_become_data_lines_a_client_joins_back) {
  std::string out;
  ASSERT_TRUE(append_sse_event(out, "{\"type\":\"x\",\r\n\"a\":1,\r\"b\":2\n}", "e"));
  EXPECT_EQ(out, "event: x\ndata: {\"type\":\"x\",\ndata: \"a\":1,\ndata: \"b\":2\ndata: }\n\n");
}

TEST(sse_events, the_stream_s_own_lines) {
  EXPECT_EQ(sse_retry(1000), "retry: 1000\n\n");
  EXPECT_EQ(sse_keep_alive.front(), ':');
  EXPECT_EQ(sse_close_event(1001, "going away"),
            "event: close\ndata: {\"type\":\"close\",\"code\":1001,\"reason\":\"going away\"}\n\n");
}

TEST(sse_paths, name_the_room) {
  EXPECT_EQ(room_from_sse_path("/sse"), "lobby");
  EXPECT_EQ(room_from_sse_path("/sse/"), "lobby");
  EXPECT_EQ(room_from_sse_path("/sse/ops"), "ops");
  EXPECT_EQ(room_from_sse_path("/sse/a/b"), "");
  EXPECT_EQ(room_from_sse_path("/sse/.."), "");
  EXPECT_FALSE(room_from_sse_path("/ssex"));
  EXPECT_FALSE(room_from_sse_path("/ws/ops"));
}

} // namespace
} // namespace crier
