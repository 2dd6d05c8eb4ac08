#include "search/text_rank.h"

#include <sqlite3.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace convstore::search {

namespace {

// What one query's rows share: the phrases counted, their idf and the average content length.
struct QueryData {
  int phrases = 0;
  double avgdl = 0;
  std::vector<double> idf;
  std::vector<double> freq;  // per row, reused
};

int CountRow(const Fts5ExtensionApi*, Fts5Context*, void* user_data) {
  ++*static_cast<sqlite3_int64*>(user_data);
  return SQLITE_OK;
}

int LoadQueryData(const Fts5ExtensionApi* api, Fts5Context* fts, int scope_phrases, QueryData** out) {
  auto* data = static_cast<QueryData*>(api->xGetAuxdata(fts, 0));
  if (data) {
    *out = data;
    return SQLITE_OK;
  }
  auto* fresh = new (std::nothrow) QueryData;
  if (!fresh) return SQLITE_NOMEM;
  int rc = SQLITE_OK;
  try {
    const int all = api->xPhraseCount(fts);
    fresh->phrases = all > scope_phrases ? all - scope_phrases : 0;
    sqlite3_int64 rows = 0, tokens = 0;
    rc = api->xRowCount(fts, &rows);
    if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, 0, &tokens);
    if (rc == SQLITE_OK) fresh->avgdl = static_cast<double>(tokens) / static_cast<double>(rows);
    fresh->idf.resize(static_cast<size_t>(fresh->phrases));
    fresh->freq.resize(static_cast<size_t>(fresh->phrases));
    for (int i = 0; rc == SQLITE_OK && i < fresh->phrases; ++i) {
      sqlite3_int64 hits = 0;
      rc = api->xQueryPhrase(fts, i, &hits, CountRow);
      if (rc == SQLITE_OK) {
        double idf = std::log((static_cast<double>(rows) - static_cast<double>(hits) + 0.5) /
                              (static_cast<double>(hits) + 0.5));
        if (idf <= 0.0) idf = 1e-6;
        fresh->idf[static_cast<size_t>(i)] = idf;
      }
    }
  } catch (...) {
    rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK)
    rc = api->xSetAuxdata(fts, fresh, [](void* p) { delete static_cast<QueryData*>(p); });
  else
    delete fresh;
  if (rc == SQLITE_OK) *out = fresh;
  return rc;
}

void Rank(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  constexpr double k1 = 1.2;
  constexpr double b = 0.75;
  const int scope_phrases = argc > 0 ? sqlite3_value_int(argv[0]) : 0;
  QueryData* data = nullptr;
  int rc = LoadQueryData(api, fts, scope_phrases, &data);
  int instances = 0;
  if (rc == SQLITE_OK) {
    std::fill(data->freq.begin(), data->freq.end(), 0.0);
    rc = api->xInstCount(fts, &instances);
  }
  for (int i = 0; rc == SQLITE_OK && i < instances; ++i) {
    int phrase = 0, column = 0, offset = 0;
    rc = api->xInst(fts, i, &phrase, &column, &offset);
    if (rc == SQLITE_OK && column == 0 && phrase < data->phrases) data->freq[static_cast<size_t>(phrase)] += 1.0;
  }
  int length = 0;
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, 0, &length);
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  const double d = static_cast<double>(length);
  double score = 0.0;
  for (size_t i = 0; i < static_cast<size_t>(data->phrases); ++i)
    score += data->idf[i] * ((data->freq[i] * (k1 + 1.0)) / (data->freq[i] + k1 * (1 - b + b * d / data->avgdl)));
  sqlite3_result_double(ctx, -1.0 * score);
}

Result<fts5_api*> Fts5Api(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) != SQLITE_OK)
    return Status::Internal(std::string("FTS5 is not available in this SQLite: ") + sqlite3_errmsg(db));
  sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
  (void)sqlite3_step(st);
  sqlite3_finalize(st);
  if (!api || api->iVersion < 2) return Status::Internal("FTS5 is not available in this SQLite");
  return api;
}

}  // namespace

Status RegisterRankFunction(sqlite::Connection& conn) {
  auto api = Fts5Api(conn.raw());
  if (!api.ok()) return api.status();
  const int rc = (*api)->xCreateFunction(*api, "convstore_rank", nullptr, Rank, nullptr);
  if (rc != SQLITE_OK) return Status::Internal("could not register the full-text rank function");
  return Status::OK();
}

}  // namespace convstore::search
