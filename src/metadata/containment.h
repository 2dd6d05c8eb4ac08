// PostgreSQL's jsonb containment (`doc @> query`), exactly, on parsed JSON documents.
//
// The rules (PostgreSQL docs, "jsonb Containment and Existence"; src/backend/utils/adt/jsonb_util.c,
// JsonbDeepContains):
//   - objects contain by recursive subset: every key of the query is in the document and the document's value
//     contains the query's value; values must be of the same kind (object, array or scalar);
//   - an array contains another when every element of the query array is contained in some element of the
//     document array (order and duplicates do not matter); a scalar query element matches only equal scalar
//     elements, a container element only a container of the same kind that contains it;
//   - scalars compare by type and value: 1 and "1" differ, 1 and 1.0 are equal, null equals null;
//   - at the top level only, an array contains a bare scalar ('["a","b"]' @> '"a"'), a bare scalar contains an
//     equal scalar, and a bare scalar never contains an array; an object never contains an array and vice versa.
// Thread-safety: pure functions.
#pragma once
#include <nlohmann/json.hpp>

namespace convstore::metadata {

// doc @> query, at the top level (with the bare-scalar rules).
bool Contains(const nlohmann::json& doc, const nlohmann::json& query);

// Scalar equality as jsonb compares scalars (numbers numerically, exactly for integers).
bool ScalarEqual(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace convstore::metadata
