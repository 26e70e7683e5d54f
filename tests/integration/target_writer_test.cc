// The backfill's write on both engines: a row whose key is already at its target is left as it is
// (the target's copy is as new or newer), while a conflict on another unique key stops the write
// with the key named, and writes nothing of that chunk.
#include "db/error.h"
#include "executors/target_writer.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class TargetWriterTest : public EngineTest {};

TEST_P(TargetWriterTest, InsertIfAbsentKeepsExistingKeysAndRefusesOtherUniqueConflicts) {
  auto target = Connect("hash_0");
  DropTable t(*target, "sst_writer");
  target->Execute(Sql("CREATE TABLE sst_writer (id int PRIMARY KEY, email text NOT NULL UNIQUE, v text)",
                      "CREATE TABLE sst_writer (id int PRIMARY KEY, email VARCHAR(50) NOT NULL UNIQUE, v text) ENGINE=InnoDB"));
  target->Execute("INSERT INTO sst_writer VALUES (1, 'a@x', 'newer')");
  executors::TableMapping mapping{{"", "sst_writer"}, {"", "sst_writer"}, {"id"}, {"id", "email", "v"}, {}, "", ""};
  executors::TargetWriter writer(mapping, {target.get()}, [](const db::KeyValues&) { return size_t{0}; });
  db::Chunk chunk;
  chunk.columns = {{"id", "int", false}, {"email", "text", false}, {"v", "text", false}};
  chunk.rows = {{"1", "a@x", "older"}, {"2", "b@x", "two"}};
  EXPECT_EQ(writer.InsertIfAbsent(chunk), 1);
  EXPECT_EQ(target->Query("SELECT v FROM sst_writer WHERE id = 1").Text(0, "v"), "newer");
  chunk.rows = {{"3", "c@x", "three"}, {"4", "b@x", "collides with 2 on email"}};
  try {
    writer.InsertIfAbsent(chunk);
    FAIL() << "a conflict on a second unique key was swallowed";
  } catch (const db::Error& e) {
    EXPECT_EQ(e.kind(), db::ErrorKind::kUniqueViolation) << e.what();
    EXPECT_NE(std::string(e.what()).find("b@x"), std::string::npos) << e.what();
  }
  EXPECT_EQ(target->Query("SELECT count(*) AS n FROM sst_writer").Text(0, "n"), "2");  // 3 was not written either
}

INSTANTIATE_TEST_SUITE_P(Engines, TargetWriterTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
