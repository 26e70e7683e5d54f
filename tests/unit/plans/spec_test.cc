#include "plans/spec.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "plans/routing.h"

namespace shardshift::plans {
namespace {

constexpr const char* kRangeSpec = R"(
[migration]
name = "users-onto-hash"
kind = "reshard"

[reshard]
table = "public.users"
key = ["id"]

[reshard.source]
layout = "range"

[[reshard.source.shards]]
database = "a"
to = 100

[[reshard.source.shards]]
database = "b"
from = 100

[reshard.target]
databases = ["h0", "h1", "h2"]
)";

TEST(SpecTest, ReadsARangeReshard) {
  Spec s = ParseSpec(kRangeSpec, "spec.toml");
  EXPECT_EQ(s.name, "users-onto-hash");
  EXPECT_EQ(s.kind, MigrationKind::kReshard);
  ASSERT_TRUE(s.reshard);
  const ReshardSpec& r = *s.reshard;
  EXPECT_EQ(r.table, "public.users");
  EXPECT_EQ(r.target_table, "public.users");
  EXPECT_EQ(r.source_layout, SourceLayout::kRange);
  ASSERT_EQ(r.sources.size(), 2u);
  EXPECT_FALSE(r.sources[0].from);
  EXPECT_EQ(*r.sources[0].to, KeyValue{"100"});
  EXPECT_EQ(*r.sources[1].from, KeyValue{"100"});
  EXPECT_FALSE(r.sources[1].to);
  EXPECT_EQ(r.sources[1].database.pos.line, 18);
  ASSERT_EQ(r.targets.size(), 3u);
  EXPECT_EQ(r.targets[2].name, "h2");
  EXPECT_EQ(s.options.chunk_rows, 1000);  // default
}

TEST(SpecTest, HashIgnoresCommentsWhitespaceAndKeyOrder) {
  std::string reordered = R"(
# a comment
[reshard.target]
databases = [ "h0","h1",   "h2" ]

[migration]
kind = "reshard"   # kind first this time
name = "users-onto-hash"

[reshard]
key = ["id"]
table = "public.users"
[reshard.source]
layout = "range"
[[reshard.source.shards]]
to = 100
database = "a"
[[reshard.source.shards]]
database = "b"
from = 100
)";
  EXPECT_EQ(SpecHash(ParseSpec(kRangeSpec, "a.toml")), SpecHash(ParseSpec(reordered, "b.toml")));
}

TEST(SpecTest, HashChangesWithMeaning) {
  std::string changed = kRangeSpec;
  changed.replace(changed.find("\"h2\""), 4, "\"h3\"");
  EXPECT_NE(SpecHash(ParseSpec(kRangeSpec, "a.toml")), SpecHash(ParseSpec(changed, "a.toml")));
  EXPECT_TRUE(SpecHash(ParseSpec(kRangeSpec, "a.toml")).starts_with("xxh64:"));
}

TEST(SpecTest, CompositeBoundsAndOptions) {
  Spec s = ParseSpec(R"(
[migration]
name = "x"
kind = "reshard"
[options]
chunk_rows = 5000
skew_warning = 1.5
check_command = "test -f /tmp/go"
[reshard]
table = "t"
key = ["a", "b"]
[reshard.source]
layout = "range"
[[reshard.source.shards]]
database = "s"
from = [1, "x"]
to = [2, "y"]
[reshard.target]
databases = ["t0"]
)", "s.toml");
  EXPECT_EQ(s.options.chunk_rows, 5000);
  EXPECT_DOUBLE_EQ(s.options.skew_warning, 1.5);
  EXPECT_EQ(s.options.check_command, "test -f /tmp/go");
  EXPECT_EQ(*s.reshard->sources[0].from, (KeyValue{"1", "x"}));
}

