#include "records/pseudonyms.h"

#include "util/random.h"
#include "util/status_macros.h"

namespace convstore::records {

Result<std::string> PseudonymOf(sqlite::Connection& conn, int64_t user_id, int64_t now) {
  auto read = [](const sqlite::Stmt& st) { return st.String(0); };
  auto found = conn.QueryRow("SELECT pseudonym FROM user_pseudonyms WHERE user_id = ?1", "find a pseudonymous id",
                             read, user_id);
  if (!found.ok()) return found.status();
  if (*found) return std::move(**found);
  auto minted = util::RandomHex(16);
  if (!minted.ok()) return minted.status();
  CONVSTORE_RETURN_IF_ERROR(conn.Run("INSERT INTO user_pseudonyms(user_id, pseudonym, created_at) VALUES (?1, ?2, ?3)",
                                     "mint a pseudonymous id", user_id, std::string_view(*minted), now));
  return std::move(*minted);
}

Result<std::optional<std::string>> FindPseudonymOfKey(sqlite::Connection& conn, std::string_view key) {
  return conn.QueryRow(
      "SELECT p.pseudonym FROM users u JOIN user_pseudonyms p ON p.user_id = u.id WHERE u.key = ?1",
      "find a pseudonymous id", [](const sqlite::Stmt& st) { return st.String(0); }, key);
}

}  // namespace convstore::records
