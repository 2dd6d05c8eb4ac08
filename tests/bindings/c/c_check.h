/* Checks shared by the plain-C tests: counters, CHECK, EXPECT_CODE and a tiny JSON string reader. C99. */
#ifndef CONVSTORE_TESTS_C_CHECK_H_
#define CONVSTORE_TESTS_C_CHECK_H_

#include <stdio.h>
#include <string.h>

#include "convstore/convstore.h"

static int passed = 0, failed = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      ++passed;                                                                  \
    } else {                                                                     \
      ++failed;                                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                            \
  } while (0)

/* Expects `call` (which takes &err_) to return `code`, with a non-empty message exactly on failure; frees it. */
#define EXPECT_CODE(call, code)                                                                                  \
  do {                                                                                                           \
    char* err_ = NULL;                                                                                           \
    int rc_ = (call);                                                                                            \
    if (rc_ != (code)) fprintf(stderr, "  got %d (%s): %s\n", rc_, convstore_code_name(rc_), err_ ? err_ : "-"); \
    CHECK(rc_ == (code));                                                                                        \
    if ((code) != CONVSTORE_OK) CHECK(err_ != NULL && err_[0] != '\0');                                          \
    else CHECK(err_ == NULL);                                                                                    \
    convstore_free(err_);                                                                                        \
  } while (0)

/* Copies the string value of "key" from a flat JSON text (enough for ids in test output); "" when absent. */
static void json_string(const char* json, const char* key, char* out, size_t cap) {
  char pattern[64];
  const char* p;
  size_t n = 0;
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  p = json != NULL ? strstr(json, pattern) : NULL;
  out[0] = '\0';
  if (p == NULL) return;
  p += strlen(pattern);
  while (p[n] != '"' && n + 1 < cap) {
    out[n] = p[n];
    ++n;
  }
  out[n] = '\0';
}

#endif /* CONVSTORE_TESTS_C_CHECK_H_ */
