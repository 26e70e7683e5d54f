#include "planner/source_check.h"

#include <gtest/gtest.h>

#include "plans/input_error.h"

namespace shardshift::planner {
namespace {

db::TableInfo Users(const std::string& email_type = "text") {
  db::TableInfo t;
  t.schema = "public";
  t.name = "users";
  t.columns = {db::ColumnInfo::Plain("id", "bigint", false),
               db::ColumnInfo::Plain("email", email_type, false),
               db::ColumnInfo::Plain("nick", "text", true)};
  t.primary_key = {"id"};
  t.indexes = {{"users_pkey", {{"id", "", false, "", 0}}, {}, true, true, true, "btree", "", "primary", 0, "", ""},
               {"users_email", {{"email", "", false, "", 0}}, {}, true, false, true, "btree", "", "", 0, "", ""},
               {"users_nick", {{"nick", "", false, "", 0}}, {}, true, false, true, "btree", "", "", 0, "", ""}};
  db::DeriveUniqueKeys(t);
  return t;
}

db::SchemaInfo With(std::vector<db::TableInfo> tables) {
  db::SchemaInfo s;
  s.tables = std::move(tables);
  return s;
}

constexpr const char* kSpec = R"([migration]
name = "m"
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
databases = ["h0", "h1"]
)";

class SourceCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reader_.Add("a", With({Users()}));
    reader_.Add("b", With({Users()}));
    reader_.Add("h0", With({}));
    reader_.Add("h1", With({}));
  }
  std::string Refusal(const std::string& spec_text) {
    try {
      CheckReshardSources(reader_, plans::ParseSpec(spec_text, "spec.toml"));
    } catch (const plans::InputError& e) {
      return e.what();
    }
    return "";
  }
  MemorySchemaReader reader_;
};

TEST_F(SourceCheckTest, AcceptsMatchingSourcesAndFreeTargets) {
  SourceSchemas s = CheckReshardSources(reader_, plans::ParseSpec(kSpec, "spec.toml"));
  EXPECT_EQ(s.table.name, "users");
  EXPECT_EQ(s.fingerprints.size(), 2u);
  EXPECT_EQ(s.target_has_table, (std::vector<bool>{false, false}));
}

TEST_F(SourceCheckTest, AcceptsAUniqueNotNullKeyButNotANullableOne) {
  std::string spec = kSpec;
  spec.replace(spec.find("[\"id\"]"), 6, "[\"email\"]");
  EXPECT_EQ(Refusal(spec), "");
  spec.replace(spec.find("[\"email\"]"), 9, "[\"nick\"]");
  EXPECT_EQ(Refusal(spec), "spec.toml:6:7: field 'reshard.key': (nick) is not the primary key or a unique key "
                           "of NOT NULL columns of public.users, nor one with more NOT NULL columns (its keys: (id), "
                           "(email))");
}

TEST_F(SourceCheckTest, RefusesAMissingTableNamingTheSource) {
  reader_.Add("b", With({}));
  EXPECT_EQ(Refusal(kSpec), "spec.toml:13:12: field 'reshard.table': table public.users does not exist on database 'b'");
}

TEST_F(SourceCheckTest, RefusesSourcesOfDifferentShapes) {
  reader_.Add("b", With({Users("varchar(100)")}));
  EXPECT_EQ(Refusal(kSpec), "spec.toml:13:12: field 'reshard.source': table public.users differs between source "
                            "shards: column 2 is 'email' text NOT NULL on 'a' but 'email' varchar(100) NOT NULL on 'b'");
}

TEST_F(SourceCheckTest, TargetMayHoldTheSameShapeButNotAnother) {
  reader_.Add("h1", With({Users()}));
  EXPECT_EQ(Refusal(kSpec), "");
  db::TableInfo other = Users();
  other.columns.pop_back();
  reader_.Add("h1", With({other}));
  EXPECT_EQ(Refusal(kSpec), "spec.toml:16:13: field 'reshard.target.databases': target 'h1' already has public.users "
                            "in another shape: the source has an extra column 'nick' text");
}

TEST_F(SourceCheckTest, RefusesAKeyColumnTheTableLacks) {
  std::string spec = kSpec;
  spec.replace(spec.find("[\"id\"]"), 6, "[\"uid\"]");
  EXPECT_EQ(Refusal(spec), "spec.toml:6:7: field 'reshard.key': table public.users has no column 'uid'");
}

TEST_F(SourceCheckTest, RefusesAGeneratedKeyColumn) {
  db::TableInfo t = Users();
  t.columns[1].generated = "lower(nick)";
  t.columns[1].generated_stored = true;
  reader_.Add("a", With({t}));
  reader_.Add("b", With({t}));
  std::string spec = kSpec;
  spec.replace(spec.find("[\"id\"]"), 6, "[\"email\"]");
  EXPECT_EQ(Refusal(spec), "spec.toml:6:7: field 'reshard.key': column 'email' of public.users is generated: the key "
                           "is copied, so it must be a stored column");
}

TEST_F(SourceCheckTest, TargetsInAnotherCollationAreAnotherShape) {
  db::TableInfo other = Users();
  other.columns[2].collation = "\"pg_catalog\".\"C\"";
  reader_.Add("h0", With({other}));
  EXPECT_EQ(Refusal(kSpec), "spec.toml:16:13: field 'reshard.target.databases': target 'h0' already has public.users "
                            "in another shape: column 3 is 'nick' text on the source but 'nick' text COLLATE "
                            "\"pg_catalog\".\"C\" on target 'h0'");
}

TEST_F(SourceCheckTest, ATargetWithAnotherDefaultIsAnotherShapeButNotForASequence) {
  db::TableInfo source = Users();
  source.columns[0].default_value = "nextval('users_id_seq'::regclass)";
  source.columns[2].default_value = "'anon'::text";
  reader_.Add("a", With({source}));
  reader_.Add("b", With({source}));
  db::TableInfo target = Users();  // no sequence default: as shardshift creates it
  target.columns[2].default_value = "'anon'::text";
  reader_.Add("h0", With({target}));
  EXPECT_EQ(Refusal(kSpec), "");
  target.columns[2].default_value = "'nobody'::text";
  reader_.Add("h0", With({target}));
  EXPECT_EQ(Refusal(kSpec), "spec.toml:16:13: field 'reshard.target.databases': target 'h0' already has public.users "
                            "in another shape: column 'nick' defaults to 'anon'::text on the source but to "
                            "'nobody'::text on target 'h0'");
  target.columns[2].default_value.reset();
  reader_.Add("h0", With({target}));
  EXPECT_EQ(Refusal(kSpec), "spec.toml:16:13: field 'reshard.target.databases': target 'h0' already has public.users "
                            "in another shape: column 'nick' defaults to 'anon'::text on the source and has no "
                            "default on target 'h0'");
}

}  // namespace
}  // namespace shardshift::planner
