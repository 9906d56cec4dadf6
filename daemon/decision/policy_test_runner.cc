#include "daemon/decision/policy_test_runner.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/status_macros.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/replay.h"
#include "daemon/decision/policy_files.h"
#include "daemon/store/in_memory_counter_store.h"

namespace tact::decision {
namespace {

class Src {
 public:
  explicit Src(const std::string& path) : path_(path) {}
  absl::Status Error(const YAML::Node& at, const std::string& msg) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ":", at.Mark().line + 1, ":", at.Mark().column + 1, ": ", msg));
  }

 private:
  const std::string& path_;
};

absl::Status Keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, const Src& src,
                  const std::string& where) {
  if (!map.IsMap()) return src.Error(map, where + " must be a mapping of keys to values");
  std::vector<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) absl::StrAppend(&list, list.empty() ? "" : ", ", std::string(a));
      return src.Error(kv.first, absl::StrCat(where, ": unknown key '", key, "' (expected one of: ", list, ")"));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return src.Error(kv.first, absl::StrCat(where, ": key '", key, "' appears twice"));
    }
    seen.push_back(key);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Text(const YAML::Node& n, const Src& src, const std::string& what) {
  if (!n.IsScalar() || n.Scalar().empty()) return src.Error(n, what + " must be a non-empty text value");
  return n.Scalar();
}

// An IANA zone name, checked like defaults.timezone in a policy file: an unknown zone is an error, not a
// silent fallback to the policy's default zone.
absl::StatusOr<std::string> ZoneName(const YAML::Node& n, const Src& src, const std::string& what) {
  TACT_ASSIGN_OR_RETURN(std::string name, Text(n, src, what));
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz)) {
    return src.Error(n, absl::StrCat(what, ": unknown time zone '", name,
                                     "' (expected an IANA name such as Europe/Berlin)"));
  }
  return name;
}

absl::StatusOr<absl::Time> TimeValue(const YAML::Node& n, const Src& src, const std::string& what) {
  TACT_ASSIGN_OR_RETURN(std::string s, Text(n, src, what));
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
    return src.Error(n, absl::StrCat(what, ": bad time '", s, "' (expected RFC 3339, e.g. 2026-11-20T09:00:00Z)"));
  }
  return t;
}

absl::StatusOr<v1::DecisionKind> DecisionValue(const YAML::Node& n, const Src& src) {
  TACT_ASSIGN_OR_RETURN(std::string s, Text(n, src, "expect.decision"));
  v1::DecisionKind k;
  if (!v1::DecisionKind_Parse(s, &k) || k == v1::DECISION_UNSPECIFIED || k == v1::EXPIRED) {
    return src.Error(n, absl::StrCat("expect.decision: unknown value '", s, "' (expected RELEASE, DEFER or SUPPRESS)"));
  }
  return k;
}

absl::StatusOr<Expectation> ParseExpect(const YAML::Node& n, const Src& src) {
  Expectation e;
  if (n.IsScalar()) {
    TACT_ASSIGN_OR_RETURN(e.decision, DecisionValue(n, src));
    return e;
  }
  TACT_RETURN_IF_ERROR(Keys(n, {"decision", "rule", "defer_until", "shadow"}, src, "expect"));
  if (!n["decision"]) return src.Error(n, "expect: 'decision' is required");
  TACT_ASSIGN_OR_RETURN(e.decision, DecisionValue(n["decision"], src));
  if (n["rule"]) {
    e.rule = n["rule"].IsNull() ? "" : n["rule"].Scalar();
  }
  if (n["defer_until"]) {
    TACT_ASSIGN_OR_RETURN(e.defer_until, TimeValue(n["defer_until"], src, "expect.defer_until"));
  }
  if (const YAML::Node s = n["shadow"]) {
    if (!s.IsSequence()) return src.Error(s, "expect.shadow must be a list of rule ids");
    e.shadow.emplace();
    for (const auto& item : s) e.shadow->push_back(item.Scalar());
  }
  return e;
}

struct Customer {
  std::string tenant = "acme";
  std::string id = "customer-1";
  std::string timezone;
};

