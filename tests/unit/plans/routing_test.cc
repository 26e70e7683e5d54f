#include "plans/routing.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>

#include "plans/directory.h"
#include "plans/input_error.h"

namespace shardshift::plans {
namespace {

TEST(RoutingTest, CanonicalBytesPrefixEachPartWithItsLength) {
  EXPECT_EQ(CanonicalKeyBytes({"42"}), std::string("\0\0\0\x02" "42", 6));
  EXPECT_EQ(CanonicalKeyBytes({"12", ""}), std::string("\0\0\0\x02" "12" "\0\0\0\0", 10));
  // Length prefixes keep ("1", "23") and ("12", "3") apart.
  EXPECT_NE(KeyHash({"1", "23"}), KeyHash({"12", "3"}));
}

TEST(RoutingTest, XxHash64MatchesTheReferenceConstant) {
  // XXH64 of no bytes with seed 0, from the xxHash reference.
  EXPECT_EQ(KeyHash({}), 0xEF46DB3751D8E999ULL);
}

// The documented vectors are the contract applications implement against.
TEST(RoutingTest, MatchesTheVectorsInTheDocs) {
  std::ifstream in(std::string(SHARDSHIFT_SOURCE_DIR) + "/docs/routing.md");
  std::regex row(R"(^\| \[(.*)\] \| ([0-9a-f]{16}) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$)");
  std::regex part(R"re("([^"]*)")re");
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    std::vector<std::string> key;
    std::string parts = m[1];
    for (std::sregex_iterator it(parts.begin(), parts.end(), part), end; it != end; ++it) key.push_back((*it)[1]);
    EXPECT_EQ(KeyHash(key), std::stoull(m[2], nullptr, 16)) << line;
    EXPECT_EQ(ShardForKey(key, 1), std::stoi(m[3])) << line;
    EXPECT_EQ(ShardForKey(key, 2), std::stoi(m[4])) << line;
    EXPECT_EQ(ShardForKey(key, 4), std::stoi(m[5])) << line;
    EXPECT_EQ(ShardForKey(key, 10), std::stoi(m[6])) << line;
    ++rows;
  }
  EXPECT_GE(rows, 10);
}

TEST(RoutingTest, GrowingMovesKeysOnlyOntoTheNewShard) {
  constexpr int kKeys = 20000;
  for (int n = 1; n < 12; ++n) {
    int moved = 0;
    for (int k = 0; k < kKeys; ++k) {
      uint64_t h = KeyHash({std::to_string(k)});
      int before = JumpConsistentHash(h, n);
      int after = JumpConsistentHash(h, n + 1);
      if (before != after) {
        EXPECT_EQ(after, n) << "key " << k << " moved between old shards";
        ++moved;
      }
    }
    double expected = kKeys / static_cast<double>(n + 1);
    EXPECT_NEAR(moved, expected, expected * 0.1) << "growing " << n << " -> " << n + 1;
  }
}

TEST(RoutingTest, SpreadsSequentialKeysEvenly) {
  constexpr int kShards = 7;
  constexpr int kKeys = 70000;
  std::vector<int> counts(kShards);
  for (int k = 1; k <= kKeys; ++k) ++counts[ShardForKey({std::to_string(k)}, kShards)];
  for (int c : counts) EXPECT_NEAR(c, kKeys / kShards, kKeys / kShards * 0.05);
}

TEST(RoutingTest, MapRoundTripsAndMatchesTheDocs) {
  RoutingMap map{1, "public.users", {"id"}, std::string(kRoutingFunction),
                 {"pg_hash_0", "pg_hash_1", "pg_hash_2", "pg_hash_3"}};
  std::string text = WriteRoutingToml(map);
  RoutingMap back = ParseRouting(text, "r.toml");
  EXPECT_EQ(back.shards, map.shards);
  EXPECT_EQ(back.key, map.key);
  EXPECT_EQ(WriteRoutingToml(back), text);
  EXPECT_EQ(RoutingToJson(map)["shards"][3], "pg_hash_3");
  std::ifstream in(std::string(SHARDSHIFT_SOURCE_DIR) + "/docs/routing.md");
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(doc.find("```toml routing\n" + text + "```"), std::string::npos) << "docs/routing.md shows another format";
}

TEST(RoutingTest, UnknownFunctionIsRefused) {
  std::string text = WriteRoutingToml({1, "t", {"id"}, std::string(kRoutingFunction), {"a"}});
  text.replace(text.find("xxh64-jump-v1"), 13, "md5-modulo");
  try {
    ParseRouting(text, "r.toml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("r.toml:6:12: field 'routing.function': unknown routing function 'md5-modulo'"),
              std::string::npos) << e.what();
  }
}

TEST(DirectoryTest, AnEntryWinsOverTheDefaultRule) {
  Directory d;
  d.layout.rule = "xxh64-jump-v1";
  d.layout.shards = {"s0", "s1", "s2", "s3"};
  // Without an entry, the hash rule: the test vectors above.
  EXPECT_EQ(d.ShardOf("1"), "s2");
  EXPECT_EQ(d.ShardOf("alice@example.com"), "s3");
  d.entries["1"] = "s9";
  EXPECT_EQ(d.ShardOf("1"), "s9");
  EXPECT_EQ(d.ShardOf("01"), d.layout.DefaultShard("01"));  // keys are compared as text
}

TEST(DirectoryTest, RangeRuleHoldsIntegersInHalfOpenRanges) {
  DirectoryLayout l;
  l.rule = "range";
  l.shards = {"a", "b"};
  l.ranges = {{std::nullopt, 100}, {200, std::nullopt}};
  EXPECT_EQ(l.DefaultShard("-5"), "a");
  EXPECT_EQ(l.DefaultShard("99"), "a");
  EXPECT_EQ(l.DefaultShard("100"), std::nullopt);  // the gap: no rule holds it
  EXPECT_EQ(l.DefaultShard("200"), "b");
  EXPECT_EQ(l.DefaultShard("x"), std::nullopt);
  EXPECT_EQ(l.DefaultShard("12x"), std::nullopt);
  EXPECT_EQ(DirectoryLayout::ParseRanges(l.RangesJson()), l.ranges);
  EXPECT_EQ(l.RangesJson(), "[[null,100],[200,null]]");
  EXPECT_THROW(DirectoryLayout::ParseRanges("[[1]]"), std::runtime_error);
  EXPECT_THROW(DirectoryLayout::ParseRanges("[[1.5, 2]]"), std::runtime_error);
  EXPECT_THROW(DirectoryLayout::ParseRanges("{"), std::runtime_error);
  DirectoryLayout one;
  one.rule = "range";
  one.shards = {"only"};
  one.ranges = {{std::nullopt, std::nullopt}};
  EXPECT_EQ(one.DefaultShard("any text"), "only");
}

}  // namespace
}  // namespace shardshift::plans
