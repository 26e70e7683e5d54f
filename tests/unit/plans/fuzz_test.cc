// A fixed-seed mutation fuzzer over every TOML example shardshift documents or ships (configs,
// specs of each kind, the plan, routing maps): each mutated file is read by its reader, which must
// either accept it or refuse it as bad input (an InputError or a bad-input db::Error, which the
// command line turns into exit 2 with the file, line and field). Any other exception, a crash or a
// hang fails. The CLI half, against the sandbox, is HostileInputTest.MutatedSpecsPlanCleanlyOrExitTwo.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "db/error.h"
#include "plans/config.h"
#include "plans/plan.h"
#include "plans/routing.h"
#include "plans/spec.h"
#include "plans/toml_reader.h"
#include "tests/fuzz_mutate.h"

namespace shardshift::plans {
namespace {

struct Sample {
  std::string kind;  // spec, plan, config, routing
  std::string name;
  std::string text;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<Sample> Samples() {
  std::vector<Sample> out;
  const std::string root = SHARDSHIFT_SOURCE_DIR;
  for (const char* doc : {"spec-format.md", "plan-format.md", "config-format.md", "routing.md", "replicas.md",
                          "vertical-split.md", "indexes.md", "resharding.md", "move-tables.md", "move-keys.md"}) {
    std::istringstream in(ReadAll(root + "/docs/" + doc));
    std::string line;
    Sample* current = nullptr;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!current && line.starts_with("```toml ")) {
        out.push_back({line.substr(8), std::string(doc) + ":" + std::to_string(n), ""});
        current = &out.back();
      } else if (current && line == "```") {
        current = nullptr;
      } else if (current) {
        current->text += line + "\n";
      }
    }
  }
  for (const char* f : {"examples/specs/users-reshard.toml", "examples/ci/specs/orders-onto-2-shards.toml"}) {
    out.push_back({"spec", f, ReadAll(root + "/" + f)});
  }
  out.push_back({"config", "examples/ci/shardshift.toml", ReadAll(root + "/examples/ci/shardshift.toml")});
  return out;
}

TEST(FuzzTest, MutatedExamplesAreAcceptedOrRefusedAsBadInput) {
  const std::vector<Sample> samples = Samples();
  ASSERT_GE(samples.size(), 10u);
  const std::map<std::string, std::function<void(const std::string&)>> readers = {
      {"spec", [](const std::string& t) { ParseSpec(t, "fuzz.toml"); }},
      {"plan", [](const std::string& t) { ParsePlan(t, "fuzz.toml"); }},
      {"config", [](const std::string& t) { ParseConfig(t, "fuzz.toml"); }},
      {"routing", [](const std::string& t) { ParseRouting(t, "fuzz.toml"); }},
  };
  std::mt19937 rng(16);  // fixed: a failure reproduces
  int cases = 0, refused = 0;
  for (const Sample& s : samples) {
    auto reader = readers.find(s.kind);
    if (reader == readers.end()) continue;
    for (int i = 0; i < 40; ++i) {
      std::string text = s.text;
      for (int m = 0, n = 1 + static_cast<int>(rng() % 3); m < n; ++m) text = testing::MutateToml(text, rng);
      ++cases;
      try {
        reader->second(text);
      } catch (const InputError& e) {
        ++refused;
        EXPECT_NE(std::string(e.what()).find("fuzz.toml"), std::string::npos) << "no file named: " << e.what();
      } catch (const db::Error& e) {
        ++refused;
        EXPECT_TRUE(e.is_bad_input()) << s.name << " mutation " << i << ": " << e.what() << "\n" << text.substr(0, 2000);
      } catch (const std::exception& e) {
        ADD_FAILURE() << s.name << " mutation " << i << " threw something not bad input: " << e.what() << "\n"
                      << text.substr(0, 2000);
      }
    }
  }
  EXPECT_GE(cases, 400);
  EXPECT_GT(refused, cases / 4) << "the mutations are too gentle to test anything";
}

}  // namespace
}  // namespace shardshift::plans