absl::StatusOr<Event> ParseSend(const YAML::Node& n, const Src& src, const Customer& c, const std::string& default_id) {
  TACT_RETURN_IF_ERROR(Keys(n, {"id", "channel", "class", "campaign", "attributes", "timezone"}, src, "send"));
  Event e;
  e.event_id = n["id"] ? n["id"].Scalar() : default_id;
  e.tenant = c.tenant;
  e.customer_id = c.id;
  e.customer_timezone = c.timezone;
  if (n["timezone"]) {
    TACT_ASSIGN_OR_RETURN(e.customer_timezone, ZoneName(n["timezone"], src, "send.timezone"));
  }
  if (!n["channel"] || !v1::Channel_Parse(n["channel"].Scalar(), &e.channel) || e.channel == v1::CHANNEL_UNSPECIFIED) {
    return src.Error(n, "send.channel: required, one of EMAIL, SMS, PUSH, IN_APP");
  }
  if (!n["class"] || !v1::MessageClass_Parse(n["class"].Scalar(), &e.message_class) ||
      e.message_class == v1::MESSAGE_CLASS_UNSPECIFIED) {
    return src.Error(n, "send.class: required, one of TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE, PROMOTION");
  }
  if (n["campaign"]) e.campaign_id = n["campaign"].Scalar();
  if (const YAML::Node a = n["attributes"]) {
    if (!a.IsMap()) return src.Error(a, "send.attributes must be a mapping");
    for (const auto& kv : a) e.attributes[kv.first.Scalar()] = kv.second.Scalar();
  }
  return e;
}

absl::StatusOr<policy::Signal> ParseSignal(const YAML::Node& n, const Src& src, const Customer& c, absl::Time at) {
  TACT_RETURN_IF_ERROR(Keys(n, {"kind", "value", "ref", "channel", "expires"}, src, "signal"));
  policy::Signal s;
  s.tenant = c.tenant;
  s.customer_id = c.id;
  s.at = at;
  if (!n["kind"] || !policy::ParseSignalKind(n["kind"].Scalar(), &s.kind)) {
    return src.Error(n, "signal.kind: required, one of csat, complaint_opened, complaint_closed, escalation, "
                        "callback_requested, callback_done, opt_out, opt_in");
  }
  if (n["value"]) s.csat = n["value"].as<int>(0);
  if (n["ref"]) s.ref = n["ref"].Scalar();
  if (n["channel"] && !v1::Channel_Parse(n["channel"].Scalar(), &s.channel)) {
    return src.Error(n["channel"], "signal.channel: one of EMAIL, SMS, PUSH, IN_APP");
  }
  if (n["expires"]) {
    TACT_ASSIGN_OR_RETURN(s.expires_at, TimeValue(n["expires"], src, "signal.expires"));
  }
  if (absl::StatusOr<policy::SignalWrite> w = policy::ToSignalWrite(s); !w.ok()) {
    return src.Error(n, std::string(w.status().message()));
  }
  return s;
}

std::string Describe(const v1::Decision& d) {
  std::string out(DecisionName(d.decision()));
  if (!d.rule_id().empty()) absl::StrAppend(&out, " by ", d.rule_id());
  absl::StrAppend(&out, " (", d.reason(), ")");
  return out;
}

}  // namespace

