// Semantic checks with MIDL's rules over a loaded Compilation: names resolve (types, size_is and
// switch_is operands), nothing is defined twice (a typedef may be repeated for the same type, as
// in C11), attributes are known and in their place, and the directional/pointer rules hold.
// Every problem is reported; checking never stops at the first.
#pragma once

#include "idl/compiler.h"

namespace warden::idl {

// Checks every module of `compilation` (imports included) into its diagnostics. True when no
// error was found.
bool check(Compilation& compilation);

}  // namespace warden::idl
