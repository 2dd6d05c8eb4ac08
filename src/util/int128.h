// 128-bit integers for exact intermediate products and sums of money arithmetic (GCC/Clang extension).
#pragma once
#include <string>

namespace convstore::util {
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// Decimal text of v.
inline std::string Int128ToString(Int128 v) {
  const bool negative = v < 0;
  UInt128 u = negative ? UInt128{0} - static_cast<UInt128>(v) : static_cast<UInt128>(v);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u > 0);
  return negative ? "-" + digits : digits;
}
}  // namespace convstore::util
