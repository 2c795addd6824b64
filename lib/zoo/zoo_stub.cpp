// TEMPORARY stub so the engine branch links before the zoo lane is merged. The lead deletes this file
// on merge (the zoo lane provides the real lib/zoo/*.cpp).
#include "ortkit/error.h"
#include "ortkit/zoo.h"

namespace ortkit::zoo {

const std::vector<ZooEntry>& list() {
  static const std::vector<ZooEntry> empty;
  return empty;
}
bool is_zoo_name(const std::string&) {
  return false;
}
std::string build_bytes(const std::string& name) {
  throw Error("the model zoo is not built in", name);
}
std::string resolve(const std::string& model) {
  return model;
}

}  // namespace ortkit::zoo
