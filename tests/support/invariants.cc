// The pure part of the invariant checker (tests/support/invariants.h). Observer is in invariants_observer.cc.
#include "tests/support/invariants.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/proto_time.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/store/keys.h"

namespace tact::testing {
namespace {

bool IsFinal(v1::DecisionKind k) { return k == v1::RELEASE || k == v1::SUPPRESS || k == v1::EXPIRED; }

std::string KindName(v1::DecisionKind k) { return v1::DecisionKind_Name(k); }

std::string Header(const TopicRecord& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

// The event id of a routed output or dead letter (its value is the input's bytes); empty when undecodable.
std::string EventIdOf(const TopicRecord& r) {
  auto ev = pipeline::DecodeOutboundEvent(r.value, Header(r, "content-type"));
  return ev.ok() ? ev->event_id() : std::string();
}

struct Adder {
  InvariantResult& r;
  size_t max;
  void Violation(std::string what) {
    r.pass = false;
    ++r.violations;
    if (r.examples.size() < max) r.examples.push_back(std::move(what));
  }
};

}  // namespace

bool CheckReport::ok() const {
  return std::all_of(invariants.begin(), invariants.end(),
                     [](const InvariantResult& r) { return r.pass || !r.enforced; });
}

const InvariantResult& CheckReport::Get(const std::string& id) const {
  for (const InvariantResult& r : invariants) {
    if (r.id == id) return r;
  }
  throw std::out_of_range("no invariant " + id);
}

std::string CheckReport::Summary() const {
  std::string s = absl::StrCat("inputs=", inputs, " final=", final_inputs, " records=", decision_records,
                               " repeated=", repeated_records, " released=", released, " suppressed=", suppressed,
                               " expired=", expired, " dlq=", dead_lettered, " deferred_pending=", deferred_pending);
  for (const InvariantResult& r : invariants) {
    absl::StrAppend(&s, "\n  ", r.id, " ", r.name, ": ", r.pass ? "pass" : (r.enforced ? "FAIL" : "fail (reported)"),
                    " checked=", r.checked, " violations=", r.violations);
    for (const std::string& e : r.examples) absl::StrAppend(&s, "\n    - ", e);
  }
  return s;
}

std::string CheckReport::PassedList() const {
  std::vector<std::string> ids;
  for (const InvariantResult& r : invariants) {
    if (r.pass) ids.push_back(r.id);
  }
  return absl::StrJoin(ids, " ");
}

CheckReport Check(const std::vector<SentInput>& sent, const policy::Policy& policy, const std::vector<AtRisk>& at_risk,
                  const Observed& observed, const CheckOptions& options) {
  CheckReport report;
  report.invariants = {{.id = "I1", .name = "every input has one final decision"},
                       {.id = "I2", .name = "no cap counted twice"},
                       {.id = "I3", .name = "caps hold"},
                       {.id = "I4", .name = "same event, same decision"},
                       {.id = "I5", .name = "suppression holds"}};
  Adder i1{report.invariants[0], options.max_examples};
  Adder i2{report.invariants[1], options.max_examples};
  Adder i3{report.invariants[2], options.max_examples};
  Adder i4{report.invariants[3], options.max_examples};
  Adder i5{report.invariants[4], options.max_examples};
  i2.r.enforced = !options.redis_data_lost;

  // The scenario's inputs by event id (poison ones by bytes).
  std::map<std::string, const SentInput*> by_id;
  std::map<std::string, const SentInput*> poison_by_bytes;
  for (const SentInput& s : sent) {
    if (s.poison) {
      poison_by_bytes[s.bytes] = &s;
    } else {
      by_id[s.event.event_id] = &s;
    }
  }
  report.inputs = static_cast<int64_t>(sent.size());

  // Decision records of our inputs, in topic order.
  std::map<std::string, std::vector<v1::DecisionRecord>> records;
  for (const TopicRecord& r : observed.decisions) {
    auto rec = pipeline::DecodeDecisionRecord(r.value);
    if (!rec.ok()) {
      i1.Violation(absl::StrCat("undecodable record on tact.decisions: ", rec.status().message()));
      continue;
    }
    if (by_id.contains(rec->event_id())) {
      records[rec->event_id()].push_back(*rec);
      ++report.decision_records;
    }
  }
  // Dead letters: poison inputs by bytes, valid ones (a failed decision) by the event id in their bytes.
  std::set<std::string> dlq_ids;
  std::set<std::string> dlq_poison;
  for (const TopicRecord& r : observed.dlq) {
    if (poison_by_bytes.contains(r.value)) {
      dlq_poison.insert(r.value);
    } else if (const std::string id = EventIdOf(r); by_id.contains(id)) {
      dlq_ids.insert(id);
    }
  }
  // Routed outputs: distinct event ids per topic.
  auto ids_of = [&](const std::vector<TopicRecord>& topic) {
    std::set<std::string> ids;
    for (const TopicRecord& r : topic) {
      if (const std::string id = EventIdOf(r); by_id.contains(id)) ids.insert(id);
    }
    return ids;
  };
  const std::set<std::string> released_ids = ids_of(observed.released);
  const std::set<std::string> suppressed_ids = ids_of(observed.suppressed);

  // I1 + I4, and each input's final decision and its time (the first final record's decided_at).
  struct Final {
    v1::DecisionKind kind = v1::DECISION_UNSPECIFIED;
    absl::Time at;
  };
  std::map<std::string, Final> finals;
  for (const SentInput& s : sent) {
    ++i1.r.checked;
    if (s.poison) {
      if (dlq_poison.contains(s.bytes)) {
        ++report.final_inputs;
        ++report.dead_lettered;
      } else {
        i1.Violation(absl::StrCat("poison input (", s.bytes.size(), " bytes) not on tact.dlq"));
      }
      continue;
    }
    const std::string& id = s.event.event_id;
    const std::vector<v1::DecisionRecord>& recs = records[id];
    std::optional<v1::DecisionRecord> first;
    int finals_seen = 0;
    ++i4.r.checked;
    for (const v1::DecisionRecord& rec : recs) {
      const v1::Decision& d = rec.decision();
      if (!IsFinal(d.decision())) continue;
      ++finals_seen;
      if (!first) {
        first = rec;
        continue;
      }
      if (d.decision() != first->decision().decision() || d.rule_id() != first->decision().rule_id()) {
        i4.Violation(absl::StrCat(id, ": ", KindName(first->decision().decision()), " (", first->decision().rule_id(),
                                  ") then ", KindName(d.decision()), " (", d.rule_id(), ")"));
      }
    }
    if (dlq_ids.contains(id)) {
      if (first) {
        i1.Violation(absl::StrCat(id, ": both dead-lettered and decided ", KindName(first->decision().decision())));
      }
      if (!options.valid_may_dead_letter) i1.Violation(absl::StrCat(id, ": a valid input dead-lettered"));
      ++report.final_inputs;
      ++report.dead_lettered;
      continue;
    }
    if (!first) {
      if (!recs.empty()) {
        ++report.deferred_pending;
        i1.Violation(absl::StrCat(id, ": only DEFER records (", recs.size(), "), no final decision"));
      } else {
        i1.Violation(absl::StrCat(id, ": no decision record and not on tact.dlq"));
      }
      continue;
    }
    ++report.final_inputs;
    report.repeated_records += finals_seen - 1;
    const v1::DecisionKind kind = first->decision().decision();
    finals[id] = {kind, TimeFromProto(first->decided_at())};
    if (kind == v1::RELEASE) ++report.released;
    if (kind == v1::SUPPRESS) ++report.suppressed;
    if (kind == v1::EXPIRED) ++report.expired;
    // The routed output agrees with the decision.
    if (kind == v1::RELEASE && !released_ids.contains(id)) {
      i1.Violation(absl::StrCat(id, ": RELEASE but not on tact.released"));
    }
    if (kind == v1::SUPPRESS && !suppressed_ids.contains(id)) {
      i1.Violation(absl::StrCat(id, ": SUPPRESS but not on tact.suppressed"));
    }
    if (kind != v1::RELEASE && released_ids.contains(id)) {
      i1.Violation(absl::StrCat(id, ": on tact.released but decided ", KindName(kind)));
    }
  }
  for (const std::string& id : released_ids) {
    if (!finals.contains(id) && !dlq_ids.contains(id)) {
      i1.Violation(absl::StrCat(id, ": on tact.released without a final decision record"));
    }
  }

  // What each distinct released event counts in, by the same pure evaluation tactd used (at its decision time).
  struct Counted {
    std::string rule_id;
    policy::WindowKind kind;
    int64_t count;
    absl::Duration window;
    bool shadow;
    std::vector<std::pair<absl::Time, std::string>> events;  // (decided_at, event id)
  };
  std::map<std::string, Counted> counters;  // Redis key → what it should hold
  for (const std::string& id : released_ids) {
    auto f = finals.find(id);
    if (f == finals.end()) continue;
    const Event& ev = by_id.at(id)->event;
    const policy::Plan plan = policy::PlanEvent(policy, ev, f->second.at);
    for (const policy::LimitCheck& l : plan.limits) {
      const std::string key = store::KeySchema().CustomerPrefix(ev.tenant, ev.customer_id) + std::string(l.counter);
      Counted& c = counters
                       .try_emplace(key, Counted{std::string(l.rule_id), l.kind, l.count, l.window, l.shadow, {}})
                       .first->second;
      c.events.emplace_back(f->second.at, id);
    }
  }

  // I2: Redis counters equal the distinct released events, for every key of the scenario's customers.
  std::set<std::string> prefixes;
  for (const SentInput& s : sent) {
    if (!s.poison) prefixes.insert(store::KeySchema().CustomerPrefix(s.event.tenant, s.event.customer_id));
  }
  auto ours = [&](const std::string& key) {
    const size_t end = key.find("}:");
    return end != std::string::npos && prefixes.contains(key.substr(0, end + 2));
  };
  for (const auto& [key, c] : counters) {
    ++i2.r.checked;
    if (c.kind == policy::WindowKind::kRolling) {
      std::set<std::string> want;
      for (const auto& e : c.events) want.insert(e.second);
      if (auto n = observed.rolling_count.find(key); n != observed.rolling_count.end()) {  // store v2: a count
        if (n->second != static_cast<int64_t>(want.size())) {
          i2.Violation(absl::StrCat(key, ": released ", want.size(), ", counted ", n->second));
        }
        continue;
      }
      auto it = observed.rolling.find(key);
      const std::set<std::string> have = it == observed.rolling.end() ? std::set<std::string>() : it->second;
      if (have != want) {
        std::vector<std::string> missing, extra;
        std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(missing));
        std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(extra));
        i2.Violation(absl::StrCat(key, ": released ", want.size(), ", counted ", have.size(), "; not counted [",
                                  absl::StrJoin(missing, ","), "], counted but not released [",
                                  absl::StrJoin(extra, ","), "]"));
      }
    } else {
      auto it = observed.calendar.find(key);
      const int64_t have = it == observed.calendar.end() ? 0 : it->second;
      if (have != static_cast<int64_t>(c.events.size())) {
        i2.Violation(absl::StrCat(key, ": released ", c.events.size(), ", counter ", have));
      }
    }
  }
  for (const auto& [key, members] : observed.rolling) {
    if (ours(key) && !counters.contains(key) && !members.empty()) {
      ++i2.r.checked;
      i2.Violation(absl::StrCat(key, ": counts ", members.size(), " events, none of them released (e.g. ",
                                *members.begin(), ")"));
    }
  }
  for (const auto& [key, n] : observed.rolling_count) {
    if (ours(key) && !counters.contains(key) && n != 0) {
      ++i2.r.checked;
      i2.Violation(absl::StrCat(key, ": counts ", n, " messages, none of them released"));
    }
  }
  for (const auto& [key, value] : observed.calendar) {
    if (ours(key) && !counters.contains(key) && value != 0) {
      ++i2.r.checked;
      i2.Violation(absl::StrCat(key, ": counter ", value, ", no released event counts in it"));
    }
  }

