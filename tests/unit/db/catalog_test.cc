#include "db/catalog.h"

#include <gtest/gtest.h>

#include "db/error.h"

namespace shardshift::db {
namespace {

Catalog Sample() {
  EnvLookup env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "PW") return "hunter2";
    return std::nullopt;
  };
  return Catalog({{"a", "postgres://u:${PW}@h/a", "cfg.toml:2:7"},
                  {"b", "redis://u:hunter2@h/b", "cfg.toml:5:7"},
                  {"c", "mysql://u:${MISSING}@h/c", "cfg.toml:8:7"}},
                 "cfg.toml", env);
}

TEST(CatalogTest, ExpandsAndParses) {
  Catalog c = Sample();
  EXPECT_EQ(c.Url("a").password, "hunter2");
  EXPECT_EQ(c.Url("a").Redacted(), "postgres://u:***@h/a");
  EXPECT_EQ(c.Names(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(CatalogTest, UnknownNameListsTheKnownOnes) {
  Catalog c = Sample();
  try {
    c.Url("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(e.is_bad_input());
    EXPECT_STREQ(e.what(), "unknown database 'nope': not in cfg.toml (it names a, b, c)");
  }
}

TEST(CatalogTest, BadUrlNamesWhereItWasWritten) {
  Catalog c = Sample();
  try {
    c.Url("b");
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_TRUE(m.starts_with("cfg.toml:5:7: field 'databases.b.url': ")) << m;
    EXPECT_NE(m.find("unknown scheme 'redis'"), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
  }
  try {
    c.Url("c");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.toml:8:7: field 'databases.c.url': environment variable MISSING is not set"),
              std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace shardshift::db
