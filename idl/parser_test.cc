// The parser on hand-written MIDL: every construct the issue lists lands in the AST with its
// pieces, and syntax errors are all reported (with file:line:col and a caret) in one run.
#include "idl/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "idl/preprocessor.h"

namespace warden::idl {
namespace {

using ::testing::HasSubstr;

struct Parsed {
  SourceSet sources;
  DiagnosticSink diagnostics;
  ast::Module module;
  explicit Parsed(std::string text, ParseOptions options = {}) {
    std::uint32_t f = sources.add("t.idl", std::move(text));
    IncludeLoader none = [](std::string_view, Span) { return std::nullopt; };
    std::vector<Token> tokens = preprocess(sources, f, diagnostics, {}, none);
    module.file = f;
    parse(tokens, module, diagnostics, options);
  }
  std::string errors() const { return diagnostics.format(sources); }
};

const ast::Attribute* attr(const ast::Attributes& attrs, std::string_view name) {
  for (const ast::Attribute& a : attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

TEST(Parser, InterfaceTypesAndOperations) {
  Parsed p(R"(
import "ms-dtyp.idl", "other.idl";
cpp_quote("#include <x.h>")
[
  uuid(12345778-1234-ABCD-EF00-0123456789AB),
  version(1.2),
  endpoint("ncacn_ip_tcp:[4444]", "ncalrpc:[tree]"),
  pointer_default(unique),
  ms_union
]
interface tree : IUnknown
{
  const unsigned long MAX_NODES = 0x100 * 2;
  typedef [context_handle] void* TREE_HANDLE;
  typedef struct _NODE {
    long value;
    [size_is(Count), length_is(Count - Skip)] wchar_t* Name;
    [range(0, 100)] unsigned long Count, Skip;
    struct _NODE* left;
    unsigned char Data[16][2];
    [size_is(,*pcb)] byte** Out;
  } NODE, *PNODE;
  typedef [switch_type(unsigned short)] union _U {
    [case(1, 2)] long a;
    [case(3)] ;
    [default] hyper b;
  } U;
  typedef union _E switch (long kind) arm { case 1: short s; default: ; } E;
  typedef [v1_enum] enum _COLOR { Red = 1, Green, Blue = Green + 4 } COLOR;
  error_status_t Add([in] handle_t h, [in, ref] PNODE root, [out, retval] long* sum);
  [idempotent] void Walk([in, out, unique] NODE** node, [in, string] const wchar_t* name,
                         [in] unsigned long cb, [out, size_is(cb), length_is(*pcb)] byte* buf,
                         [out] unsigned long* pcb);
  void Nothing(void);
}
)");
  ASSERT_EQ(p.errors(), "");
  const auto& items = p.module.items;
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].imports, (std::vector<std::string>{"ms-dtyp.idl", "other.idl"}));
  EXPECT_EQ(items[1].text, "#include <x.h>");
  const ast::Interface& in = *items[2].interface;
  EXPECT_EQ(in.name, "tree");
  EXPECT_EQ(in.base, "IUnknown");
  EXPECT_EQ(attr(in.attributes, "uuid")->raw, "12345778-1234-ABCD-EF00-0123456789AB");
  EXPECT_EQ(attr(in.attributes, "version")->raw, "1.2");
  EXPECT_EQ(attr(in.attributes, "endpoint")->args.size(), 2u);
  EXPECT_EQ(attr(in.attributes, "endpoint")->args[1]->text, "ncalrpc:[tree]");
  EXPECT_NE(attr(in.attributes, "ms_union"), nullptr);
  ASSERT_EQ(in.items.size(), 9u);

  const ast::Const& c = *in.items[0].constDecl;
  EXPECT_EQ(c.type->name, "unsigned long");
  EXPECT_EQ(c.value->kind, ast::Expr::Kind::kBinary);
  EXPECT_EQ(c.value->op, "*");

  const ast::Typedef& handle = *in.items[1].typedefDecl;
  EXPECT_NE(attr(handle.attributes, "context_handle"), nullptr);
  EXPECT_EQ(handle.declarators[0].pointers, 1);

  const ast::Typedef& node = *in.items[2].typedefDecl;
  ASSERT_EQ(node.type->kind, ast::TypeSpec::Kind::kStruct);
  const ast::StructDef& s = *node.type->structDef;
  EXPECT_EQ(s.tag, "_NODE");
  ASSERT_EQ(s.fields.size(), 7u);
  const ast::Attribute* length = attr(s.fields[1].attributes, "length_is");
  ASSERT_NE(length, nullptr);
  EXPECT_EQ(length->args[0]->op, "-");
  EXPECT_EQ(s.fields[2].declarator.name, "Count");  // "Count, Skip": two fields, one type
  EXPECT_EQ(s.fields[3].declarator.name, "Skip");
  EXPECT_NE(attr(s.fields[3].attributes, "range"), nullptr);
  EXPECT_EQ(s.fields[5].declarator.arrays.size(), 2u);
  const ast::Attribute* sizeIs = attr(s.fields[6].attributes, "size_is");
  ASSERT_EQ(sizeIs->args.size(), 2u);
  EXPECT_EQ(sizeIs->args[0]->kind, ast::Expr::Kind::kEmpty);
  EXPECT_EQ(sizeIs->args[1]->op, "*");
  EXPECT_EQ(s.fields[6].declarator.pointers, 2);
  EXPECT_EQ(node.declarators.size(), 2u);
  EXPECT_EQ(node.declarators[1].pointers, 1);

  const ast::UnionDef& u = *in.items[3].typedefDecl->type->unionDef;
  EXPECT_EQ(attr(in.items[3].typedefDecl->attributes, "switch_type")->type->name, "unsigned short");
  ASSERT_EQ(u.arms.size(), 3u);
  EXPECT_EQ(attr(u.arms[0].field.attributes, "case")->args.size(), 2u);
  EXPECT_TRUE(u.arms[1].empty);
  EXPECT_EQ(u.arms[2].field.type->name, "hyper");

  const ast::UnionDef& e = *in.items[4].typedefDecl->type->unionDef;
  EXPECT_TRUE(e.encapsulated);
  EXPECT_EQ(e.switchName, "kind");
  EXPECT_EQ(e.unionName, "arm");
  EXPECT_TRUE(e.arms[1].isDefault && e.arms[1].empty);

  const ast::EnumDef& color = *in.items[5].typedefDecl->type->enumDef;
  ASSERT_EQ(color.enumerators.size(), 3u);
  EXPECT_EQ(color.enumerators[1].value, nullptr);

  const ast::Operation& add = *in.items[6].operation;
  EXPECT_EQ(add.declarator.name, "Add");
  EXPECT_EQ(add.returnType->name, "error_status_t");
  ASSERT_EQ(add.params.size(), 3u);
  EXPECT_EQ(add.params[0].type->name, "handle_t");
  EXPECT_NE(attr(add.params[2].attributes, "retval"), nullptr);

  const ast::Operation& walk = *in.items[7].operation;
  EXPECT_NE(attr(walk.attributes, "idempotent"), nullptr);
  EXPECT_EQ(walk.params[0].declarator.pointers, 2);
  EXPECT_TRUE(walk.params[1].type->isConst);
  EXPECT_EQ(in.items[8].operation->params.size(), 0u);
}

TEST(Parser, EveryErrorInOneRunWithCarets) {
  Parsed p(
      "interface a {\n"
      "  typedef struct { long x } S;\n"
      "  void f([in] long);\n"
      "  long g(int (*cb)(void));\n"
      "  short;\n"
      "  typedef long L\n"
      "}\n"
      "library lib { }\n");
  EXPECT_EQ(p.errors(),
            "t.idl:2:27: error: expected ';' after the member, found '}'\n"
            "    2 |   typedef struct { long x } S;\n"
            "      |                           ^\n"
            "t.idl:5:8: error: a declaration that declares nothing\n"
            "    5 |   short;\n"
            "      |        ^\n"
            "t.idl:7:1: error: expected ';' after the typedef, found '}'\n"
            "    7 | }\n"
            "      | ^\n"
            "t.idl:8:1: error: 'library' (a COM type library construct) is not supported\n"
            "    8 | library lib { }\n"
            "      | ^~~~~~~\n");
  // The operations after the broken typedef still parsed.
  ASSERT_EQ(p.module.items.size(), 1u);
  EXPECT_EQ(p.module.items[0].interface->items.size(), 2u);
}

TEST(Parser, NestingIsBounded) {
  std::string deep = "const long X = ";
  for (int i = 0; i < 5000; ++i) deep += "(";
  deep += "1";
  for (int i = 0; i < 5000; ++i) deep += ")";
  deep += ";\n";
  std::string structs = "typedef ";
  for (int i = 0; i < 5000; ++i) structs += "struct { ";
  Parsed p(deep + structs);
  EXPECT_THAT(p.errors(), HasSubstr("t.idl:1:"));
  EXPECT_THAT(p.errors(), HasSubstr("nested more than 200 levels deep"));
  EXPECT_EQ(p.diagnostics.errorCount(), 2u);
}

}  // namespace
}  // namespace warden::idl
