// Fuzz target "tool_call_update": convstore_update_tool_call(db, <a call just recorded as pending>, <input>).
#include <string>

#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_update_tool_call", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        char* call = nullptr;
        if (convstore_add_tool_call(s.db(), s.message_id(), R"({"tool_name":"fuzz","status":"pending"})", &call,
                                    nullptr) != CONVSTORE_OK)
          Fail("convstore_add_tool_call", "the fixture's pending call could not be recorded", -1, call, nullptr);
        const std::string id = nlohmann::json::parse(call).at("id").get<std::string>();
        convstore_free(call);
        return convstore_update_tool_call(s.db(), id.c_str(), in, out, err);
      },
      [](FuzzStore&, const Success& r) {
        const std::string status = r.json.value("status", "");
        if (status != "success" && status != "error") r.Fail("an updated call is not success or error");
        if (r.json.value("updated_at_us", int64_t{0}) < r.json.value("created_at_us", int64_t{1}))
          r.Fail("updated_at is before created_at");
      });
}
