// Files shardshift reads are bounded before they are parsed: a hostile file gets an InputError
// naming where, never a crash of the parser.
#include <gtest/gtest.h>

#include <string>

#include "plans/toml_reader.h"

namespace shardshift::plans {
namespace {

std::string ErrorOf(const std::string& text) {
  try {
    ParseToml(text, "f.toml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(TomlBoundsTest, AKeyOfFortyThousandPartsIsRefusedAtItsLine) {
  std::string parts = "a";
  for (int i = 0; i < 40'000; ++i) parts += ".a";
  EXPECT_NE(ErrorOf("[options]\nx = 1\n" + parts + " = 1\n").find("f.toml:3:"), std::string::npos);
  EXPECT_NE(ErrorOf("[" + parts + "]\n").find("a key of more than 32 dotted parts"), std::string::npos);
  EXPECT_NE(ErrorOf("t = { " + parts + " = 1 }\n").find("a key of more than 32 dotted parts"), std::string::npos);
}

TEST(TomlBoundsTest, DeepNestingLongKeysAndHugeFilesAreRefused) {
  EXPECT_NE(ErrorOf("x = " + std::string(40'000, '[') + std::string(40'000, ']') + "\n").find("f.toml:1:"),
            std::string::npos);
  std::string inline_tables;
  for (int i = 0; i < 100; ++i) inline_tables += "{ a = ";
  EXPECT_NE(ErrorOf("x = " + inline_tables + "1\n").find("nested more than 32 deep"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(2000, 'k') + " = 1\n").find("a key longer than 1024 bytes"), std::string::npos);
  EXPECT_NE(ErrorOf("x = \"" + std::string(17 << 20, 'v') + "\"\n").find("at most 16 MiB"), std::string::npos);
}

TEST(TomlBoundsTest, OrdinaryFilesWithDotsNestingAndStringsParse) {
  // Dots in values, strings and comments are not key parts; brackets in strings do not nest.
  const std::string text =
      "# a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h\n"
      "[a.\"b.c\".d]\n"
      "x.y = 1.5\n"
      "s = \"[[[[ a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h \\\" {{{\"\n"
      "l = '''\n{{{{ ]]]]\n'''\n"
      "arr = [[1, 2], [3, [4, 5]], { k.j = 'v', m = [1.25, 2.5] }]\n"
      "[[t.u]]\n"
      "v = 2\n";
  const toml::table t = ParseToml(text, "f.toml");
  EXPECT_EQ(t["a"]["b.c"]["d"]["x"]["y"].value<double>(), 1.5);
  EXPECT_EQ(t["t"]["u"][0]["v"].value<int64_t>(), 2);
  EXPECT_EQ(ErrorOf(text), "");
}

}  // namespace
}  // namespace shardshift::plans