struct BadSpec {
  std::string from;  // text in kRangeSpec to replace
  std::string to;
  std::string expected;  // substring of the error
};

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, IsRefusedWithFileLineAndField) {
  std::string text = kRangeSpec;
  size_t at = text.find(GetParam().from);
  ASSERT_NE(at, std::string::npos) << GetParam().from;
  text.replace(at, GetParam().from.size(), GetParam().to);
  try {
    ParseSpec(text, "spec.toml");
    FAIL() << "accepted:\n" << text;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
    EXPECT_TRUE(std::string(e.what()).starts_with("spec.toml:")) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadSpecTest,
    ::testing::Values(
        BadSpec{"name = \"users-onto-hash\"\n", "", "spec.toml:2:1: field 'migration.name': missing required field"},
        BadSpec{"name = \"users-onto-hash\"", "name = 7", "spec.toml:3:8: field 'migration.name': expected a string, got integer"},
        BadSpec{"kind = \"reshard\"", "kind = \"reshard_it\"", "unknown kind 'reshard_it'"},
        BadSpec{"kind = \"reshard\"", "kind = \"replica\"", "this spec's kind is 'replica'; remove the [reshard] section"},
        BadSpec{"key = [\"id\"]", "key = [\"id\", \"id\"]", "column 'id' is named twice"},
        BadSpec{"key = [\"id\"]", "key = []", "field 'reshard.key': must name at least one column"},
        BadSpec{"key = [\"id\"]", "key = \"id\"", "field 'reshard.key': expected an array of strings, got string"},
        BadSpec{"layout = \"range\"", "layout = \"list\"", "unknown layout 'list'"},
        BadSpec{"from = 100", "from = 50", "overlaps the previous range"},
        BadSpec{"to = 100", "to = [100, 2]", "the key has 1 column(s) but this bound has 2"},
        BadSpec{"to = 100", "to = 1.5", "a key bound must be an integer or a string, got float"},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]", "databases = [\"h0\", \"h0\"]", "database 'h0' is named twice"},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]", "databases = []", "must name at least one database"},
        BadSpec{"table = \"public.users\"", "table = \"public.users\"\ntabel = \"x\"", "field 'reshard.tabel': unknown field"},
        BadSpec{"[reshard.target]", "[options]\nchunk_rows = 0\n[reshard.target]", "field 'options.chunk_rows': must be from 1 to 1000000, not 0"},
        BadSpec{"[reshard.target]", "[options]\nchunk_rows = 9223372036854775807\n[reshard.target]",
                "field 'options.chunk_rows': must be from 1 to 1000000, not 9223372036854775807"},
        BadSpec{"[reshard.target]", "[options]\nlock_timeout_ms = 1099511627776\n[reshard.target]",
                "field 'options.lock_timeout_ms': must be from 1 to 600000"},
        BadSpec{"table = \"public.users\"", "table = \"us\\u0000ers\"", "field 'reshard.table': contains a NUL character"},
        BadSpec{"table = \"public.users\"", "table = \"us\\ters\"", "field 'reshard.table': a name must not contain control characters"},
        BadSpec{"table = \"public.users\"", "table = \"" + std::string(10'000, 'u') + "\"",
                "field 'reshard.table': a name of 10000 bytes; names have at most 128"},
        BadSpec{"[reshard.target]", "[options]\nskew_warning = nan\n[reshard.target]",
                "field 'options.skew_warning': must be from 1.0 to 1000.0"},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]", "databases = [\"h0\", \"a\"]", "database 'a' is both a source and a target of table 'public.users': set reshard.target_table"},
        BadSpec{"[reshard.target]", "[hooks]\nbefore_cutovr = \"x\"\n[reshard.target]", "field 'hooks.before_cutovr': unknown field"},
        BadSpec{"[reshard.target]", "[hooks]\ntimeout_ms = 0\n[reshard.target]", "field 'hooks.timeout_ms': must be from 1 to 86400000, not 0"},
        BadSpec{"[reshard.target]", "[hooks]\nduring_cutover = 3\n[reshard.target]", "field 'hooks.during_cutover': expected a string"},
        BadSpec{"layout = \"range\"", "layout = \"range\"\nlayout = \"hash\"", "malformed TOML"},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]", "layout = \"tree\"", "field 'reshard.target.layout': unknown layout 'tree'"},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]", "layout = \"directory\"",
                "field 'reshard.target.directory': missing required field"},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]",
                "layout = \"directory\"\ndatabases = [\"a\", \"c\"]\n[reshard.target.directory]\ndatabase = \"d\"",
                "spec.toml:23:13: field 'reshard.target.databases': a directory is created over the shards the table is on"},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]",
                "databases = [\"h0\"]\n[reshard.target.directory]\ndatabase = \"d\"",
                "field 'reshard.target.directory': goes with layout = \"directory\""},
        BadSpec{"databases = [\"h0\", \"h1\", \"h2\"]",
                "layout = \"directory\"\n[reshard.target.directory]\ndatabase = \"d\"\ntable = \"\"",
                "field 'reshard.target.directory.table': a name must not be empty"}));

