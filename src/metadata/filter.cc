#include "metadata/filter.h"

#include <algorithm>

#include <fmt/format.h>

#include "convstore/limits.h"
#include "metadata/containment.h"
#include "metadata/index.h"
#include "metadata/projection.h"
#include "util/validate.h"
#include "util/json_input.h"

namespace convstore::metadata {

namespace {

using nlohmann::json;

// The value a path names, following object keys only (PostgreSQL's #>); nullptr when absent.
const json* Lookup(const json& doc, const std::vector<std::string>& keys) {
  const json* v = &doc;
  for (const std::string& k : keys) {
    if (!v->is_object()) return nullptr;
    auto it = v->find(k);
    if (it == v->end()) return nullptr;
    v = &*it;
  }
  return v;
}

// Three-way comparison of two numbers; long double holds every int64, uint64 and double exactly on x86-64.
int CompareNumbers(const json& a, const json& b) {
  auto as_ld = [](const json& v) -> long double {
    if (v.is_number_unsigned()) return static_cast<long double>(v.get<uint64_t>());
    if (v.is_number_integer()) return static_cast<long double>(v.get<int64_t>());
    return static_cast<long double>(v.get<double>());
  };
  const long double x = as_ld(a), y = as_ld(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool Compare(const json& have, Op op, const json& want) {
  int c;
  if (want.is_number()) {
    if (!have.is_number()) return false;
    c = CompareNumbers(have, want);
  } else {
    if (!have.is_string()) return false;
    c = have.get_ref<const std::string&>().compare(want.get_ref<const std::string&>());
  }
  switch (op) {
    case Op::kGt: return c > 0;
    case Op::kGte: return c >= 0;
    case Op::kLt: return c < 0;
    case Op::kLte: return c <= 0;
    default: return false;
  }
}

bool Holds(const json& doc, const PathCondition& c) {
  const json* v = Lookup(doc, c.keys);
  switch (c.op) {
    case Op::kEq: return v != nullptr && JsonbEqual(*v, c.value);
    case Op::kNe: return v == nullptr || !JsonbEqual(*v, c.value);
    case Op::kIn:
      return v != nullptr && std::any_of(c.value.begin(), c.value.end(), [&](const json& w) { return JsonbEqual(*v, w); });
    case Op::kExists: return v != nullptr;
    case Op::kNotExists: return v == nullptr;
    default: return v != nullptr && Compare(*v, c.op, c.value);
  }
}

json Nest(const std::vector<std::string>& keys, const json& leaf) {
  json v = leaf;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) v = json::object({{*it, std::move(v)}});
  return v;
}

bool UnderExcluded(const std::string& path, const std::vector<std::string>& excluded) {
  // Encoded paths are self-delimiting, so "is at or below" is "starts with".
  return std::any_of(excluded.begin(), excluded.end(),
                     [&](const std::string& e) { return path.compare(0, e.size(), e) == 0; });
}

std::optional<Op> ParseOp(std::string_view name) {
  static const std::pair<std::string_view, Op> kOps[] = {{"$eq", Op::kEq},   {"$ne", Op::kNe},   {"$gt", Op::kGt},
                                                          {"$gte", Op::kGte}, {"$lt", Op::kLt},   {"$lte", Op::kLte},
                                                          {"$in", Op::kIn},   {"$exists", Op::kExists}};
  for (const auto& [n, op] : kOps)
    if (n == name) return op;
  return std::nullopt;
}

Status AddCondition(std::string_view path, std::vector<std::string> keys, std::string_view op_name, const json& value,
                    std::vector<PathCondition>& out) {
  auto op = ParseOp(op_name);
  if (!op)
    return Status::InvalidArgument(fmt::format(
        "metadata path '{}': unknown operator '{}' (use $eq $ne $gt $gte $lt $lte $in $exists)", path, op_name));
  PathCondition c{std::move(keys), std::string(path), *op, value};
  switch (*op) {
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte:
      if (!value.is_number() && !value.is_string())
        return Status::InvalidArgument(
            fmt::format("metadata path '{}': {} needs a number or a string, not {}", path, op_name, value.type_name()));
      break;
    case Op::kIn:
      if (!value.is_array() || value.empty())
        return Status::InvalidArgument(fmt::format("metadata path '{}': $in needs a non-empty array", path));
      if (value.size() > kMaxInValues)
        return Status::TooLarge(
            fmt::format("metadata path '{}': $in has {} values; the limit is {}", path, value.size(), kMaxInValues));
      break;
    case Op::kExists:
      if (!value.is_boolean())
        return Status::InvalidArgument(fmt::format("metadata path '{}': $exists needs true or false", path));
      if (!value.get<bool>()) c.op = Op::kNotExists;
      break;
    default:
      break;
  }
  out.push_back(std::move(c));
  return Status::OK();
}

}  // namespace

bool JsonbEqual(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return ScalarEqual(a, b);
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto jt = b.find(it.key());
      if (jt == b.end() || !JsonbEqual(*it, *jt)) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!JsonbEqual(a[i], b[i])) return false;
    return true;
  }
  if (a.is_structured() || b.is_structured()) return false;
  return ScalarEqual(a, b);
}

