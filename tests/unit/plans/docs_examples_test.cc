// Every TOML example in docs/ is read by the reader it documents: an example that drifts from the
// format fails here. Code fences say which reader: ```toml spec, ```toml plan, ```toml config.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "plans/config.h"
#include "plans/plan.h"
#include "plans/spec.h"
#include "plans/toml_reader.h"

namespace shardshift::plans {
namespace {

struct Example {
  std::string kind;
  std::string text;
  int line;
};

std::vector<Example> Examples(const std::string& doc) {
  std::ifstream in(std::string(SHARDSHIFT_SOURCE_DIR) + "/docs/" + doc);
  std::vector<Example> out;
  std::string line;
  int n = 0;
  Example* current = nullptr;
  while (std::getline(in, line)) {
    ++n;
    if (!current && line.starts_with("```toml ")) {
      out.push_back({line.substr(8), "", n + 1});
      current = &out.back();
    } else if (current && line == "```") {
      current = nullptr;
    } else if (current) {
      current->text += line + "\n";
    }
  }
  if (current) ADD_FAILURE() << doc << ":" << current->line - 1 << ": the code fence is never closed";
  return out;
}

TEST(DocsExamplesTest, SpecExamplesParse) {
  auto examples = Examples("spec-format.md");
  ASSERT_GE(examples.size(), 3u);
  for (const Example& e : examples) {
    ASSERT_EQ(e.kind, "spec");
    EXPECT_NO_THROW(ParseSpec(e.text, "spec-format.md example at line " + std::to_string(e.line)))
        << e.text;
  }
}

TEST(DocsExamplesTest, PlanExampleParsesAndIsWrittenBackIdentically) {
  auto examples = Examples("plan-format.md");
  ASSERT_EQ(examples.size(), 1u);
  Plan p = ParsePlan(examples[0].text, "plan-format.md");
  EXPECT_EQ(p.steps.size(), 2u);
  // The documented example is exactly what the writer produces: the doc shows the real format.
  EXPECT_EQ(WritePlanToml(p), examples[0].text);
}

TEST(DocsExamplesTest, ConfigExampleParses) {
  auto examples = Examples("config-format.md");
  ASSERT_EQ(examples.size(), 1u);
  Config c = ParseConfig(examples[0].text, "config-format.md");
  EXPECT_EQ(c.databases.size(), 4u);
}

TEST(DocsExamplesTest, ExampleSpecFilesParse) {
  for (const char* f : {"examples/specs/users-reshard.toml"}) {
    EXPECT_NO_THROW(LoadSpec(std::string(SHARDSHIFT_SOURCE_DIR) + "/" + f)) << f;
  }
}

}  // namespace
}  // namespace shardshift::plans
