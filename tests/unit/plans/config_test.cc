#include "plans/config.h"

#include <gtest/gtest.h>

namespace shardshift::plans {
namespace {

TEST(ConfigTest, ReadsDatabasesWithPositions) {
  Config c = ParseConfig("[databases.a]\nurl = \"postgres://h/a\"\n\n[databases.b]\nurl = \"mysql://h/b\"\n",
                         "cfg.toml");
  ASSERT_EQ(c.databases.size(), 2u);
  EXPECT_EQ(c.databases.at("a").url, "postgres://h/a");
  EXPECT_EQ(c.databases.at("b").pos.line, 5);
  EXPECT_EQ(c.databases.at("b").pos.file, "cfg.toml");
}

TEST(ConfigTest, KeepsEnvReferencesUnexpanded) {
  Config c = ParseConfig("[databases.a]\nurl = \"postgres://u:${PW}@h/a\"\n", "cfg.toml");
  EXPECT_EQ(c.databases.at("a").url, "postgres://u:${PW}@h/a");
}

struct BadConfig {
  const char* text;
  const char* expected;  // substring of the message
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, NamesFileLineAndField) {
  try {
    ParseConfig(GetParam().text, "cfg.toml");
    FAIL() << "accepted: " << GetParam().text;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
    EXPECT_EQ(e.pos().file, "cfg.toml");
    EXPECT_GT(e.pos().line, 0) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(
        BadConfig{"[databases.a]\nurl = \"x\"\n[databases.a]\n", "cfg.toml:3"},       // redefined
        BadConfig{"[databases.a]\nurl = 5\n", "cfg.toml:2:7: field 'databases.a.url': expected a string"},
        BadConfig{"[databases.a]\nuser = \"x\"\n", "field 'databases.a.user': unknown field"},
        BadConfig{"[databases.a]\n", "field 'databases.a.url': missing required field"},
        BadConfig{"[databses.a]\nurl = \"x\"\n", "field 'databses': unknown field"},
        BadConfig{"[databases]\na = \"postgres://h/a\"\n", "field 'databases.a'"},
        BadConfig{"[databases.a]\nurl = \"\"\n", "must not be empty"},
        BadConfig{"[databases.a\nurl = \"x\"\n", "malformed TOML"}));

}  // namespace
}  // namespace shardshift::plans