static void CollectTokens(const json& q, std::vector<std::string>& out) {
  if (q.is_object()) {
    for (auto it = q.begin(); it != q.end(); ++it) {
      out.push_back(json(it.key()).dump() + ":");
      CollectTokens(*it, out);
    }
  } else if (q.is_array()) {
    for (const json& e : q) CollectTokens(e, out);
  } else if (q.is_string()) {
    out.push_back(q.dump());
  }
}

bool CompiledFilter::MayMatchText(std::string_view text) const {
  for (const std::string& t : must_contain_)
    if (text.find(t) == std::string_view::npos) return false;
  return true;
}

bool CompiledFilter::MatchesText(std::string_view text) const {
  if (empty()) return true;
  if (!MayMatchText(text)) return false;
  if (whole_document_) {
    json doc = json::parse(text.begin(), text.end(), nullptr, false);
    return !doc.is_discarded() && Matches(doc);
  }
  auto doc = ParseMembers(text, top_keys_);
  return doc.has_value() && Matches(*doc);
}

bool CompiledFilter::Matches(const json& doc) const {
  if (contains_ && !Contains(doc, *contains_)) return false;
  for (const PathCondition& c : conditions_)
    if (!Holds(doc, c)) return false;
  return true;
}

IndexNeeds CompiledFilter::Needs(const std::vector<std::string>& excluded) const {
  IndexNeeds needs;
  auto keep = [&](const Posting& p, std::string_view what) {
    if (!UnderExcluded(p.path, excluded)) return true;
    needs.notes.push_back(fmt::format("{} is under an excluded path: checked on each candidate", what));
    return false;
  };
  if (contains_) {
    if (!contains_->is_object()) {
      needs.impossible = true;  // a metadata document is an object; an object never contains an array or scalar
      needs.notes.push_back("the containment document is not an object: no metadata document contains it");
      return needs;
    }
    for (const Posting& p : RequiredPostings(*contains_))
      if (keep(p, fmt::format("containment of {}", PointerOf(DecodePath(p.path))))) needs.all.push_back(p);
  }
  for (const PathCondition& c : conditions_) {
    const Posting exists{EncodePath(c.keys), ""};
    switch (c.op) {
      case Op::kEq:
        // Equal values contain each other, so the nested document's postings are necessary.
        for (const Posting& p : RequiredPostings(Nest(c.keys, c.value)))
          if (keep(p, fmt::format("$eq on {}", c.text))) needs.all.push_back(p);
        break;
      case Op::kIn: {
        // A scalar alternative has its value posting; a container one, the existence posting of its path.
        std::vector<Posting> group;
        for (const json& v : c.value)
          group.push_back(v.is_structured() ? exists : Posting{exists.path, CanonicalValue(v)});
        std::sort(group.begin(), group.end());
        group.erase(std::unique(group.begin(), group.end()), group.end());
        if (keep(exists, fmt::format("$in on {}", c.text))) needs.any_of.push_back(std::move(group));
        break;
      }
      case Op::kGt:
      case Op::kGte:
      case Op::kLt:
      case Op::kLte:
        needs.notes.push_back(fmt::format("range on {} has no index path: checked on each candidate", c.text));
        break;
      case Op::kExists:
        // Keys holding scalars have no existence posting (only their value postings), so presence is checked.
        needs.notes.push_back(fmt::format("$exists on {} has no index path: checked on each candidate", c.text));
        break;
      case Op::kNe:
        needs.notes.push_back(fmt::format("$ne on {} has no index path: checked on each candidate", c.text));
        break;
      case Op::kNotExists:
        needs.notes.push_back(fmt::format("$exists: false on {} has no index path: checked on each candidate", c.text));
        break;
    }
  }
  std::sort(needs.all.begin(), needs.all.end());
  needs.all.erase(std::unique(needs.all.begin(), needs.all.end()), needs.all.end());
  return needs;
}

