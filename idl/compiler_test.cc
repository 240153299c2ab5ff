// Loading: imports once each, MIDL's search order, names matched ignoring case, import cycles
// named with their chain, unreadable and oversized files, and the ACF found beside the IDL.
#include "idl/compiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "idl/header_emitter.h"
#include "idl/sema.h"
#include "idl/stub_emitter.h"
#include "testsupport/oracle.h"

namespace warden::idl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class CompilerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = warden::testing::makeTempDir("warden-idl-compiler"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = fs::path(dir_) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string dir_;
};

TEST_F(CompilerTest, ImportsOnceEachIgnoringCaseInSearchOrder) {
  write("Base.IDL", "typedef long BASE;\n");
  write("inc/shared.idl", "import \"base.idl\";\ntypedef BASE SHARED;\n");
  write("inc/other.idl", "typedef long OTHER;\n");
  write("near/other.idl", "typedef short OTHER_NEAR;\n");
  fs::path main = write("main.idl",
                        "import \"base.idl\", \"shared.idl\";\n"
                        "import \"other.idl\";\n"
                        "[uuid(01234567-89ab-cdef-0123-456789abcdef)] interface m {\n"
                        "  void f([in] BASE a, [in] SHARED b, [in] OTHER c);\n}\n");
  CompileOptions options;
  options.includeDirs = {fs::path(dir_) / "inc", fs::path(dir_) / "near"};
  Compilation c(options);
  ASSERT_TRUE(c.load(main));
  check(c);
  EXPECT_EQ(c.diagnostics().format(c.sources()), "");
  // Base.IDL once (imported twice), shared, inc/other (the first -I wins), then main, last.
  ASSERT_EQ(c.modules().size(), 4u);
  EXPECT_EQ(fs::path(c.sources().file(c.modules()[0].file).path).filename(), "Base.IDL");
  EXPECT_EQ(c.mainModule(), &c.modules().back());
  bool sawNear = false;
  for (const ast::Module& m : c.modules())
    sawNear |= c.sources().file(m.file).path.find("near") != std::string::npos;
  EXPECT_FALSE(sawNear);
}

TEST_F(CompilerTest, CyclesMissingFilesAndLimitsAreNamed) {
  write("a.idl", "import \"b.idl\";\ntypedef long A;\n");
  write("b.idl", "import \"c.idl\";\n");
  write("c.idl", "import \"a.idl\";\n");
  Compilation cycle(CompileOptions{});
  ASSERT_TRUE(cycle.load(fs::path(dir_) / "a.idl"));
  EXPECT_THAT(cycle.diagnostics().format(cycle.sources()),
              HasSubstr("c.idl:1:8: error: import cycle: a.idl -> b.idl -> c.idl -> a.idl"));

  write("missing.idl", "import \"nowhere.idl\";\n");
  Compilation missing(CompileOptions{});
  ASSERT_TRUE(missing.load(fs::path(dir_) / "missing.idl"));
  EXPECT_THAT(missing.diagnostics().format(missing.sources()),
              HasSubstr("missing.idl:1:8: error: import \"nowhere.idl\": not found next to the "
                        "importing file, the main file or in any -I directory"));

  Compilation absent(CompileOptions{});
  EXPECT_FALSE(absent.load(fs::path(dir_) / "absent.idl"));
  EXPECT_THAT(absent.diagnostics().format(absent.sources()), HasSubstr("cannot read"));

  write("big.idl", std::string(4096, ' '));
  CompileOptions small;
  small.maxFileBytes = 1024;
  Compilation big(small);
  EXPECT_FALSE(big.load(fs::path(dir_) / "big.idl"));
  EXPECT_THAT(big.diagnostics().format(big.sources()),
              HasSubstr("big.idl is 4096 bytes, over the 1024-byte limit"));
}

TEST_F(CompilerTest, AcfBesideTheIdlIsMergedAndMarked) {
  fs::path main =
      write("t.idl",
            "[uuid(01234567-89ab-cdef-0123-456789abcdef)] interface t {\n"
            "  typedef struct _N { long v; } N;\n"
            "  error_status_t f([in] unsigned long cb, [out, size_is(cb)] char* buf);\n}\n");
  write("T.ACF",
        "[explicit_handle] interface t { include \"local.h\", \"more.h\";\n"
        "  typedef [allocate(all_nodes)] N;\n"
        "  [comm_status] f([byte_count(cb)] buf); }\n");
  Compilation c(CompileOptions{});
  ASSERT_TRUE(c.load(main));
  ASSERT_NE(c.acfModule(), nullptr);
  const ast::Operation& f = c.mainModule()->operations.front();
  // [explicit_handle]: the operation had no binding handle, so it gains one first.
  ASSERT_EQ(f.params.size(), 3u);
  EXPECT_EQ(f.params[0].declarator.name, "IDL_handle");
  EXPECT_EQ(f.params[0].type->name, "handle_t");
  ASSERT_EQ(f.params[2].attributes.back().name, "byte_count");
  EXPECT_TRUE(f.params[2].attributes.back().fromAcf);
  EXPECT_EQ(f.attributes.back().name, "comm_status");
  EXPECT_EQ(c.mainModule()->typedefs.front().attributes.back().acfTarget, "N");
  EXPECT_EQ(c.mainModule()->interfaces.front().attributes.back().name, "explicit_handle");
  check(c);
  EXPECT_EQ(c.diagnostics().errorCount(), 0u) << c.diagnostics().format(c.sources());
  // The ACF's include statements go into the stubs.
  for (const std::string& stub :
       {emitClientStub(c, main.string()), emitServerStub(c, main.string())}) {
    EXPECT_THAT(stub, HasSubstr("#include \"local.h\"\n#include \"more.h\"\n"));
  }
}

TEST_F(CompilerTest, ExplicitHandleSkipsOperationsThatAlreadyBind) {
  fs::path main = write("h.idl",
                        "[uuid(01234567-89ab-cdef-0123-456789abcdef)] interface h {\n"
                        "  typedef [handle] wchar_t* NAME;\n"
                        "  typedef [context_handle] void* CTX;\n"
                        "  void a([in] handle_t b, [in] long x);\n"
                        "  void g([in, string] NAME server, [in] long x);\n"
                        "  void c([in] CTX ctx);\n"
                        "  void n(void);\n}\n");
  write("h.acf", "[explicit_handle] interface h { }\n");
  Compilation c(CompileOptions{});
  ASSERT_TRUE(c.load(main));
  check(c);
  EXPECT_EQ(c.diagnostics().errorCount(), 0u) << c.diagnostics().format(c.sources());
  const auto& ops = c.mainModule()->operations;
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].params.size(), 2u);
  EXPECT_EQ(ops[1].params.size(), 2u);
  EXPECT_EQ(ops[2].params.size(), 1u);
  ASSERT_EQ(ops[3].params.size(), 1u);
  EXPECT_EQ(ops[3].params[0].declarator.name, "IDL_handle");
  // The header declares the generic handle's routines and the new parameter.
  std::string header = emitHeader(*c.mainModule(), main.string(), &c.modules());
  EXPECT_THAT(header, HasSubstr("handle_t NAME_bind(NAME value);"));
  EXPECT_THAT(header, HasSubstr("void NAME_unbind(NAME value, handle_t binding);"));
  EXPECT_THAT(header, HasSubstr("void n(\n    /* [in] */ handle_t IDL_handle);"));
}

}  // namespace
}  // namespace warden::idl
