// The server API's bodies: what decodes, and what each refusal says.
#include "common/api_body.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(api_body, a_publish_with_and_without_from) {
  auto const plain = std::get<publish_body>(parse_publish_body(R"({"text":"hi"})", 10));
  EXPECT_EQ(plain.text, "hi");
  EXPECT_TRUE(plain.user.empty() && plain.name.empty());
  auto const from = std::get<publish_body>(parse_publish_body(R"({"text":"","from":{"user":"u-1","name":" Ann "}})", 10));
  EXPECT_EQ(from.user, "u-1");
  EXPECT_EQ(from.name, "Ann");
  EXPECT_TRUE(std::holds_alternative<publish_body>(parse_publish_body(R"({"text":"hi","from":null})", 10)));
}

TEST(api_body, refusals_say_what_is_wrong_and_size_is_a_413) {
  auto const error = [](std::string_view body) { return std::get<api_body_error>(parse_publish_body(body, 4)); };
  EXPECT_TRUE(error(R"({"text":"12345"})").too_large);
  EXPECT_FALSE(error("{").too_large);
  EXPECT_NE(error("{").message.find("JSON"), std::string::npos);
  EXPECT_NE(error("[]").message.find("object"), std::string::npos);
  EXPECT_NE(error("{}").message.find("text"), std::string::npos);
  EXPECT_NE(error(R"({"text":1})").message.find("text"), std::string::npos);
  EXPECT_NE(error(R"({"text":"a","from":[]})").message.find("from"), std::string::npos);
  EXPECT_NE(error(R"({"text":"a","from":{"user":7}})").message.find("user"), std::string::npos);
  EXPECT_NE(error(R"({"text":"a","from":{"user":"\u0001"}})").message.find("user"), std::string::npos);
  EXPECT_NE(error(R"({"text":"a","from":{"name":""}})").message.find("name"), std::string::npos);
  EXPECT_NE(error(std::string(20, '[') + std::string(20, ']')).message.find("JSON"), std::string::npos) << "depth";
}

TEST(api_body, a_disconnect_names_a_valid_user) {
  EXPECT_EQ(std::get<std::string>(parse_disconnect_body(R"({"user":"ann"})")), "ann");
  for (std::string_view bad : {"", "{}", R"({"user":""})", R"({"user":5})", R"({"user":"a\nb"})"})
    EXPECT_TRUE(std::holds_alternative<api_body_error>(parse_disconnect_body(bad))) << bad;
  EXPECT_TRUE(std::holds_alternative<api_body_error>(parse_disconnect_body(R"({"user":")" + std::string(129, 'u') + "\"}")));
}

} // namespace
} // namespace crier
