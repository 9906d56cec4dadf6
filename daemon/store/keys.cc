#include "daemon/store/keys.h"

#include <charconv>

namespace tact::store {

KeySchema::KeySchema(std::string secret)
    : mac_(secret.empty() ? kPublicKey : secret), has_secret_(!secret.empty() && secret != kPublicKey) {}

namespace {
// "<len>:" of an id, in `buf`.
std::string_view LengthColon(std::string_view id, char (&buf)[24]) {
  char* end = std::to_chars(buf, buf + sizeof buf - 1, id.size()).ptr;
  *end++ = ':';
  return std::string_view(buf, static_cast<size_t>(end - buf));
}
}  // namespace

std::string KeySchema::CustomerPrefix(std::string_view tenant, std::string_view customer_id) const {
  char tenant_len[24];
  char customer_len[24];
  const HmacSha256::Digest mac =
      mac_.Mac({LengthColon(tenant, tenant_len), tenant, LengthColon(customer_id, customer_len), customer_id});
  std::string out;
  out.reserve(6 + 32 + 2);
  out.append("tact:{");
  HmacSha256::AppendHex16(mac, out);
  out.append("}:");
  return out;
}

std::optional<std::string> KeySchema::LegacyCustomerPrefix(std::string_view tenant, std::string_view customer_id) {
  if (tenant.find_first_of(":{}") != std::string_view::npos || customer_id.find('}') != std::string_view::npos) {
    return std::nullopt;
  }
  return absl::StrCat("tact:{", AsAbsl(tenant), ":", AsAbsl(customer_id), "}:");
}

std::vector<std::string> CustomerPrefixes(const KeySchema& keys, std::string_view tenant,
                                          std::string_view customer_id) {
  std::vector<std::string> out = {keys.CustomerPrefix(tenant, customer_id)};
  if (std::optional<std::string> legacy = KeySchema::LegacyCustomerPrefix(tenant, customer_id)) {
    out.push_back(*std::move(legacy));
  }
  return out;
}

}  // namespace tact::store
