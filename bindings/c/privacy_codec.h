// JSON of the privacy capability's records (convstore/privacy.h) for the C ABI. Internal to bindings/c; pure
// functions, thread-safe.
#pragma once
#include <string>
#include <vector>

#include "convstore/privacy.h"

namespace convstore::capi {

std::string EncodeEraseReport(const EraseReport& report);
std::string EncodeErasures(const std::vector<ErasureStatus>& erasures);
std::string EncodeUserExportReport(const UserExportReport& report);
std::string EncodeUserImportReport(const UserImportReport& report);

}  // namespace convstore::capi
