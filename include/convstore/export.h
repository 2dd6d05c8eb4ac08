// Symbol visibility for the convstore shared library.
// The library is built with -fvisibility=hidden; only what is marked CONVSTORE_EXPORT is part of the ABI.
#ifndef CONVSTORE_EXPORT_H_
#define CONVSTORE_EXPORT_H_

#if defined(_WIN32)
#  if defined(CONVSTORE_BUILDING)
#    define CONVSTORE_EXPORT __declspec(dllexport)
#  else
#    define CONVSTORE_EXPORT __declspec(dllimport)
#  endif
#else
#  define CONVSTORE_EXPORT __attribute__((visibility("default")))
#endif

#endif  // CONVSTORE_EXPORT_H_