Result<CompiledFilter> CompileFilter(std::string_view contains_json, std::string_view where_json) {
  CompiledFilter f;
  if (!contains_json.empty()) {
    auto doc = util::ParseJson(contains_json, "contains", limits::kMaxMetadataBytes);
    if (!doc.ok()) return doc.status();
    f.contains_ = std::move(*doc);
    // Metadata documents are objects; the text test applies to object queries only (others never match anyway).
    if (f.contains_->is_object()) {
      CollectTokens(*f.contains_, f.must_contain_);
      std::sort(f.must_contain_.begin(), f.must_contain_.end());
      f.must_contain_.erase(std::unique(f.must_contain_.begin(), f.must_contain_.end()), f.must_contain_.end());
      // Values before keys (keys recur in most documents, values rarely), longer before shorter: the test that
      // rejects a document comes first.
      auto is_key = [](const std::string& t) { return t.back() == ':'; };
      std::stable_sort(f.must_contain_.begin(), f.must_contain_.end(), [&](const std::string& a, const std::string& b) {
        if (is_key(a) != is_key(b)) return !is_key(a);
        return a.size() > b.size();
      });
    }
  }
  auto finish = [&f]() -> Result<CompiledFilter> {
    if (f.contains_ && f.contains_->is_object())
      for (auto it = f.contains_->begin(); it != f.contains_->end(); ++it) f.top_keys_.push_back(it.key());
    else if (f.contains_)
      f.whole_document_ = true;  // matches nothing anyway; kept exact by reading everything
    for (const PathCondition& c : f.conditions_) f.top_keys_.push_back(c.keys.front());
    std::sort(f.top_keys_.begin(), f.top_keys_.end());
    f.top_keys_.erase(std::unique(f.top_keys_.begin(), f.top_keys_.end()), f.top_keys_.end());
    return std::move(f);
  };
  if (where_json.empty()) return finish();
  auto where = util::ParseJson(where_json, "where", limits::kMaxMetadataBytes);
  if (!where.ok()) return where.status();
  if (!where->is_object())
    return Status::InvalidArgument(fmt::format("where must be a JSON object of path -> condition, not {}",
                                               where->type_name()));
  for (auto it = where->begin(); it != where->end(); ++it) {
    auto keys = ParsePath(it.key());
    if (!keys.ok()) return keys.status();
    const json& cond = *it;
    const bool has_ops = cond.is_object() && !cond.empty() &&
                         std::any_of(cond.items().begin(), cond.items().end(),
                                     [](const auto& kv) { return !kv.key().empty() && kv.key()[0] == '$'; });
    if (!has_ops) {
      CONVSTORE_RETURN_IF_ERROR(AddCondition(it.key(), *keys, "$eq", cond, f.conditions_));
    } else {
      for (auto op = cond.begin(); op != cond.end(); ++op) {
        if (op.key().empty() || op.key()[0] != '$')
          return Status::InvalidArgument(fmt::format(
              "metadata path '{}': '{}' mixes operators and plain keys (wrap an object value in $eq)", it.key(), op.key()));
        CONVSTORE_RETURN_IF_ERROR(AddCondition(it.key(), *keys, op.key(), *op, f.conditions_));
      }
    }
    if (f.conditions_.size() > kMaxConditions)
      return Status::TooLarge(fmt::format("where has more than {} conditions", kMaxConditions));
  }
  return finish();
}

}  // namespace convstore::metadata
