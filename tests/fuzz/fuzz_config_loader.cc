// libFuzzer target: the tactd config file loader (ops::ApplyConfigFile) and the cross-field checks after it
// (ops::Validate), then FormatConfig of whatever was accepted. Input: the YAML text of a config file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/ops/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tact::ops::Config config;
  const absl::Status st = tact::ops::ApplyConfigFile("fuzz.yaml", text, config);
  if (st.ok()) {
    (void)tact::ops::Validate(config);
    (void)tact::ops::FormatConfig(config);
  } else if (st.code() != absl::StatusCode::kInvalidArgument) {
    std::abort();
  }
  return 0;
}
