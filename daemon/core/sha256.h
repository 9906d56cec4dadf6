#pragma once

#include <string>
#include <string_view>

namespace tact {

// Hex SHA-256 of `data` (policy content digests).
std::string Sha256Hex(std::string_view data);

}  // namespace tact
