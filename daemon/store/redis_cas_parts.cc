#include "daemon/store/redis_cas_parts.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace tact::store::cas {

std::optional<std::string> Value(const redisReply& r) {
  if (r.type != REDIS_REPLY_STRING) return std::nullopt;
  return std::string(r.str, r.len);
}

void CasCall::Add(std::string_view key, std::string_view read, char op, std::string_view value, int64_t ttl_ms,
                  std::string_view prefix, std::span<const CustomerDraft::Moved> moved) {
  ++n_;
  keys_.Add(key);
  argv_.Add(static_cast<int64_t>(moved.size()));
  argv_.Add(read);
  argv_.Add(std::string_view(&op, 1));
  argv_.Add(value);
  argv_.Add(ttl_ms);
  for (const CustomerDraft::Moved& m : moved) {
    keys_.Add(SeenKey(prefix, m.event_id));
    argv_.Add(m.payload);
    argv_.Add(m.ttl_ms);
  }
}

RedisCommand CasCall::Command(const std::string& cas_sha) const {
  RespArgs args;
  args.Add("EVALSHA");
  args.Add(cas_sha);
  args.Add(keys_.count());
  args.Add(keys_);
  args.Add(n_);
  args.Add(argv_);
  return args.Command();
}

RedisCommand WriteCommand(const std::string& cas_sha, const std::vector<Customer>& customers,
                          const std::vector<size_t>& writes, const std::vector<std::string>& prefixes,
                          bool* set_nx) {
  const Customer& first = customers[writes.front()];
  const CustomerDraft& d = *first.draft;
  *set_nx = writes.size() == 1 && !d.read() && d.moved().empty() && d.write() == CustomerDraft::Write::kSet;
  if (*set_nx) {
    RespArgs args;
    for (std::string_view a : {std::string_view("SET"), std::string_view(first.key), std::string_view(*d.value()),
                               std::string_view("NX"), std::string_view("PX")}) {
      args.Add(a);
    }
    args.Add(d.ttl_ms());
    return args.Command();
  }
  CasCall cas;
  for (size_t w : writes) {
    const Customer& c = customers[w];
    const CustomerDraft& draft = *c.draft;
    const char op = draft.write() == CustomerDraft::Write::kSet         ? 'S'
                    : draft.write() == CustomerDraft::Write::kSetForever ? 'F'
                                                                         : 'D';
    cas.Add(c.key, draft.read().value_or(""), op, draft.value().value_or(""), draft.ttl_ms(),
            prefixes[c.checks.front()], draft.moved());
  }
  return cas.Command(cas_sha);
}

absl::StatusOr<std::vector<bool>> Written(const redisReply& r, size_t n, bool set_nx) {
  if (r.type == REDIS_REPLY_ERROR) return ErrorReply(r);
  if (set_nx) {
    if (r.type == REDIS_REPLY_NIL) return std::vector<bool>{false};
    if (r.type == REDIS_REPLY_STATUS) return std::vector<bool>{true};
  } else if (r.type == REDIS_REPLY_ARRAY && r.elements == n) {
    std::vector<bool> written(n);
    for (size_t i = 0; i < n; ++i) {
      if (r.element[i]->type != REDIS_REPLY_INTEGER) break;
      written[i] = r.element[i]->integer == 1;
      if (i + 1 == n) return written;
    }
  }
  return absl::InternalError("cas.lua: unexpected reply");
}

absl::Status ErrorReply(const redisReply& r) {
  return absl::UnavailableError(absl::StrCat("redis: ", absl::string_view(r.str, r.len)));
}

RedisCommand OlderLayoutProbe(const CustomerCheck& check, std::string_view prefix, bool legacy_keys) {
  RespArgs out;
  out.Add("EXISTS");
  out.Add(IndexKey(prefix));
  out.Add(SignalsKey(prefix));
  out.Add(SeenKey(prefix, check.event_id));
  if (!legacy_keys) return out.Command();
  if (const std::optional<std::string> legacy = KeySchema::LegacyCustomerPrefix(check.tenant, check.customer_id)) {
    out.Add(IndexKey(*legacy));
    out.Add(SignalsKey(*legacy));
    out.Add(SeenKey(*legacy, check.event_id));
  }
  return out.Command();
}

bool NothingOlder(const redisReply& r) { return r.type == REDIS_REPLY_INTEGER && r.integer == 0; }

bool Decide(std::span<const CustomerCheck> checks, std::span<const redisReply* const> seen_of, Customer& customer,
            const std::vector<char>& nothing_older, int64_t seen_ttl_ms, std::vector<CheckResult>& results) {
  if (customer.script || customer.failed || customer.settled) return false;
  for (size_t i : customer.checks) {
    const redisReply& seen = *seen_of[i];
    std::optional<CheckResult> r = customer.draft->Check(
        checks[i],
        seen.type == REDIS_REPLY_STRING ? std::optional<std::string_view>(std::string_view(seen.str, seen.len))
                                        : std::nullopt,
        seen_ttl_ms, nothing_older[i] != 0);
    if (!r) {
      customer.script = true;
      return false;
    }
    results[i] = *std::move(r);
  }
  return customer.draft->write() != CustomerDraft::Write::kNone;
}

std::vector<Customer> Group(std::span<const CustomerCheck> checks, const KeySchema& keys,
                            std::vector<std::string>& prefixes) {
  std::vector<Customer> customers;
  customers.reserve(checks.size());
  absl::flat_hash_map<std::string_view, size_t> by_prefix;  // views into `prefixes`
  by_prefix.reserve(checks.size());
  prefixes.resize(checks.size());
  for (size_t i = 0; i < checks.size(); ++i) {
    prefixes[i] = keys.CustomerPrefix(checks[i].tenant, checks[i].customer_id);
    auto [it, added] = by_prefix.try_emplace(prefixes[i], customers.size());
    if (added) customers.push_back({.key = CustomerKey(prefixes[i])});
    customers[it->second].checks.push_back(i);
  }
  return customers;
}

void Draft(std::span<const CustomerCheck> checks, const redisReply& value, bool older_layouts, Customer& customer,
           std::vector<size_t>& probe) {
  customer.draft.emplace(Value(value), older_layouts);
  for (size_t i : customer.checks) {
    if (customer.draft->LooksInOlderLayouts(absl::ToUnixMillis(checks[i].now))) probe.push_back(i);
  }
}

}  // namespace tact::store::cas
