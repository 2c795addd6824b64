// Machine description shared by ort-cpuinfo and every report (ort-bench embeds machine_json()).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace ortkit::cpuinfo {

/// ort-cpuinfo's --json document for this machine (schema-versioned).
nlohmann::json machine_json();

}  // namespace ortkit::cpuinfo