TEST(SpecTest, ReadsADirectoryTargetOverTheSources) {
  std::string text = kRangeSpec;
  text.replace(text.find("databases = [\"h0\", \"h1\", \"h2\"]"), std::string("databases = [\"h0\", \"h1\", \"h2\"]").size(),
               "layout = \"directory\"\n[reshard.target.directory]\ndatabase = \"dir\"");
  Spec s = ParseSpec(text, "spec.toml");
  const ReshardSpec& r = *s.reshard;
  EXPECT_EQ(r.target_layout, TargetLayout::kDirectory);
  ASSERT_TRUE(r.directory);
  EXPECT_EQ(r.directory->database.name, "dir");
  EXPECT_EQ(r.directory->table, "shardshift_directory");
  ASSERT_EQ(r.targets.size(), 2u);  // the sources, in order
  EXPECT_EQ(r.targets[0].name, "a");
  EXPECT_EQ(r.targets[1].name, "b");
  EXPECT_NE(SpecHash(s), SpecHash(ParseSpec(kRangeSpec, "spec.toml")));
  std::string other = text;
  other.replace(other.find("database = \"dir\""), std::string("database = \"dir\"").size(), "database = \"dir2\"");
  EXPECT_NE(SpecHash(s), SpecHash(ParseSpec(other, "spec.toml")));
  // A directory routes by one column.
  std::string two = text;
  two.replace(two.find("key = [\"id\"]"), std::string("key = [\"id\"]").size(), "key = [\"id\", \"n\"]");
  for (const char* bound : {"to = 100", "from = 100"}) {
    two.replace(two.find(bound), std::string(bound).size(), std::string(bound).substr(0, std::string(bound).find('=') + 2) + "[100, 0]");
  }
  try {
    ParseSpec(two, "spec.toml");
    FAIL() << "accepted:\n" << two;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'reshard.shard_by': a directory routes by one column"), std::string::npos)
        << e.what();
  }
}

TEST(SpecTest, ReadsHooksAndTheyChangeTheHash) {
  std::string text = std::string(kRangeSpec) +
                     "[hooks]\nbefore_cutover = \"./ready.sh\"\nduring_cutover = \"./switch.sh\"\ntimeout_ms = 5000\n";
  Spec with = ParseSpec(text, "spec.toml");
  EXPECT_EQ(with.hooks.before_cutover, "./ready.sh");
  EXPECT_EQ(with.hooks.during_cutover, "./switch.sh");
  EXPECT_EQ(with.hooks.after_cutover, "");
  EXPECT_EQ(with.hooks.timeout_ms, 5000);
  Spec without = ParseSpec(kRangeSpec, "spec.toml");
  EXPECT_EQ(without.hooks.timeout_ms, 30000);
  EXPECT_NE(SpecHash(with), SpecHash(without));
}

TEST(SpecTest, CaptureIsAutoLogOrTriggerAndChangesTheHashOnlyWhenSet) {
  Spec plain = ParseSpec(kRangeSpec, "spec.toml");
  EXPECT_EQ(plain.options.capture, "auto");
  Spec automatic = ParseSpec(std::string(kRangeSpec) + "[options]\ncapture = \"auto\"\n", "spec.toml");
  EXPECT_EQ(SpecHash(automatic), SpecHash(plain));
  Spec log = ParseSpec(std::string(kRangeSpec) + "[options]\ncapture = \"log\"\n", "spec.toml");
  EXPECT_EQ(log.options.capture, "log");
  EXPECT_EQ(log.options.capture_pos.line, 24);
  EXPECT_NE(SpecHash(log), SpecHash(plain));
  Spec trigger = ParseSpec(std::string(kRangeSpec) + "[options]\ncapture = \"trigger\"\n", "spec.toml");
  EXPECT_NE(SpecHash(trigger), SpecHash(log));
  try {
    ParseSpec(std::string(kRangeSpec) + "[options]\ncapture = \"wal\"\n", "spec.toml");
    ADD_FAILURE() << "capture = \"wal\" was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "options.capture");
    EXPECT_EQ(e.pos().line, 24);
    EXPECT_NE(e.reason().find("\"auto\", \"log\" or \"trigger\""), std::string::npos) << e.what();
  }
}

