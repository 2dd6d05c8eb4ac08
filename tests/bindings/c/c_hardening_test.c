/* Regression tests through the C ABI for defects found by attacking the store, in plain C99 with -Wall -Wextra
 * -pedantic -Werror. The file is inspected (and, for hostile-file cases, edited) with SQLite directly.
 * Usage: c_hardening_test <scratch-dir>. Prints "N passed, M failed". */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "c_check.h"
#include "convstore/convstore.h"

static char dir[512];

/* A fresh path in the scratch directory (removed first, with its -wal and -shm). */
static const char* fresh(const char* name) {
  static char path[1024];
  char side[1100];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
  return path;
}

/* A single integer from the file, with a separate raw connection; -1 on any error. */
static long long query_int(const char* path, const char* sql) {
  sqlite3* db = NULL;
  sqlite3_stmt* st = NULL;
  long long v = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* Creates a conversation from `json` and copies its id into `id`. */
static void create_conversation(convstore_t* db, const char* json, char* id, size_t cap) {
  char* out = NULL;
  CHECK(convstore_create_conversation(db, json, &out, NULL) == CONVSTORE_OK);
  json_string(out, "id", id, cap);
  convstore_free(out);
}

/* Pending cost rows fold whatever the batch sizes; verify reports overflows apart from differences. */
static void pending_rows_fold(void) {
  const char* path = fresh("pending.db");
  convstore_t* db = NULL;
  char* out = NULL;
  char conv[64];
  long long most = 0;
  int i;
  CHECK(convstore_open(path, NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  create_conversation(db, "{\"user\":\"ana\"}", conv, sizeof conv);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"one\",\"cost_nanousd\":1}", NULL,
                                    &err_), CONVSTORE_OK);
  for (i = 0; i < 300; ++i) {
    long long n;
    EXPECT_CODE(convstore_add_messages(db, conv, "[{\"role\":\"user\",\"content\":\"a\",\"cost_nanousd\":1},"
                                                 "{\"role\":\"user\",\"content\":\"b\",\"cost_nanousd\":1},"
                                                 "{\"role\":\"user\",\"content\":\"c\",\"cost_nanousd\":1}]",
                                       NULL, &err_), CONVSTORE_OK);
    n = query_int(path, "SELECT count(*) FROM messages WHERE id > (SELECT messages_through FROM cost_fold)");
    if (n > most) most = n;
  }
  CHECK(most > 0 && most < 256);
  CHECK(convstore_verify_rollups(db, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"differences\":0") != NULL && strstr(out, "\"overflows\":0") != NULL);
  convstore_free(out);
  convstore_close(db);
}

/* record_api_usage under the request_id of an open or released reservation is a conflict. */
static void reservation_request_ids(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  EXPECT_CODE(convstore_upsert_user(db, "{\"key\":\"ana\"}", NULL, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_reserve(db, "{\"request_id\":\"call-1\",\"user\":\"ana\",\"estimated_cost_usd\":\"4\"}", NULL,
                                &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_record_api_usage(db, "{\"user\":\"ana\",\"model\":\"m\",\"cost_usd\":\"1\","
                                             "\"request_id\":\"call-1\"}", NULL, &err_), CONVSTORE_CONFLICT);
  CHECK(convstore_settle(db, "call-1", "{\"model\":\"m\",\"cost_usd\":\"9\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"cost_usd\":\"9\"") != NULL);
  convstore_free(out);
  convstore_close(db);
}

/* A leap second gets a message that says so. */
static void leap_second(void) {
  convstore_t* db = NULL;
  char* err = NULL;
  char conv[64];
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  create_conversation(db, "{\"user\":\"ana\"}", conv, sizeof conv);
  CHECK(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"created_at\":\"2016-12-31T23:59:60Z\"}",
                              NULL, &err) == CONVSTORE_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(err, "leap second") != NULL);
  convstore_free(err);
  convstore_close(db);
}

/* A relative path starting with "file:" is a file name, not a URI; its files are 0600. Read-only opens. */
static void paths_and_read_only(void) {
  char cwd[1024];
  convstore_t* db = NULL;
  char conv[64];
  struct stat sb;
  mode_t old_umask = umask(022);
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK(chdir(dir) == 0);
  unlink("file:secret.db");
  unlink("file:secret.db?mode=memory");  /* what an earlier run left */
  unlink("file:secret.db?mode=memory-wal");
  unlink("file:secret.db?mode=memory-shm");
  unlink("secret.db");
  CHECK(convstore_open("file:secret.db?mode=memory", NULL, &db, NULL) == CONVSTORE_OK);
  create_conversation(db, "{\"user\":\"ana\"}", conv, sizeof conv);
  CHECK(stat("file:secret.db?mode=memory", &sb) == 0 && (sb.st_mode & 0777) == 0600);
  CHECK(stat("file:secret.db?mode=memory-wal", &sb) == 0 && (sb.st_mode & 0777) == 0600);
  CHECK(stat("secret.db", &sb) != 0);
  convstore_close(db);
  db = NULL;
  CHECK(convstore_open("file:secret.db?mode=memory", "{\"read_only\":true}", &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_get_conversation(db, conv, NULL, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"bob\"}", NULL, &err_), CONVSTORE_READ_ONLY);
  CHECK(strcmp(convstore_code_name(CONVSTORE_READ_ONLY), "read_only") == 0);
  convstore_close(db);
  db = NULL;
  EXPECT_CODE(convstore_open("missing.db", "{\"read_only\":true}", &db, &err_), CONVSTORE_NOT_FOUND);
  CHECK(stat("missing.db", &sb) != 0);
  CHECK(chdir(cwd) == 0);
  umask(old_umask);
}

/* Runs SQL on the file with a raw connection. */
static void edit(const char* path, const char* sql) {
  sqlite3* db = NULL;
  char* err = NULL;
  CHECK(sqlite3_open(path, &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fprintf(stderr, "  edit failed: %s\n", err ? err : "");
  CHECK(err == NULL);
  sqlite3_free(err);
  sqlite3_close(db);
}

/* A cell spliced with extra fields, or invalid UTF-8: CONVSTORE_CORRUPTION and no output, never malformed JSON. */
static void stored_values_are_checked(void) {
  const char* path = fresh("stored.db");
  convstore_t* db = NULL;
  char* out = NULL;
  char* err = NULL;
  char conv[64];
  CHECK(convstore_open(path, NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  CHECK(convstore_create_conversation(db, "{\"user\":\"ana\",\"metadata\":{\"source\":\"cli\"}}", &out, NULL) ==
        CONVSTORE_OK);
  json_string(out, "id", conv, sizeof conv);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"hi\"}", NULL, &err_), CONVSTORE_OK);
  edit(path, "UPDATE conversations SET metadata = '{\"source\":\"cli\"},\"title\":\"INJECTED\",\"user\":\"mallory\",\"zz\":{}'");
  CHECK(convstore_get_conversation_info(db, conv, &out, &err) == CONVSTORE_CORRUPTION);
  CHECK(out == NULL && err != NULL && strstr(err, "metadata") != NULL);
  convstore_free(err);
  err = NULL;
  edit(path, "UPDATE conversations SET metadata = '{}'; UPDATE messages SET content = CAST(X'68ff' AS TEXT)");
  CHECK(convstore_get_conversation(db, conv, &out, &err) == CONVSTORE_CORRUPTION);
  CHECK(out == NULL && err != NULL && strstr(err, "UTF-8") != NULL);
  convstore_free(err);
  err = NULL;
  edit(path, "UPDATE messages SET content = 'hi'");
  CHECK(convstore_get_conversation(db, conv, &out, NULL) == CONVSTORE_OK && out != NULL);
  convstore_free(out);
  convstore_close(db);
}

/* Another user's oversized documents are not checked by a user-scoped search. */
static void oversized_documents_stay_in_their_scope(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  char conv[64];
  char big[16384];
  char batch[200000];
  size_t n = 0;
  int i;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  n += (size_t)snprintf(big + n, sizeof big - n, "{");
  for (i = 0; i < 600; ++i) n += (size_t)snprintf(big + n, sizeof big - n, "%s\"k%d\":%d", i ? "," : "", i, i);
  snprintf(big + n, sizeof big - n, "}");
  create_conversation(db, "{\"user\":\"mallory\"}", conv, sizeof conv);
  n = (size_t)snprintf(batch, sizeof batch, "[");
  for (i = 0; i < 10; ++i)
    n += (size_t)snprintf(batch + n, sizeof batch - n, "%s{\"role\":\"user\",\"content\":\"x\",\"metadata\":%s}", i ? "," : "", big);
  snprintf(batch + n, sizeof batch - n, "]");
  for (i = 0; i < 30; ++i) EXPECT_CODE(convstore_add_messages(db, conv, batch, NULL, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"ana\"}", NULL, &err_), CONVSTORE_OK);
  CHECK(convstore_search_metadata(db, "{\"target\":\"messages\",\"contains\":{\"k7\":7},\"user\":\"ana\"}", &out,
                                  NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"unindexed_checked\":0") != NULL);
  convstore_free(out);
  convstore_close(db);
}

/* A trigger on a convstore table: the open is refused, naming it; the file is left as it was. */
static void hostile_schema_is_refused(void) {
  const char* path = fresh("hostile.db");
  convstore_t* db = NULL;
  char* err = NULL;
  CHECK(convstore_open(path, NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"ana\"}", NULL, &err_), CONVSTORE_OK);
  convstore_close(db);
  db = NULL;
  edit(path, "CREATE TABLE shadow(c TEXT); CREATE TRIGGER keep_copy BEFORE DELETE ON messages BEGIN "
             "INSERT INTO shadow VALUES (old.content); END;");
  CHECK(convstore_open(path, NULL, &db, &err) == CONVSTORE_CORRUPTION);
  CHECK(db == NULL && err != NULL && strstr(err, "keep_copy") != NULL);
  convstore_free(err);
  err = NULL;
  CHECK(convstore_open(path, "{\"read_only\":true}", &db, &err) == CONVSTORE_CORRUPTION);
  convstore_free(err);
}

/* Negated rollups: a summary is CONVSTORE_CORRUPTION, not a negative total; a checked open refuses the file. */
static void derived_tables_are_checked(void) {
  const char* path = fresh("derived.db");
  convstore_t* db = NULL;
  char* out = NULL;
  char* err = NULL;
  char conv[64];
  int i;
  CHECK(convstore_open(path, NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  create_conversation(db, "{\"user\":\"ana\"}", conv, sizeof conv);
  out = NULL;
  for (i = 0; i < 300; ++i)
    EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"cost_usd\":\"2\"}", NULL,
                                      &err_), CONVSTORE_OK);
  convstore_close(db);
  db = NULL;
  edit(path, "UPDATE cost_rollups SET cost_nanousd = -cost_nanousd");
  CHECK(convstore_open(path, "{\"quick_check_on_open\":true}", &db, &err) == CONVSTORE_CORRUPTION);
  CHECK(err != NULL && strstr(err, "impossible sums") != NULL);
  convstore_free(err);
  err = NULL;
  CHECK(convstore_open(path, NULL, &db, NULL) == CONVSTORE_OK);
  CHECK(convstore_cost_summary(db, "{\"days\":1,\"user\":\"ana\"}", &out, &err) == CONVSTORE_CORRUPTION);
  CHECK(out == NULL && err != NULL && strstr(err, "cost_rollups") != NULL);
  convstore_free(err);
  EXPECT_CODE(convstore_rebuild_rollups(db, NULL, &err_), CONVSTORE_OK);
  CHECK(convstore_cost_summary(db, "{\"days\":1,\"user\":\"ana\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"total_cost_usd\":\"600\"") != NULL);
  convstore_free(out);
  convstore_close(db);
}

/* A settle past a hard limit is recorded and reports the overage. */
static void settle_reports_overage(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  EXPECT_CODE(convstore_upsert_user(db, "{\"key\":\"ana\"}", NULL, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_set_budget(db, "{\"name\":\"day\",\"scope\":\"user\",\"scope_key\":\"ana\",\"period\":\"day\","
                                       "\"hard_limit_usd\":\"10\"}", NULL, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_reserve(db, "{\"request_id\":\"r1\",\"user\":\"ana\",\"estimated_cost_usd\":\"1\"}", NULL, &err_),
              CONVSTORE_OK);
  CHECK(convstore_settle(db, "r1", "{\"model\":\"m\",\"cost_usd\":\"50\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"budget_overages\":[{\"budget\":\"day\"") != NULL &&
        strstr(out, "\"overage_usd\":\"40\"") != NULL);
  convstore_free(out);
  convstore_close(db);
}

/* fork() while another thread is inside the library: every child opens the store and writes.
   The ASan allocator (GCC 12, Clang 14) is not locked around fork(): a child can hang inside the sanitizer's
   malloc whatever the library does, so the uninstrumented build alone runs this part. */
#if defined(CONVSTORE_ASAN)
static void forks_under_load(void) { printf("skipped under ASan: forks under load\n"); }
#else
struct reader_args {
  convstore_t* db;
  const char* conv;
  volatile int stop;
};

/* No output asked for: the loop allocates nothing outside the library. */
static void* reader_loop(void* p) {
  struct reader_args* a = (struct reader_args*)p;
  while (!a->stop) (void)convstore_get_conversation(a->db, a->conv, NULL, NULL);
  return NULL;
}

static void forks_under_load(void) {
  const char* path = fresh("fork.db");
  convstore_t* db = NULL;
  char* out = NULL;
  char conv[64];
  struct reader_args args;
  pthread_t thread;
  int i, hung = 0, failed = 0;
  const char* env = getenv("CONVSTORE_FORK_COUNT");
  const int forks = env != NULL && atoi(env) > 0 ? atoi(env) / 3 + 1 : 40;
  CHECK(convstore_open(path, NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  create_conversation(db, "{\"user\":\"ana\"}", conv, sizeof conv);
  for (i = 0; i < 30; ++i)
    EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"seed\"}", NULL, &err_), CONVSTORE_OK);
  args.db = db;
  args.conv = conv;
  args.stop = 0;
  CHECK(pthread_create(&thread, NULL, reader_loop, &args) == 0);
  for (i = 0; i < forks; ++i) {
    pid_t pid = fork();
    int status = 0, waited = 0;
    if (pid == 0) {
      convstore_t* child = NULL;
      int rc;
      alarm(30); /* a hung child dies of SIGALRM and is counted */
      rc = convstore_open(path, NULL, &child, NULL) == CONVSTORE_OK &&
                   convstore_add_message(child, conv, "{\"role\":\"user\",\"content\":\"child\"}", NULL, NULL) ==
                       CONVSTORE_OK
               ? 0
               : 1;
      convstore_close(child);
      _exit(rc);
    }
    while (waitpid(pid, &status, 0) < 0 && ++waited < 100) {
    }
    if (WIFSIGNALED(status)) ++hung;
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  args.stop = 1;
  pthread_join(thread, NULL);
  CHECK(hung == 0);
  CHECK(failed == 0);
  CHECK(convstore_get_conversation_info(db, conv, &out, NULL) == CONVSTORE_OK);
  convstore_free(out);
  convstore_close(db);
}
#endif

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <scratch-dir>\n", argv[0]);
    return 2;
  }
  snprintf(dir, sizeof dir, "%s", argv[1]);
  pending_rows_fold();
  reservation_request_ids();
  leap_second();
  paths_and_read_only();
  stored_values_are_checked();
  oversized_documents_stay_in_their_scope();
  hostile_schema_is_refused();
  derived_tables_are_checked();
  settle_reports_overage();
  forks_under_load();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
