#include "plans/plan.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "plans/input_error.h"

namespace shardshift::plans {
namespace {

Plan SamplePlan() {
  Plan p;
  p.header.name = "users \"quoted\" \\ name";
  p.header.kind = "reshard";
  p.header.spec_file = "specs/users.toml";
  p.header.spec_hash = "xxh64:0123456789abcdef";
  p.header.shardshift_version = "0.1.0";
  p.header.schema_fingerprints = {{"pg_a", "xxh64:1"}, {"odd name", "xxh64:2"}};
  p.header.warnings = {"skew 1.4\nacross shards", "tab\there"};
  Step s1;
  s1.id = "create.h0";
  s1.kind = StepKind::kSql;
  s1.database = "h0";
  s1.description = "create the table — ünïcödé";
  s1.sql = {"CREATE TABLE \"weird \"\"name\"\"\" (id bigint)", "SELECT '\x01'"};
  s1.undo = {"DROP TABLE \"weird \"\"name\"\"\""};
  s1.lock = "ACCESS EXCLUSIVE";
  s1.online = false;
  s1.estimate = {12, 3456, 0.1};
  Step s2;
  s2.id = "backfill.a";
  s2.kind = StepKind::kBackfill;
  s2.database = "a";
  s2.estimate = {1000000, 1 << 30, 42.0};
  s2.params = {{"chunk_rows", "1000"}, {"key", "id"}};
  p.steps = {s1, s2};
  return p;
}

void ExpectSame(const Plan& a, const Plan& b) {
  EXPECT_EQ(a.header.name, b.header.name);
  EXPECT_EQ(a.header.warnings, b.header.warnings);
  EXPECT_EQ(a.header.schema_fingerprints, b.header.schema_fingerprints);
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].id, b.steps[i].id);
    EXPECT_EQ(a.steps[i].kind, b.steps[i].kind);
    EXPECT_EQ(a.steps[i].sql, b.steps[i].sql);
    EXPECT_EQ(a.steps[i].undo, b.steps[i].undo);
    EXPECT_EQ(a.steps[i].online, b.steps[i].online);
    EXPECT_EQ(a.steps[i].lock, b.steps[i].lock);
    EXPECT_EQ(a.steps[i].description, b.steps[i].description);
    EXPECT_EQ(a.steps[i].estimate.rows, b.steps[i].estimate.rows);
    EXPECT_EQ(a.steps[i].estimate.bytes, b.steps[i].estimate.bytes);
    EXPECT_DOUBLE_EQ(a.steps[i].estimate.seconds, b.steps[i].estimate.seconds);
    EXPECT_EQ(a.steps[i].params, b.steps[i].params);
  }
}

TEST(PlanTest, RoundTripsThroughToml) {
  Plan p = SamplePlan();
  std::string text = WritePlanToml(p);
  Plan back = ParsePlan(text, "p.toml");
  ExpectSame(p, back);
  EXPECT_EQ(WritePlanToml(back), text);  // byte-identical the second time round
}

TEST(PlanTest, WritingIsDeterministic) {
  EXPECT_EQ(WritePlanToml(SamplePlan()), WritePlanToml(SamplePlan()));
}

TEST(PlanTest, JsonCarriesEverything) {
  nlohmann::json j = PlanToJson(SamplePlan());
  EXPECT_EQ(j["plan"]["spec_hash"], "xxh64:0123456789abcdef");
  EXPECT_EQ(j["steps"][0]["sql"][0], "CREATE TABLE \"weird \"\"name\"\"\" (id bigint)");
  EXPECT_EQ(j["steps"][0]["online"], false);
  EXPECT_EQ(j["steps"][1]["estimate"]["rows"], 1000000);
  EXPECT_EQ(j["steps"][1]["params"]["key"], "id");
}

TEST(PlanTest, TextShowsStepsSqlAndOfflineMarks) {
  std::string text = RenderPlanText(SamplePlan());
  EXPECT_NE(text.find("create.h0 [sql] on h0  (OFFLINE"), std::string::npos) << text;
  EXPECT_NE(text.find("lock: ACCESS EXCLUSIVE"), std::string::npos);
  EXPECT_NE(text.find("1.0 GiB"), std::string::npos) << text;
}