TEST(SpecTest, CreateIndexShardsComeFromARoutingMapBesideTheSpec) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sst-spec-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  RoutingMap map;
  map.table = "users";
  map.key = {"id"};
  map.shards = {"pg_hash_0", "pg_hash_1", "pg_hash_2"};
  std::ofstream(dir / "users.routing.toml") << WriteRoutingToml(map);
  const std::string text = R"([migration]
name = "idx"
kind = "create_index"
[create_index]
routing_map = "users.routing.toml"
[[create_index.indexes]]
table = "users"
columns = ["email"]
)";
  Spec s = ParseSpec(text, (dir / "spec.toml").string());
  ASSERT_TRUE(s.create_index);
  std::vector<std::string> names;
  for (const auto& d : s.create_index->databases) names.push_back(d.name);
  EXPECT_EQ(names, map.shards);
  EXPECT_EQ(s.create_index->indexes.at(0).name, "users_email_idx");
  std::filesystem::remove(dir / "users.routing.toml");
  try {
    ParseSpec(text, (dir / "spec.toml").string());
    FAIL() << "a missing routing map was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("spec.toml:5:15: field 'create_index.routing_map': cannot use the routing map"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(SpecTest, IndexBuildIsAutoOnlineOrShadowAndChangesTheHashOnlyWhenSet) {
  const std::string base = R"([migration]
name = "idx"
kind = "create_index"
[create_index]
databases = ["pg_app"]
[[create_index.indexes]]
table = "users"
columns = ["email"]
)";
  const Spec plain = ParseSpec(base, "spec.toml");
  EXPECT_EQ(plain.create_index->indexes.at(0).build, "auto");
  EXPECT_EQ(SpecHash(plain), SpecHash(ParseSpec(base + "build = \"auto\"\n", "spec.toml")));
  const Spec shadow = ParseSpec(base + "build = \"shadow\"\n", "spec.toml");
  EXPECT_EQ(shadow.create_index->indexes.at(0).build, "shadow");
  EXPECT_NE(SpecHash(plain), SpecHash(shadow));
  try {
    ParseSpec(base + "build = \"fast\"\n", "spec.toml");
    FAIL() << "an unknown build was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("spec.toml:9:9: field 'create_index.indexes[0].build': expected \"auto\""), std::string::npos)
        << e.what();
  }
}

TEST(SpecTest, IndexKeyPartsAreColumnsOrParenthesizedExpressions) {
  const std::string base = R"([migration]
name = "idx"
kind = "create_index"
[create_index]
databases = ["pg_app"]
[[create_index.indexes]]
table = "users"
)";
  const Spec s = ParseSpec(base + R"x(columns = ["(lower(\"email\"))", "(coalesce(a, ')')) DESC", "name text_pattern_ops"])x",
                           "spec.toml");
  const auto& cols = s.create_index->indexes.at(0).columns;
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_TRUE(cols[0].expression);
  EXPECT_EQ(cols[0].name, "lower(\"email\")");
  EXPECT_TRUE(cols[1].expression);
  EXPECT_EQ(cols[1].name, "coalesce(a, ')')");  // a parenthesis inside a string does not close it
  EXPECT_TRUE(cols[1].descending);
  EXPECT_FALSE(cols[2].expression);
  EXPECT_EQ(cols[2].opclass, "text_pattern_ops");
  EXPECT_EQ(s.create_index->indexes.at(0).name, "users_lower_email_coalesce_a_name_idx");
  // An expression key part changes the spec's hash against the same text as a column.
  EXPECT_NE(SpecHash(s), SpecHash(ParseSpec(base + R"x(columns = ["lower(\"email\")", "(coalesce(a, ')')) DESC", "name text_pattern_ops"])x",
                                                   "spec.toml")));
  try {
    ParseSpec(base + "columns = [\"(lower(email)\"]\n", "spec.toml");
    FAIL() << "an unbalanced expression was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("spec.toml:8:12: field 'create_index.indexes[0].columns': unbalanced parentheses"),
              std::string::npos)
        << e.what();
  }
}

