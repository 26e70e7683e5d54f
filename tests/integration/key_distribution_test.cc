// The planner's view of key distribution and range containment, on real tables of both engines.
#include "planner/key_distribution.h"
#include "plans/routing.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class KeyDistributionTest : public EngineTest {
 protected:
  void Fill(db::Connection& conn, int rows) {
    conn.Execute(Sql("CREATE TABLE sst_keys (id bigint PRIMARY KEY, tag text NOT NULL)",
                     "CREATE TABLE sst_keys (id BIGINT PRIMARY KEY, tag VARCHAR(10) NOT NULL) ENGINE=InnoDB"));
    conn.Execute(pg() ? "INSERT INTO sst_keys SELECT g, 't' || (g % 7) FROM generate_series(1, " + std::to_string(rows) + ") g"
                      : "INSERT INTO sst_keys SELECT seq, CONCAT('t', seq % 7) FROM seq_1_to_" + std::to_string(rows));
    conn.Execute(Sql("ANALYZE sst_keys", "ANALYZE TABLE sst_keys"));
  }
};

TEST_P(KeyDistributionTest, ReadingEveryKeyPredictsExactlyWhereRowsLand) {
  auto conn = Connect();
  DropTable t(*conn, "sst_keys");
  Fill(*conn, 3000);
  planner::DistributionBuilder builder(4);
  builder.AddSource(*conn, {"", "sst_keys"}, {"id"}, 3000);
  planner::KeyDistribution d = builder.Finish();
  std::vector<int64_t> expected(4, 0);
  for (int id = 1; id <= 3000; ++id) ++expected[plans::ShardForKey({std::to_string(id)}, 4)];
  EXPECT_FALSE(d.sampled);
  EXPECT_EQ(d.keys_read, 3000);
  EXPECT_EQ(d.predicted_rows, expected);
  int64_t max = *std::max_element(expected.begin(), expected.end());
  EXPECT_DOUBLE_EQ(d.skew, static_cast<double>(max) / 750.0);
}

TEST_P(KeyDistributionTest, LargeTablesAreSampledDeterministically) {
  auto conn = Connect();
  DropTable t(*conn, "sst_keys");
  Fill(*conn, 20000);
  planner::DistributionOptions small{1000, 2000, 500};
  auto measure = [&] {
    planner::DistributionBuilder builder(4, small);
    builder.AddSource(*conn, {"", "sst_keys"}, {"id"}, 20000);
    return builder.Finish();
  };
  planner::KeyDistribution a = measure();
  EXPECT_TRUE(a.sampled);
  EXPECT_GT(a.keys_read, 200);
  EXPECT_LT(a.keys_read, 10000);
  int64_t total = 0;
  for (int64_t r : a.predicted_rows) total += r;
  EXPECT_NEAR(total, 20000, 2);  // scaled to the table's size
  EXPECT_LT(a.skew, 1.5);
  EXPECT_EQ(measure().predicted_rows, a.predicted_rows);  // re-planning reads the same sample
}

TEST_P(KeyDistributionTest, CountsRowsOutsideADeclaredRange) {
  auto conn = Connect();
  DropTable t(*conn, "sst_keys");
  Fill(*conn, 3000);
  planner::OutsideRange r = planner::CountOutsideRange(*conn, {"", "sst_keys"}, {"id"},
                                                       std::vector<std::string>{"100"},
                                                       std::vector<std::string>{"2000"});
  EXPECT_EQ(r.below, 99);
  EXPECT_EQ(r.above, 1001);
  planner::OutsideRange open = planner::CountOutsideRange(*conn, {"", "sst_keys"}, {"id"}, std::nullopt,
                                                          std::vector<std::string>{"2999"});
  EXPECT_EQ(open.below, 0);
  EXPECT_EQ(open.above, 2);
  planner::OutsideRange composite = planner::CountOutsideRange(
      *conn, {"", "sst_keys"}, {"tag", "id"}, std::vector<std::string>{"t1", "0"}, std::nullopt);
  EXPECT_EQ(composite.below, 3000 / 7);  // tag 't0': ids 7, 14, ..., 2996
}

INSTANTIATE_TEST_SUITE_P(Engines, KeyDistributionTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL), EngineParamName);

}  // namespace
}  // namespace shardshift::testing
