// A 128-bit integer for exact intermediate products of money arithmetic (GCC/Clang extension).
#pragma once

namespace convstore::util {
__extension__ typedef __int128 Int128;
}  // namespace convstore::util
