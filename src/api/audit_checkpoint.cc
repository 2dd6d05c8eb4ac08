// Audit checkpoints outside a store: key pairs, and a checkpoint as a JSON document (convstore/audit.h).
#include <nlohmann/json.hpp>

#include "api/file_operations.h"
#include "convstore/audit.h"
#include "ops/audit_chain.h"
#include "util/json_writer.h"
#include "util/status_macros.h"
#include "util/time.h"

namespace convstore {

namespace {

constexpr const char* kCheckpointFormat = "convstore-audit-checkpoint/1";

}  // namespace

Result<AuditKeyPair> GenerateAuditKeyPair() {
  return api::GuardedFree([]() -> Result<AuditKeyPair> {
    auto key = ops::NewPrivateKey();
    if (!key.ok()) return key.status();
    auto pub = ops::PublicKeyOf(*key);
    if (!pub.ok()) return pub.status();
    return AuditKeyPair{ops::ToHex(*key), ops::ToHex(*pub)};
  });
}

Result<std::string> AuditPublicKey(std::string_view private_key_hex) {
  return api::GuardedFree([&]() -> Result<std::string> {
    auto key = ops::FromHex(private_key_hex, 32);
    if (!key) return Status::InvalidArgument("the private key must be 64 hex digits (an Ed25519 seed)");
    auto pub = ops::PublicKeyOf(*key);
    if (!pub.ok()) return pub.status();
    return ops::ToHex(*pub);
  });
}

std::string AuditCheckpointToJson(const AuditCheckpoint& c) {
  util::JsonWriter w;
  w.BeginObject()
      .Key("format").String(kCheckpointFormat)
      .Key("log_id").String(c.log_id)
      .Key("seq").Int(c.seq)
      .Key("hash").String(c.hash)
      .Key("at").String(util::FormatIso8601(c.at))
      .Key("at_us").Int(c.at)
      .Key("public_key").String(c.public_key)
      .Key("signature").String(c.signature)
      .EndObject();
  return w.Take();
}

Result<AuditCheckpoint> ParseAuditCheckpoint(std::string_view json) {
  return api::GuardedFree([&]() -> Result<AuditCheckpoint> {
    if (json.size() > 64 * 1024) return Status::TooLarge("a checkpoint is a small JSON document (at most 64 KiB)");
    const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return Status::InvalidArgument("a checkpoint is a JSON object");
    auto format = j.find("format");
    if (format == j.end() || !format->is_string() || format->get<std::string>() != kCheckpointFormat)
      return Status::InvalidArgument(std::string("not a checkpoint: \"format\" must be \"") + kCheckpointFormat + "\"");
    AuditCheckpoint c;
    auto text = [&](const char* name, std::string* out) -> Status {
      auto it = j.find(name);
      if (it == j.end() || !it->is_string())
        return Status::InvalidArgument(std::string("checkpoint: \"") + name + "\" must be a string");
      *out = it->get<std::string>();
      return Status::OK();
    };
    auto integer = [&](const char* name, int64_t* out) -> Status {
      auto it = j.find(name);
      if (it == j.end() || !it->is_number_integer())
        return Status::InvalidArgument(std::string("checkpoint: \"") + name + "\" must be an integer");
      *out = it->get<int64_t>();
      return Status::OK();
    };
    CONVSTORE_RETURN_IF_ERROR(text("log_id", &c.log_id));
    CONVSTORE_RETURN_IF_ERROR(integer("seq", &c.seq));
    CONVSTORE_RETURN_IF_ERROR(text("hash", &c.hash));
    CONVSTORE_RETURN_IF_ERROR(integer("at_us", &c.at));
    CONVSTORE_RETURN_IF_ERROR(text("public_key", &c.public_key));
    CONVSTORE_RETURN_IF_ERROR(text("signature", &c.signature));
    return c;
  });
}

}  // namespace convstore