constexpr const char* kReplicaSpec = R"([migration]
name = "app-replicas"
kind = "replica"
[replica]
primary = "pg_app"
[[replica.replicas]]
database = "pg2_app"
method = "logical"
tables = ["users"]
[[replica.replicas]]
database = "pgstandby_app"
method = "physical"
mode = "sync"
data_dir = "/srv/standby"
max_lag_seconds = 2
)";

TEST(SpecTest, ReadsAReplicaSpec) {
  Spec s = ParseSpec(kReplicaSpec, "spec.toml");
  ASSERT_TRUE(s.replica);
  EXPECT_EQ(s.replica->primary.name, "pg_app");
  ASSERT_EQ(s.replica->replicas.size(), 2u);
  EXPECT_EQ(s.replica->replicas[0].method, "logical");
  EXPECT_EQ(s.replica->replicas[0].mode, "async");
  EXPECT_EQ(s.replica->replicas[0].tables, std::vector<std::string>{"users"});
  EXPECT_EQ(s.replica->replicas[1].mode, "sync");
  EXPECT_EQ(s.replica->replicas[1].data_dir, "/srv/standby");
  EXPECT_EQ(s.replica->replicas[1].max_lag_seconds, 2);
  EXPECT_EQ(s.replica->replicas[1].max_lag_bytes, 16 * 1024 * 1024);
}

TEST(SpecTest, BadReplicaSpecsNameTheField) {
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases = {
      {{"method = \"logical\"", "method = \"binlog\""}, "spec.toml:8:10: field 'replica.replicas[0].method'"},
      {{"mode = \"sync\"", "mode = \"semi-sync\""}, "semi-sync is MariaDB's"},
      {{"tables = [\"users\"]", "tables = [\"users\"]\ndata_dir = \"/x\""}, "only a physical replica"},
      {{"data_dir = \"/srv/standby\"", "data_dir = \"standby\""}, "must be an absolute path"},
      {{"database = \"pg2_app\"", "database = \"pg_app\""}, "is named twice (or is the primary)"},
      {{"method = \"physical\"", "method = \"physical\"\ntables = [\"t\"]"}, "only a logical replica takes some tables"},
  };
  for (const auto& [edit, expected] : cases) {
    std::string text = kReplicaSpec;
    text.replace(text.find(edit.first), edit.first.size(), edit.second);
    try {
      ParseSpec(text, "spec.toml");
      ADD_FAILURE() << "accepted: " << edit.second;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

TEST(SpecTest, UnreadableFileIsInputError) {
  EXPECT_THROW(LoadSpec("/nonexistent/spec.toml"), InputError);
}

}  // namespace
}  // namespace shardshift::plans

namespace shardshift::plans {
namespace {

constexpr const char* kMoveSpec = R"([migration]
name = "orders-out"
kind = "move_tables"
[move_tables]
source = "app"
target = "orders_db"
tables = ["public.orders", "public.items"]
)";

TEST(SpecTest, ReadsAMoveTablesSpec) {
  Spec s = ParseSpec(kMoveSpec, "spec.toml");
  ASSERT_TRUE(s.move_tables);
  EXPECT_EQ(s.kind, MigrationKind::kMoveTables);
  EXPECT_EQ(s.move_tables->source.name, "app");
  EXPECT_EQ(s.move_tables->target.name, "orders_db");
  EXPECT_EQ(s.move_tables->tables, (std::vector<std::string>{"public.orders", "public.items"}));
  EXPECT_EQ(s.move_tables->foreign_keys, MoveForeignKeys::kRefuse);
  Spec drop = ParseSpec(std::string(kMoveSpec) + "foreign_keys = \"drop_at_cutover\"\n", "spec.toml");
  EXPECT_EQ(drop.move_tables->foreign_keys, MoveForeignKeys::kDropAtCutover);
  EXPECT_NE(SpecHash(s), SpecHash(drop));
}

TEST(SpecTest, RefusesAMalformedMoveTablesSpec) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"target = \"app\"", "field 'move_tables.target': must be another database than the source"},
      {"tables = []", "field 'move_tables.tables': name at least one table"},
      {"tables = [\"a\", \"a\"]", "'a' is named twice"},
      {"tables = [\"*\"]", "'*' is not a table name"},
      {"foreign_keys = \"cascade\"", "field 'move_tables.foreign_keys': expected \"refuse\" or \"drop_at_cutover\""},
      {"tabels = [\"a\"]", "field 'move_tables.tabels': unknown field"},
  };
  for (const auto& [line, expected] : cases) {
    std::string text = kMoveSpec;
    const std::string key = line.substr(0, line.find(' '));
    if (const size_t at = text.find(key + " = "); at != std::string::npos && key != "tabels") {
      text.replace(at, text.find('\n', at) - at, line);
    } else {
      text += line + "\n";
    }
    try {
      ParseSpec(text, "spec.toml");
      ADD_FAILURE() << "accepted:\n" << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_TRUE(std::string(e.what()).starts_with("spec.toml:")) << e.what();
    }
  }
}

}  // namespace
}  // namespace shardshift::plans

