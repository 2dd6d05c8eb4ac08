/* The reference V1 `AIDatabase` example through convstore's C ABI (records cross as JSON).
 *   quickstart_c [path]     (default: convstore-demo-c.db) */
#include <convstore/convstore.h>

#include <stdio.h>
#include <string.h>

static int fail(const char* what, char* err) {
  fprintf(stderr, "%s failed: %s\n", what, err != NULL ? err : "?");
  convstore_free(err);
  return 1;
}

/* Copies the first "id" string of a JSON record (enough for this example; use a JSON library in real code). */
static void first_id(const char* json, char* out, size_t cap) {
  const char* p = strstr(json, "\"id\":\"");
  size_t n = 0;
  out[0] = '\0';
  if (p == NULL) return;
  p += 6;
  while (p[n] != '"' && n + 1 < cap) { out[n] = p[n]; ++n; }
  out[n] = '\0';
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "convstore-demo-c.db";
  convstore_t* db = NULL;
  char* err = NULL;
  char* out = NULL;
  char conv[64];

  if (convstore_open(path, "{\"durability\":\"normal\"}", &db, &err) != CONVSTORE_OK) return fail("open", err);
  printf("convstore %s (C ABI %d) example on %s\n", convstore_version(), convstore_abi_version(), path);

  if (convstore_create_conversation(db,
        "{\"user\":\"engineer@company.com\",\"title\":\"BGP Route Analysis\","
        "\"metadata\":{\"source\":\"cli\",\"version\":\"1.0\"}}", &out, &err) != CONVSTORE_OK)
    return fail("create_conversation", err);
  first_id(out, conv, sizeof conv);
  convstore_free(out);
  printf("\n1. Created conversation: %s\n", conv);

  if (convstore_add_message(db, conv,
        "{\"role\":\"user\",\"content\":\"Analyze this BGP config and identify potential issues\"}",
        NULL, &err) != CONVSTORE_OK)
    return fail("add_message", err);
  if (convstore_add_message(db, conv,
        "{\"role\":\"assistant\",\"content\":\"I found 3 issues: 1) Missing route-map on neighbor...\","
        "\"model\":\"claude-sonnet-4-5\",\"tokens_input\":1250,\"tokens_output\":890,\"cost_usd\":\"0.015\"}",
        &out, &err) != CONVSTORE_OK)
    return fail("add_message", err);
  printf("   Added assistant message: %s\n", out);
  convstore_free(out);

  if (convstore_get_conversation(db, conv, &out, &err) != CONVSTORE_OK) return fail("get_conversation", err);
  printf("\n2. Retrieved conversation: %s\n", out);
  convstore_free(out);

  if (convstore_list_conversations(db, "{\"user\":\"engineer@company.com\",\"limit\":5}", &out, &err) != CONVSTORE_OK)
    return fail("list_conversations", err);
  printf("\n3. User's conversations: %s\n", out);
  convstore_free(out);

  /* The reference design's `metadata @> '{"source": "cli"}'`, newest first, with the plan that answered it. */
  if (convstore_explain_metadata(db, "{\"contains\":{\"source\":\"cli\"},\"limit\":5}", &out, &err) != CONVSTORE_OK)
    return fail("explain_metadata", err);
  printf("\n4. Metadata search {\"source\": \"cli\"}, plan: %s\n", out);
  convstore_free(out);

  convstore_close(db);
  return 0;
}
