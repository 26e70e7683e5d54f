#include "planner/tenant_sample.h"

#include <gtest/gtest.h>

#include "planner/workload.h"

namespace shardshift::planner {
namespace {

const std::set<std::string> kTables = {"orders", "items"};
const std::map<std::string, std::vector<std::string>> kColumns = {{"orders", {"tenant_id", "id", "total"}},
                                                                  {"items", {"id", "tenant_id", "sku"}}};

StatementKeys Keys(const std::string& sql) { return KeysNamed(sql, "tenant_id", kTables, kColumns); }

TEST(TenantSampleTest, NamesTheTenantOfEachKindOfStatement) {
  StatementKeys k = Keys("SELECT * FROM orders WHERE tenant_id = 42 AND id > 7 ORDER BY id");
  EXPECT_TRUE(k.on_tables);
  EXPECT_FALSE(k.write);
  EXPECT_EQ(k.values, std::vector<std::string>{"42"});

  k = Keys("UPDATE orders SET total = 3 WHERE id = 9 AND 17 = tenant_id");
  EXPECT_TRUE(k.write);
  EXPECT_EQ(k.values, std::vector<std::string>{"17"});

  k = Keys("DELETE FROM items WHERE tenant_id IN (1, 2, 2) AND id = 0");
  EXPECT_TRUE(k.write);
  EXPECT_EQ(k.values, (std::vector<std::string>{"1", "2"}));

  // An INSERT without a column list: the table's column order; with one: its own; several rows.
  EXPECT_EQ(Keys("INSERT INTO orders VALUES (5, 1, 10)").values, std::vector<std::string>{"5"});
  EXPECT_EQ(Keys("INSERT INTO items VALUES (1, 6, 'a'), (2, 8, 'b')").values, (std::vector<std::string>{"6", "8"}));
  EXPECT_EQ(Keys("INSERT INTO orders (id, total, tenant_id) VALUES (1, 2, 0)").values, std::vector<std::string>{"0"});

  // Qualified and aliased columns, strings, casts, negative numbers.
  EXPECT_EQ(Keys("SELECT o.total FROM orders o JOIN items i ON i.id = o.id WHERE o.tenant_id = 'acme'").values,
            std::vector<std::string>{"acme"});
  EXPECT_EQ(Keys("SELECT 1 FROM orders WHERE tenant_id = '12'::bigint").values, std::vector<std::string>{"12"});
  EXPECT_EQ(Keys("SELECT 1 FROM orders WHERE tenant_id = -3").values, std::vector<std::string>{"-3"});
  EXPECT_EQ(Keys("SELECT 1 FROM orders WHERE tenant_id = 99999999999").values, std::vector<std::string>{"99999999999"});
}

TEST(TenantSampleTest, LeavesOutWhatNamesNoTenantOrOtherTables) {
  StatementKeys k = Keys("SELECT * FROM orders WHERE tenant_id = $1");  // prepared: no literal
  EXPECT_TRUE(k.on_tables);
  EXPECT_TRUE(k.values.empty());
  EXPECT_TRUE(Keys("SELECT * FROM orders WHERE total > 5").values.empty());
  EXPECT_TRUE(Keys("SELECT * FROM orders WHERE tenant_id > 5").values.empty());
  k = Keys("SELECT * FROM users WHERE tenant_id = 5");
  EXPECT_FALSE(k.on_tables);
  EXPECT_TRUE(k.values.empty());
  EXPECT_FALSE(Keys("COMMIT").on_tables);
  EXPECT_FALSE(Keys("not sql at all").on_tables);
  EXPECT_FALSE(Keys("SELECT 1; SELECT 2").on_tables);
}

TEST(TenantSampleTest, ReadsMariadbStatementsInPostgresSpelling) {
  EXPECT_EQ(Keys(PostgresSpelling("UPDATE `orders` SET `total` = 1 WHERE `tenant_id` = 7")).values,
            std::vector<std::string>{"7"});
  EXPECT_EQ(Keys(PostgresSpelling("INSERT INTO items VALUES (1, 4, 'it`s')")).values, std::vector<std::string>{"4"});
}

}  // namespace
}  // namespace shardshift::planner

namespace shardshift::planner {
namespace {

TEST(TenantSampleTest, ReadsTheColumnFromTestDecodingLines) {
  using V = std::optional<std::pair<std::string, std::string>>;
  EXPECT_EQ(DecodedValue("table public.orders: INSERT: tenant_id[bigint]:5 id[bigint]:1 total[integer]:10", "tenant_id"),
            (V{{"orders", "5"}}));
  EXPECT_EQ(DecodedValue("table public.orders: UPDATE: id[bigint]:1 tenant_id[text]:'o''brien' t[integer]:1", "tenant_id"),
            (V{{"orders", "o'brien"}}));
  // A key change: the new tuple's value; types with spaces and brackets; quoted names.
  EXPECT_EQ(DecodedValue("table app.\"Orders\": UPDATE: old-key: tenant_id[bigint]:5 id[bigint]:1 new-tuple: "
                         "tags[text[]]:'{a,b}' note[character varying]:'x y' tenant_id[bigint]:6",
                         "tenant_id"),
            (V{{"Orders", "6"}}));
  EXPECT_EQ(DecodedValue("table public.orders: DELETE: \"Tenant Id\"[bigint]:-4", "Tenant Id"), (V{{"orders", "-4"}}));
  // A DELETE whose replica identity lacks the column, NULL, and what is not a row line.
  EXPECT_EQ(DecodedValue("table public.orders: DELETE: id[bigint]:1", "tenant_id"), std::nullopt);
  EXPECT_EQ(DecodedValue("table public.orders: DELETE: (no-tuple-data)", "tenant_id"), std::nullopt);
  EXPECT_EQ(DecodedValue("table public.orders: INSERT: tenant_id[bigint]:null", "tenant_id"), std::nullopt);
  EXPECT_EQ(DecodedValue("BEGIN", "tenant_id"), std::nullopt);
  EXPECT_EQ(DecodedValue("table public.orders: TRUNCATE: (no-flags)", "tenant_id"), std::nullopt);
}

}  // namespace
}  // namespace shardshift::planner
