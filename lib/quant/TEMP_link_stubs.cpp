// TEMP: stand-ins for symbols other lanes implement (engine: Session; zoo: resolve), so ort-quantize
// links before the merge. The lead deletes this file when the engine and zoo lanes are merged.
#include "ortkit/error.h"
#include "ortkit/session.h"

namespace ortkit {
std::unique_ptr<Session> Session::from_bytes(const std::string&, const SessionOptions&, const std::string&) {
  throw Error("the ortkit engine is not merged into this build yet (Session::from_bytes)");
}
}  // namespace ortkit
