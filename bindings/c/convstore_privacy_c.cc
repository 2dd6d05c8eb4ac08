// The C ABI of erasure, export and import (convstore/privacy.h); declarations in convstore.h.
#include <optional>
#include <string>

#include "c_support.h"
#include "json_fields.h"
#include "privacy_codec.h"

using convstore::Status;
using namespace convstore::capi;

int convstore_erase_user(convstore_t* db, const char* user_key, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(user_key);
    return Emit(db->store->EraseUser(user_key), out_json, EncodeEraseReport);
  });
}

int convstore_list_erasures(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->ListErasures(), out_json, EncodeErasures);
  });
}

int convstore_finish_erasures(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->FinishErasures(), out_json, EncodeErasures);
  });
}

namespace {

// {"path"?: str}: the file of an export or import.
convstore::Result<std::string> DecodePathOption(const char* options_json, const char* what) {
  return DecodeObject<std::string>(options_json, what, [](Fields& f, std::string& path) -> Status {
    std::optional<std::string> given;
    CONVSTORE_RETURN_IF_ERROR(f.Str("path", given));
    if (given && given->empty()) return Status::InvalidArgument("\"path\" is empty");
    path = given.value_or("");
    return Status::OK();
  });
}

}  // namespace

int convstore_export_user(convstore_t* db, const char* user_key, const char* options_json, convstore_write_fn write,
                          convstore_progress_fn progress, void* user_data, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(user_key);
    CHECK_ARG(options_json);
    auto path = DecodePathOption(options_json, "export options");
    if (!path.ok()) return path.status();
    convstore::UserExportOptions options;
    options.path = *path;
    if (write != nullptr)  // the store refuses a path and a callback together, or neither
      options.sink = [write, user_data](std::string_view chunk) -> Status {
        if (write(user_data, chunk.data(), chunk.size()) != 0)
          return Status::IoError("export_user: the write callback stopped the export");
        return Status::OK();
      };
    options.on_progress = ProgressOf(progress, user_data);
    return Emit(db->store->ExportUser(user_key, options), out_json, EncodeUserExportReport);
  });
}

int convstore_import_user(convstore_t* db, const char* options_json, convstore_read_fn read,
                          convstore_progress_fn progress, void* user_data, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto path = DecodePathOption(options_json, "import options");
    if (!path.ok()) return path.status();
    convstore::UserImportOptions options;
    options.path = *path;
    if (read != nullptr)  // the store refuses a path and a callback together, or neither, and an overlong count
      options.source = [read, user_data](char* buffer, size_t capacity) -> convstore::Result<size_t> {
        const int64_t n = read(user_data, buffer, capacity);
        if (n < 0) return Status::IoError("import_user: the read callback stopped the import");
        return static_cast<size_t>(n);
      };
    options.on_progress = ProgressOf(progress, user_data);
    return Emit(db->store->ImportUser(options), out_json, EncodeUserImportReport);
  });
}