TEST(TomlQuoteTest, EscapesWhatTomlRequires) {
  EXPECT_EQ(TomlQuote("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  EXPECT_EQ(TomlQuote("ünï"), "\"ünï\"");
}

struct BadPlan {
  std::string from;
  std::string to;
  std::string expected;
};

class BadPlanTest : public ::testing::TestWithParam<BadPlan> {};

TEST_P(BadPlanTest, IsRefusedWithPosition) {
  std::string text = WritePlanToml(SamplePlan());
  size_t at = text.find(GetParam().from);
  ASSERT_NE(at, std::string::npos) << GetParam().from;
  text.replace(at, GetParam().from.size(), GetParam().to);
  try {
    ParsePlan(text, "p.toml");
    FAIL() << "accepted:\n" << text;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
    EXPECT_GT(e.pos().line, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPlanTest,
    ::testing::Values(
        BadPlan{"kind = \"backfill\"", "kind = \"backfil\"", "unknown step kind 'backfil'"},
        BadPlan{"id = \"backfill.a\"", "id = \"create.h0\"", "step id 'create.h0' is used twice"},
        BadPlan{"online = false", "online = \"no\"", "field 'steps[0].online': expected true or false, got string"},
        BadPlan{"format_version = 2", "format_version = 1", "plan format version 2, the file says 1"},
        BadPlan{"spec_hash = ", "spec_hsh = ", "field 'plan.spec_hsh': unknown field"},
        BadPlan{"database = \"a\"\n", "", "field 'steps[1].database': missing required field"},
        BadPlan{"estimate = { rows = 12", "estimate = { rows = \"12\"", "expected an integer, got string"},
        BadPlan{"[plan]", "[plan", "malformed TOML"},
        // Sealed: what runs, where and in which order may not be edited (issue 16).
        BadPlan{"kind = \"backfill\"", "kind = \"cleanup\"",
                "p.toml:46:8: field 'steps[1].seal': step 'backfill.a' is not the step `shardshift plan` wrote"},
        BadPlan{"database = \"a\"", "database = \"elsewhere\"", "step 'backfill.a' is not the step"},
        BadPlan{"key = \"id\"", "key = \"email\"", "step 'backfill.a' is not the step"},
        BadPlan{"\"SELECT '\\u0001'\",\n", "", "step 'create.h0' is not the step"},
        BadPlan{"\"odd name\" = \"xxh64:2\"\n", "", "field 'plan.seal': the plan is not what `shardshift plan` wrote"},
        BadPlan{"name = \"users", "name = \"other", "field 'plan.seal': the plan is not what"},
        BadPlan{"seal = \"xxh64:", "sea = \"xxh64:", "unknown field"},
        // Editable, but within bounds like a spec's options.
        BadPlan{"chunk_rows = \"1000\"", "chunk_rows = \"9223372036854775807\"",
                "field 'steps[1].params.chunk_rows': must be a whole number from 1 to 1000000"},
        BadPlan{"chunk_rows = \"1000\"", "chunk_rows = \"12abc\"", "must be a whole number from 1 to 1000000, not \"12abc\""}));

TEST(PlanSealTest, AMovedOrRemovedStepIsRefusedAndTheEditableSettingsAreNot) {
  Plan p = SamplePlan();
  const std::string text = WritePlanToml(p);
  // The second step moved before the first: each is sealed at its place.
  const size_t second = text.find("\n[[steps]]\nid = \"backfill.a\"");
  const size_t first = text.find("\n[[steps]]\nid = \"create.h0\"");
  const std::string moved = text.substr(0, first) + text.substr(second) + text.substr(first, second - first);
  try {
    ParsePlan(moved, "p.toml");
    FAIL() << "a moved step was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("step 'backfill.a' is not the step"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ParsePlan(text.substr(0, second), "p.toml"), InputError);  // the last step removed
  // Pace, patience, words and estimates may be edited.
  std::string edited = text;
  edited.replace(edited.find("chunk_rows = \"1000\""), 19, "chunk_rows = \"250\"");
  edited.replace(edited.find("description = \"\""), 16, "description = \"slower, please\"");
  edited.replace(edited.find("rows = 1000000"), 14, "rows = 5");
  Plan back = ParsePlan(edited, "p.toml");
  EXPECT_EQ(back.steps[1].params.at("chunk_rows"), "250");
  EXPECT_EQ(back.steps[1].description, "slower, please");
  // Lint reads whatever it is given.
  EXPECT_NO_THROW(ParsePlan(moved, "p.toml", false));
}

}  // namespace
}  // namespace shardshift::plans
