// What the access rules write to the log: token parameters are redacted in any spelling.
#include "common/access.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(access, redact_target_hides_every_token_parameter) {
  EXPECT_EQ(redact_target("/ws/lobby"), "/ws/lobby");
  EXPECT_EQ(redact_target("/ws?name=ann"), "/ws?name=ann");
  EXPECT_EQ(redact_target("/ws?token=s3cret"), "/ws?token=***");
  EXPECT_EQ(redact_target("/ws?name=ann&token=s3cret&since=4"), "/ws?name=ann&token=***&since=4");
  EXPECT_EQ(redact_target("/ws?token=a&token=b"), "/ws?token=***&token=***");
  EXPECT_EQ(redact_target("/ws?token="), "/ws?token=***");
}

TEST(access, redact_target_matches_the_key_in_any_case_and_encoding) {
  EXPECT_EQ(redact_target("/ws?TOKEN=s3cret"), "/ws?TOKEN=***");
  EXPECT_EQ(redact_target("/ws?Token=s3cret&x=1"), "/ws?Token=***&x=1");
  EXPECT_EQ(redact_target("/ws?%74oken=s3cret"), "/ws?%74oken=***");
  EXPECT_EQ(redact_target("/ws?%54%4f%4B%45%4e=s3cret"), "/ws?%54%4f%4B%45%4e=***");
  // Only the key "token": other keys that contain it are left alone.
  EXPECT_EQ(redact_target("/ws?tokens=1&my_token=2"), "/ws?tokens=1&my_token=2");
  // Malformed escapes are not decoded, and nothing is out of bounds.
  EXPECT_EQ(redact_target("/ws?%7=1&%"), "/ws?%7=1&%");
}

} // namespace
} // namespace crier