  // I3: the enforcing limits hold over what went out.
  for (auto& [key, c] : counters) {
    if (c.shadow) continue;
    ++i3.r.checked;
    std::sort(c.events.begin(), c.events.end());
    if (c.kind == policy::WindowKind::kCalendar) {
      if (static_cast<int64_t>(c.events.size()) > c.count) {
        i3.Violation(absl::StrCat(key, ": ", c.events.size(), " released in one period, limit ", c.count));
      }
      continue;
    }
    // Rolling: any `count + 1` consecutive releases must span at least the window.
    for (size_t j = static_cast<size_t>(c.count); j < c.events.size(); ++j) {
      const absl::Duration span = c.events[j].first - c.events[j - c.count].first;
      if (span < c.window) {
        i3.Violation(absl::StrCat(key, ": ", c.count + 1, " released within ", absl::FormatDuration(span),
                                  " (limit ", c.count, " per ", absl::FormatDuration(c.window), "), e.g. ",
                                  c.events[j].second));
        break;
      }
    }
  }

  // I5: no promotion released to a customer while at risk.
  for (const AtRisk& a : at_risk) {
    for (const std::string& id : released_ids) {
      const Event& ev = by_id.at(id)->event;
      if (ev.tenant != a.tenant || ev.customer_id != a.customer_id || ev.message_class != v1::PROMOTION) continue;
      ++i5.r.checked;
      auto f = finals.find(id);
      const absl::Time at = f == finals.end() ? absl::InfinitePast() : f->second.at;
      if (at >= a.from && at < a.until) {
        i5.Violation(absl::StrCat(id, ": promotion released to at-risk customer ", a.tenant, ":", a.customer_id));
      }
    }
    for (const SentInput& s : sent) {
      if (!s.poison && s.event.tenant == a.tenant && s.event.customer_id == a.customer_id &&
          s.event.message_class == v1::PROMOTION && !released_ids.contains(s.event.event_id)) {
        ++i5.r.checked;
      }
    }
  }
  return report;
}

}  // namespace tact::testing
