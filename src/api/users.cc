// Teams and users: upsert and get by the caller's own key.
#include "api/store_impl.h"
#include "records/users.h"

namespace convstore::api {

Result<Team> StoreImpl::DoUpsertTeam(const TeamInput& in) {
  CONVSTORE_RETURN_IF_ERROR(records::ValidateTeam(in));
  int64_t now = Now();
  return Write("upsert_team", [&](sqlite::Connection& conn) -> Result<Team> {
    CONVSTORE_RETURN_IF_ERROR(records::UpsertTeam(conn, in, now));
    return records::SelectTeam(conn, in.key);
  });
}

Result<Team> StoreImpl::DoGetTeam(std::string_view key) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(key, "team key"));
  return Read("get_team", [&](sqlite::Connection& conn) { return records::SelectTeam(conn, key); });
}

Result<User> StoreImpl::DoUpsertUser(const UserInput& in) {
  CONVSTORE_RETURN_IF_ERROR(records::ValidateUser(in));
  int64_t now = Now();
  return Write("upsert_user", [&](sqlite::Connection& conn) -> Result<User> {
    CONVSTORE_RETURN_IF_ERROR(records::UpsertUser(conn, in, now));
    return records::SelectUser(conn, in.key);
  });
}

Result<User> StoreImpl::DoGetUser(std::string_view key) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(key, "user key"));
  return Read("get_user", [&](sqlite::Connection& conn) { return records::SelectUser(conn, key); });
}

}  // namespace convstore::api
