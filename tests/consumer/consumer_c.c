#include <convstore/convstore.h>
#include <stdio.h>

int main(void) {
  convstore_t* db = NULL;
  char* err = NULL;
  char* out = NULL;
  if (convstore_open(":memory:", NULL, &db, &err) != CONVSTORE_OK) {
    fprintf(stderr, "%s\n", err);
    convstore_free(err);
    return 1;
  }
  if (convstore_create_conversation(db, "{\"user\":\"c-consumer\"}", &out, &err) != CONVSTORE_OK) return 2;
  printf("consumer_c: convstore %s: %s\n", convstore_version(), out);
  convstore_free(out);
  convstore_close(db);
  return 0;
}