namespace shardshift::plans {
namespace {

constexpr const char* kMoveKeysSpec = R"([migration]
name = "tenant-42-out"
kind = "move_keys"
[move_keys]
keys = [42, "acme"]
to = "shard_4"
tables = ["orders", "items"]
[move_keys.directory]
database = "meta"
)";

TEST(SpecTest, ReadsAMoveKeysSpec) {
  Spec s = ParseSpec(kMoveKeysSpec, "spec.toml");
  ASSERT_TRUE(s.move_keys);
  EXPECT_EQ(s.kind, MigrationKind::kMoveKeys);
  EXPECT_EQ(s.move_keys->keys, (std::vector<std::string>{"42", "acme"}));
  EXPECT_EQ(s.move_keys->to.name, "shard_4");
  EXPECT_EQ(s.move_keys->directory.database.name, "meta");
  EXPECT_EQ(s.move_keys->directory.table, "shardshift_directory");
  EXPECT_EQ(s.move_keys->tables, (std::vector<std::string>{"orders", "items"}));
  std::string other = kMoveKeysSpec;
  other.replace(other.find("keys = [42"), std::string("keys = [42").size(), "keys = [43");
  EXPECT_NE(SpecHash(s), SpecHash(ParseSpec(other, "spec.toml")));
}

TEST(SpecTest, RefusesAMalformedMoveKeysSpec) {
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases = {
      {{"keys = [42, \"acme\"]", "keys = []"}, "spec.toml:5:8: field 'move_keys.keys': name at least one key"},
      {{"keys = [42, \"acme\"]", "keys = [42, 42]"}, "field 'move_keys.keys': key 42 is named twice"},
      {{"keys = [42, \"acme\"]", "keys = [1.5]"}, "field 'move_keys.keys': a key bound must be an integer or a string"},
      {{"keys = [42, \"acme\"]", "keys = 42"}, "field 'move_keys.keys': expected an array of integers or strings"},
      {{"keys = [42, \"acme\"]\n", ""}, "field 'move_keys.keys': missing required field"},
      {{"to = \"shard_4\"\n", ""}, "field 'move_keys.to'"},
      {{"[move_keys.directory]\ndatabase = \"meta\"\n", ""}, "field 'move_keys.directory': missing required"},
      {{"tables = [\"orders\", \"items\"]", "tables = [\"orders\", \"orders\"]"}, "'orders' is named twice"},
      {{"to = \"shard_4\"", "to = \"shard_4\"\nfrom = \"x\""}, "field 'move_keys.from': unknown field"},
  };
  for (const auto& [edit, expected] : cases) {
    std::string text = kMoveKeysSpec;
    ASSERT_NE(text.find(edit.first), std::string::npos) << edit.first;
    text.replace(text.find(edit.first), edit.first.size(), edit.second);
    try {
      ParseSpec(text, "spec.toml");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace shardshift::plans