absl::StatusOr<std::vector<PolicyTestCase>> ParsePolicyTests(const std::string& path, const std::string& text) {
  const Src src(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
  if (!root || root.IsNull()) return absl::InvalidArgumentError(absl::StrCat(path, ":1:1: file is empty"));
  std::vector<PolicyTestCase> out;
  try {
    TACT_RETURN_IF_ERROR(Keys(root, {"tests"}, src, "test file"));
    const YAML::Node tests = root["tests"];
    if (!tests || !tests.IsSequence()) return src.Error(root, "test file: 'tests' must be a list");
    for (const auto& t : tests) {
      TACT_RETURN_IF_ERROR(Keys(t, {"name", "customer", "steps"}, src, "test"));
      PolicyTestCase tc{.file = path, .line = t.Mark().line + 1};
      if (!t["name"]) return src.Error(t, "test: 'name' is required");
      TACT_ASSIGN_OR_RETURN(tc.name, Text(t["name"], src, "test.name"));
      Customer customer;
      if (const YAML::Node c = t["customer"]) {
        TACT_RETURN_IF_ERROR(Keys(c, {"tenant", "id", "timezone"}, src, "customer"));
        if (c["tenant"]) customer.tenant = c["tenant"].Scalar();
        if (c["id"]) customer.id = c["id"].Scalar();
        if (c["timezone"]) {
          TACT_ASSIGN_OR_RETURN(customer.timezone, ZoneName(c["timezone"], src, "customer.timezone"));
        }
      }
      if (!t["steps"] || !t["steps"].IsSequence()) return src.Error(t, "test: 'steps' must be a list");
      int n = 0;
      for (const auto& s : t["steps"]) {
        TACT_RETURN_IF_ERROR(Keys(s, {"at", "send", "signal", "expect"}, src, "step"));
        TestStep step{.line = s.Mark().line + 1};
        if (!s["at"]) return src.Error(s, "step: 'at' is required (RFC 3339 time)");
        TACT_ASSIGN_OR_RETURN(step.at, TimeValue(s["at"], src, "step.at"));
        if (!!s["send"] == !!s["signal"]) return src.Error(s, "step: exactly one of 'send' and 'signal' is required");
        if (s["send"]) {
          TACT_ASSIGN_OR_RETURN(step.event,
                                ParseSend(s["send"], src, customer, absl::StrCat("t", tc.line, "-", ++n)));
          if (!s["expect"]) return src.Error(s, "step: 'expect' is required with 'send'");
          TACT_ASSIGN_OR_RETURN(step.expect, ParseExpect(s["expect"], src));
        } else {
          if (s["expect"]) return src.Error(s["expect"], "step: a signal has no 'expect'");
          TACT_ASSIGN_OR_RETURN(step.signal, ParseSignal(s["signal"], src, customer, step.at));
        }
        tc.steps.push_back(std::move(step));
      }
      out.push_back(std::move(tc));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  return out;
}

absl::StatusOr<CustomerState> ParseCustomerState(const std::string& path, const std::string& text,
                                                 const std::string& tenant, const std::string& customer_id,
                                                 const std::string& timezone) {
  const Src src(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
  if (!root || root.IsNull()) return absl::InvalidArgumentError(absl::StrCat(path, ":1:1: file is empty"));
  CustomerState out;
  try {
    TACT_RETURN_IF_ERROR(Keys(root, {"customer", "steps", "usage"}, src, "state"));
    Customer customer{.tenant = tenant, .id = customer_id, .timezone = timezone};
    if (const YAML::Node c = root["customer"]) {
      TACT_RETURN_IF_ERROR(Keys(c, {"tenant", "id", "timezone"}, src, "customer"));
      if (c["tenant"]) customer.tenant = c["tenant"].Scalar();
      if (c["id"]) customer.id = c["id"].Scalar();
      if (c["timezone"]) {
        TACT_ASSIGN_OR_RETURN(customer.timezone, ZoneName(c["timezone"], src, "customer.timezone"));
      }
      if (customer.tenant != tenant || customer.id != customer_id) {
        return src.Error(c, "customer: tenant and id must be the explained event's (or be left out)");
      }
    }
    if (const YAML::Node steps = root["steps"]) {
      if (!steps.IsSequence()) return src.Error(steps, "state: 'steps' must be a list");
      int n = 0;
      for (const auto& s : steps) {
        TACT_RETURN_IF_ERROR(Keys(s, {"at", "send", "signal"}, src, "step"));
        TestStep step{.line = s.Mark().line + 1};
        if (!s["at"]) return src.Error(s, "step: 'at' is required (RFC 3339 time)");
        TACT_ASSIGN_OR_RETURN(step.at, TimeValue(s["at"], src, "step.at"));
        if (!!s["send"] == !!s["signal"]) return src.Error(s, "step: exactly one of 'send' and 'signal' is required");
        if (s["send"]) {
          TACT_ASSIGN_OR_RETURN(step.event, ParseSend(s["send"], src, customer, absl::StrCat("state-", ++n)));
        } else {
          TACT_ASSIGN_OR_RETURN(step.signal, ParseSignal(s["signal"], src, customer, step.at));
        }
        out.steps.push_back(std::move(step));
      }
    }
    if (const YAML::Node usage = root["usage"]) {
      if (!usage.IsMap()) return src.Error(usage, "state: 'usage' must map rule ids to counts");
      for (const auto& kv : usage) {
        const int64_t used = kv.second.as<int64_t>(-1);
        if (used < 0 || used > 1'000'000) {
          return src.Error(kv.second, absl::StrCat("usage.", kv.first.Scalar(), " must be a count 0..1000000"));
        }
        out.usage[kv.first.Scalar()] = used;
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  return out;
}

absl::StatusOr<std::vector<PolicyTestCase>> LoadPolicyTests(const std::string& dir) {
  TACT_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListYamlFiles(dir));
  std::vector<PolicyTestCase> all;
  for (const std::string& path : paths) {
    TACT_ASSIGN_OR_RETURN(std::string text, ReadFilePrefix(path, kMaxTestFileBytes + 1));
    if (text.size() > kMaxTestFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":1:1: file is larger than ", kMaxTestFileBytes,
                                                     " bytes, the most a policy test file may be"));
    }
    TACT_ASSIGN_OR_RETURN(std::vector<PolicyTestCase> cases, ParsePolicyTests(path, text));
    for (auto& c : cases) all.push_back(std::move(c));
  }
  return all;
}

std::vector<CaseResult> RunPolicyTests(std::shared_ptr<const policy::Policy> policy,
                                       const std::vector<PolicyTestCase>& cases) {
  std::vector<CaseResult> results;
  for (const PolicyTestCase& tc : cases) {
    CaseResult r{.test = &tc};
    store::InMemoryCounterStore store;
    Replayer replay(policy, store);
    for (const TestStep& step : tc.steps) {
      const std::string at = absl::StrCat(tc.file, ":", step.line, ": ");
      if (step.signal) {
        if (absl::Status s = replay.PutSignal(*step.signal, step.at); !s.ok()) {
          r.failures.push_back(absl::StrCat(at, "signal failed: ", s.message()));
        }
        continue;
      }
      absl::StatusOr<Decided> d = replay.Decide(*step.event, step.at);
      if (!d.ok()) {
        r.failures.push_back(absl::StrCat(at, "decision failed: ", d.status().message()));
        continue;
      }
      const v1::Decision& got = d->decision();
      const Expectation& want = *step.expect;
      std::string expected(DecisionName(want.decision));
      if (want.rule) absl::StrAppend(&expected, want.rule->empty() ? " by no rule" : " by " + *want.rule);
      bool ok = got.decision() == want.decision && (!want.rule || *want.rule == got.rule_id());
      if (want.defer_until) {
        const absl::Time t = absl::FromUnixSeconds(got.defer_until().seconds());
        ok = ok && t == *want.defer_until;
        absl::StrAppend(&expected, " until ", absl::FormatTime(absl::RFC3339_sec, *want.defer_until, absl::UTCTimeZone()));
      }
      std::string got_text = Describe(got);
      if (got.has_defer_until()) {
        absl::StrAppend(&got_text, " until ",
                        absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(got.defer_until().seconds()),
                                         absl::UTCTimeZone()));
      }
      if (want.shadow) {
        std::vector<std::string> shadow;
        for (const auto& s : got.shadow_outcomes()) shadow.push_back(s.rule_id());
        ok = ok && shadow == *want.shadow;
        absl::StrAppend(&expected, " shadow [", absl::StrJoin(*want.shadow, ", "), "]");
        absl::StrAppend(&got_text, " shadow [", absl::StrJoin(shadow, ", "), "]");
      }
      if (!ok) r.failures.push_back(absl::StrCat(at, "expected ", expected, ", got ", got_text));
    }
    r.passed = r.failures.empty();
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace tact::decision
