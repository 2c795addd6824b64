// TEMPORARY: link stubs for symbols other lanes implement (engine: Session::open, cpuinfo: machine_json,
// zoo: is_zoo_name / resolve). The lead deletes this file when merging lane/bench with those lanes.
#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"
#include "ortkit/session.h"
#include "ortkit/zoo.h"

namespace ortkit {

std::unique_ptr<Session> Session::open(const std::string& model, const SessionOptions&) {
  throw Error("not built yet (the engine lane provides Session::open)", model);
}

namespace cpuinfo {
nlohmann::json machine_json() {
  throw Error("not built yet (the cpuinfo lane provides machine_json)");
}
}  // namespace cpuinfo

namespace zoo {
bool is_zoo_name(const std::string&) {
  throw Error("not built yet (the zoo lane provides is_zoo_name)");
}
}  // namespace zoo

}  // namespace ortkit
