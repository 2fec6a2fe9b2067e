// How crier's state looks in Redis: the key and channel names other nodes (and older builds)
// agree on, member values, and the stream ids a seq maps to and back.
#include "server/cluster/redis_schema.hpp"

#include "server/cluster/redis_connection.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(redis_schema, keys_are_spelled_as_every_node_expects) {
  EXPECT_EQ(redis_schema::seq_key("lobby"), "crier:room:lobby:seq");
  EXPECT_EQ(redis_schema::stream_key("lobby"), "crier:room:lobby:stream");
  EXPECT_EQ(redis_schema::epoch_key("lobby"), "crier:room:lobby:epoch");
  EXPECT_EQ(redis_schema::members_key("lobby"), "crier:room:lobby:members");
  EXPECT_EQ(redis_schema::rooms_key(), "crier:rooms");
  EXPECT_EQ(redis_schema::nodes_key(), "crier:nodes");
  EXPECT_EQ(redis_schema::heartbeat_key("n1"), "crier:node:n1");
  EXPECT_EQ(redis_schema::node_rooms_key("n1"), "crier:node:n1:rooms");
}

TEST(redis_schema, the_scripts_patterns_make_the_same_keys) {
  EXPECT_EQ(redis_schema::members_pattern()("lobby"), redis_schema::members_key("lobby"));
  EXPECT_EQ(redis_schema::heartbeat_pattern()("n1"), redis_schema::heartbeat_key("n1"));
  EXPECT_EQ(redis_schema::node_rooms_pattern()("n1"), redis_schema::node_rooms_key("n1"));
}

TEST(redis_schema, channels_name_the_database) {
  redis_schema const s{3};
  EXPECT_EQ(s.channel("lobby"), "crier:3:room:lobby");
  EXPECT_EQ(s.channel_prefix(), "crier:3:room:");
  EXPECT_EQ(s.room_of("crier:3:room:lobby"), "lobby");
  EXPECT_EQ(s.room_of("crier:3:room:a:b"), "a:b");
  EXPECT_FALSE(s.room_of("crier:0:room:lobby"));
}

TEST(redis_schema, member_values_carry_the_node) {
  EXPECT_EQ(redis_schema::member_value("n1", "Zoë the name"), "n1 Zoë the name");
  auto const v = redis_schema::split_member_value("n1 Zoë the name");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->node, "n1");
  EXPECT_EQ(v->label, "Zoë the name");
  EXPECT_EQ(redis_schema::member_value("n1", ""), "n1 ");
  EXPECT_FALSE(redis_schema::split_member_value("nospace"));
}

TEST(redis_schema, stream_ids_map_seqs) {
  EXPECT_EQ(redis_schema::stream_first(7), "7-0");
  EXPECT_EQ(redis_schema::stream_last(9), "9-1");
  EXPECT_EQ(redis_schema::stream_after(0), "-");
  EXPECT_EQ(redis_schema::stream_after(12), "12-2");
  EXPECT_EQ(redis_schema::seq_of_stream_id("42-1"), 42U);
  EXPECT_EQ(redis_schema::seq_of_stream_id("18446744073709551615-1"), 18446744073709551615ULL);
  EXPECT_EQ(redis_schema::seq_of_stream_id("42"), 42U);
  EXPECT_FALSE(redis_schema::seq_of_stream_id("4x-1"));
}

TEST(redis_schema, a_stream_entry_is_its_text_envelope_with_the_ids_seq) {
  envelope const e{envelope::kind::text, 0, "n1", 5, {"id", "name"}, "hello"};
  redis_reply entry{redis_reply::kind::array, {}, 0, {}};
  entry.elements.push_back({redis_reply::kind::string, "17-1", 0, {}});
  redis_reply fields{redis_reply::kind::array, {}, 0, {}};
  fields.elements.push_back({redis_reply::kind::string, "e", 0, {}});
  fields.elements.push_back({redis_reply::kind::string, encode(e), 0, {}});
  entry.elements.push_back(fields);
  auto const d = redis_schema::stream_entry(entry);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->seq, 17U);
  EXPECT_EQ(d->payload, "hello");

  envelope const join{envelope::kind::join, 0, "n1", 5, {"id", "name"}, {}};
  entry.elements[1].elements[1].str = encode(join);
  EXPECT_FALSE(redis_schema::stream_entry(entry)); // only text is kept in the stream
}

TEST(redis_schema, disconnect_orders_round_trip_on_the_database_s_control_channel) {
  EXPECT_EQ(redis_schema(3).control_channel(), "crier:3:control");
  auto const m = redis_schema::disconnect_message("lobby", "user 42");
  auto const d = redis_schema::parse_disconnect(m);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->room, "lobby");
  EXPECT_EQ(d->user, "user 42");
  auto const everywhere = redis_schema::parse_disconnect(redis_schema::disconnect_message("", "ann"));
  ASSERT_TRUE(everywhere);
  EXPECT_TRUE(everywhere->room.empty());
  for (std::string_view bad : {"", "d", "d\n", "d\nlobby", "d\nlobby\n", "x\nlobby\nann"})
    EXPECT_FALSE(redis_schema::parse_disconnect(bad)) << bad;
  EXPECT_EQ(redis_schema::idempotency_key("lobby"), "crier:room:lobby:idempotency");
}

} // namespace
} // namespace crier
