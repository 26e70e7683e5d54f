#include "db/url.h"

#include <gtest/gtest.h>

#include "db/error.h"

namespace shardshift::db {
namespace {

struct GoodUrl {
  std::string text;
  Engine engine;
  std::string user, password, host;
  int port;
  std::string database;
  std::string redacted;
};

class GoodUrlTest : public ::testing::TestWithParam<GoodUrl> {};

TEST_P(GoodUrlTest, Parses) {
  const GoodUrl& g = GetParam();
  ConnectionUrl u = ParseUrl(g.text);
  EXPECT_EQ(u.engine, g.engine);
  EXPECT_EQ(u.user, g.user);
  EXPECT_EQ(u.password, g.password);
  EXPECT_EQ(u.host, g.host);
  EXPECT_EQ(u.port, g.port);
  EXPECT_EQ(u.database, g.database);
  EXPECT_EQ(u.Redacted(), g.redacted);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GoodUrlTest,
    ::testing::Values(
        GoodUrl{"postgres://u:secret@db1:6543/app", Engine::kPostgres, "u", "secret", "db1", 6543,
                "app", "postgres://u:***@db1:6543/app"},
        GoodUrl{"postgresql://db1/app", Engine::kPostgres, "", "", "db1", 0, "app",
                "postgresql://db1/app"},
        GoodUrl{"mysql://root:p%40ss%3Aw@127.0.0.1:3307/shop", Engine::kMySQL, "root", "p@ss:w",
                "127.0.0.1", 3307, "shop", "mysql://root:***@127.0.0.1:3307/shop"},
        GoodUrl{"mariadb://m@[fd00::7]:3306/x", Engine::kMySQL, "m", "", "fd00::7", 3306, "x",
                "mariadb://m@[fd00::7]:3306/x"},
        GoodUrl{"postgres://u:pw@h/d?sslmode=require&sslpassword=hush", Engine::kPostgres, "u",
                "pw", "h", 0, "d", "postgres://u:***@h/d?sslmode=require&sslpassword=***"},
        GoodUrl{"postgres://u@h/my%20db", Engine::kPostgres, "u", "", "h", 0, "my db",
                "postgres://u@h/my%20db"},
        // A raw "@" in the password (not percent-encoded): the last "@" ends the user information.
        GoodUrl{"postgres://u:p@ss@h/d", Engine::kPostgres, "u", "p@ss", "h", 0, "d", "postgres://u:***@h/d"}));

TEST(UrlTest, KeepsQueryOptionsInOrder) {
  ConnectionUrl u = ParseUrl("postgres://h/d?sslmode=verify-full&connect_timeout=3");
  ASSERT_EQ(u.options.size(), 2u);
  EXPECT_EQ(u.options[0], (std::pair<std::string, std::string>{"sslmode", "verify-full"}));
  EXPECT_EQ(u.options[1].first, "connect_timeout");
}

struct BadUrl {
  std::string text;
  std::string expected;
};

class BadUrlTest : public ::testing::TestWithParam<BadUrl> {};

TEST_P(BadUrlTest, IsBadInputWithoutThePassword) {
  try {
    ParseUrl(GetParam().text);
    FAIL() << "accepted " << GetParam().text;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_TRUE(e.is_bad_input());
    EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadUrlTest,
    ::testing::Values(
        BadUrl{"redis://u:s3cr3t@h/0", "unknown scheme 'redis'"},
        BadUrl{"redis://u:s3cr3t@h/0", "redis://u:***@h/0"},
        BadUrl{"u:s3cr3t@h/0", "expected scheme://"},
        BadUrl{"postgres://u:s3cr3t@h:99999/d", "port is not a number"},
        BadUrl{"postgres://u:s3cr3t@h:x1/d", "port is not a number"},
        BadUrl{"postgres://u:s3cr3t@/d", "no host"},
        BadUrl{"postgres://u:s3cr3t%zz@h/d", "bad percent-escape in the password"},
        BadUrl{"mysql://u:s3cr3t@h/d?novalue", "key=value"},
        // Raw "@", "/" and "?" in a password: whatever fails, nothing of it is shown.
        BadUrl{"postgres://u:pa@s3cr3t/x@h:1/d", "postgres://u:***@h:1/d"},
        BadUrl{"postgres://u:pa@s3cr3t?x@h:1/d", "postgres://u:***@h:1/d"},
        BadUrl{"mysql://u:p@s/s3cr3t@h@h/d?novalue", "mysql://u:***@h/d?novalue"},
        BadUrl{"postgres://h/d?password=s3cr3t&novalue", "postgres://h/d?password=***&novalue"}));

TEST(ExpandEnvTest, ReplacesVariables) {
  EnvLookup env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "PW") return "s3cr3t";
    if (n == "EMPTY") return "";
    return std::nullopt;
  };
  EXPECT_EQ(ExpandEnv("postgres://u:${PW}@h/d", env), "postgres://u:s3cr3t@h/d");
  EXPECT_EQ(ExpandEnv("a${EMPTY}b", env), "ab");
  EXPECT_EQ(ExpandEnv("cost $$5 and $x", env), "cost $5 and $x");
}

TEST(ExpandEnvTest, UnsetVariableIsNamed) {
  EnvLookup env = [](const std::string&) { return std::nullopt; };
  try {
    ExpandEnv("postgres://u:${DB_PASSWORD}@h/d", env);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("DB_PASSWORD is not set"), std::string::npos);
  }
  EXPECT_THROW(ExpandEnv("a ${OPEN", env), Error);
}

}  // namespace
}  // namespace shardshift::db
