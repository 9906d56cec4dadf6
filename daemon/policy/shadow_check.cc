#include "daemon/policy/shadow_check.h"

#include <algorithm>
#include <bit>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"

namespace tact::policy {
namespace {

// --- "can never decide": an earlier enforcing rule always applies first ------------------------------------
//
// Every (earlier, later) pair of enforcing rules is looked at, so a pair must cost O(1) beyond work linear in the
// rules' list entries (a 17 KB file aliasing one 1,000-entry list in 100 rules used to cost rules² × entries²).
// Each string list is interned once as a canonical set (sorted, distinct) with an id: identical lists, such as
// one list aliased by every rule, share an id and cover each other at no cost; a subset test between two
// distinct sets runs once per pair of sets (memoised) and by binary search. Channels and classes are bitmasks,
// quiet hours minute sets computed once per rule. The verdicts are those of the definition in policies/README.md
// ("Rules that can never decide"), unchanged.

// Lists at least this long are matched through a hash set (Match::campaign_set etc.).
constexpr size_t kIndexedListMin = 8;

// Interned string sets. Not thread-safe; one per ParseAll.
class ListSets {
 public:
  explicit ListSets(CheckWork& work) : work_(work) {}

  // The id of the set of `values` (a non-empty list).
  int Intern(const std::vector<std::string>& values) {
    work_.list_entries_read += values.size();  // hashing the list, and comparing it on a hit
    if (auto it = by_list_.find(values); it != by_list_.end()) return it->second;
    std::vector<std::string> set = values;
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    work_.list_entries_read += values.size();
    auto [it, fresh] = by_set_.try_emplace(std::move(set), static_cast<int>(sets_.size()));
    if (fresh) sets_.push_back(&it->first);
    by_list_.emplace(values, it->second);
    return it->second;
  }

  // The set `id` as a hash set for matching events, shared by every rule with that set; null for a short set
  // (a scan is as fast).
  std::shared_ptr<const Match::ValueSet> Index(int id) {
    if (sets_[id]->size() < kIndexedListMin) return nullptr;
    if (index_.size() <= static_cast<size_t>(id)) index_.resize(id + 1);
    if (index_[id] == nullptr) {
      index_[id] = std::make_shared<const Match::ValueSet>(sets_[id]->begin(), sets_[id]->end());
    }
    return index_[id];
  }

  // Whether set `inner` ⊆ set `outer`.
  bool Subset(int inner, int outer) {
    if (inner == outer) return true;
    const std::vector<std::string>& a = *sets_[inner];
    const std::vector<std::string>& b = *sets_[outer];
    if (a.size() > b.size() || a.front() < b.front() || b.back() < a.back()) return false;
    const std::pair<int, int> key(inner, outer);
    if (auto it = subset_.find(key); it != subset_.end()) return it->second;
    bool covered = true;
    auto from = b.begin();
    for (const std::string& v : a) {  // both sorted: each lookup starts past the previous one
      work_.list_entries_read += 1 + std::bit_width(static_cast<size_t>(b.end() - from));
      from = std::lower_bound(from, b.end(), v);
      if (from == b.end() || *from != v) {
        covered = false;
        break;
      }
      ++from;
    }
    subset_.emplace(key, covered);
    return covered;
  }

 private:
  CheckWork& work_;
  absl::flat_hash_map<std::vector<std::string>, int> by_list_;  // as written (aliases hit here) → id
  absl::node_hash_map<std::vector<std::string>, int> by_set_;   // canonical → id (node: stable keys)
  std::vector<const std::vector<std::string>*> sets_;           // id → canonical set (a key of by_set_)
  std::vector<std::shared_ptr<const Match::ValueSet>> index_;   // id → its hash set, once built
  absl::flat_hash_map<std::pair<int, int>, bool> subset_;
};


template <typename Enum>
uint32_t Bits(const std::vector<Enum>& values) {
  uint32_t bits = 0;
  for (Enum v : values) bits |= 1u << static_cast<int>(v);
  return bits;
}

std::bitset<1440> QuietMinutes(const QuietHours& q) {
  std::bitset<1440> b;
  for (int m = q.start_minute; m != q.end_minute; m = (m + 1) % 1440) b.set(m);
  return b;
}

// An absent list (0 / -1) in `outer` covers anything; one in `inner` only an absent one in `outer`.
bool BitsCover(uint32_t outer, uint32_t inner) { return outer == 0 || (inner != 0 && (inner & ~outer) == 0); }

class Checker {
 public:
  explicit Checker(CheckWork& work) : sets_(work), work_(work) {}

  // The rule's facts; also attaches the hash sets of its long lists to r.match (shared between rules).
  RuleFacts Compile(Rule& r) {
    Match& m = r.match;
    RuleFacts f;
    f.transactional = std::find(m.classes.begin(), m.classes.end(), v1::TRANSACTIONAL) != m.classes.end();
    f.channels = Bits(m.channels);
    f.classes = Bits(m.classes);
    if (!m.tenants.empty()) {
      f.tenants = sets_.Intern(m.tenants);
      m.tenant_set = sets_.Index(f.tenants);
    }
    if (!m.campaigns.empty()) {
      f.campaigns = sets_.Intern(m.campaigns);
      m.campaign_set = sets_.Index(f.campaigns);
    }
    m.attribute_sets.clear();
    for (const auto& [key, values] : m.attributes) {
      const int key_id = keys_.try_emplace(key, static_cast<int>(keys_.size())).first->second;
      f.attributes.emplace_back(key_id, sets_.Intern(values));
      m.attribute_sets.push_back(sets_.Index(f.attributes.back().second));
    }
    std::sort(f.attributes.begin(), f.attributes.end());
    if (r.quiet_hours) f.quiet = QuietMinutes(*r.quiet_hours);
    return f;
  }

  // The first earlier rule (policy order) that makes `rule` unable to ever decide; null when none.
  const Rule* FindShadowing(const std::vector<Rule>& earlier, const std::vector<RuleFacts>& earlier_facts,
                            const Rule& rule, const RuleFacts& facts) {
    if (rule.mode != Mode::kEnforce) return nullptr;
    for (size_t i = 0; i < earlier.size(); ++i) {
      ++work_.rule_pairs;
      if (earlier[i].mode == Mode::kEnforce && EffectDominates(earlier[i], earlier_facts[i], rule, facts) &&
          MatchCovers(earlier_facts[i], facts)) {
        return &earlier[i];
      }
    }
    return nullptr;
  }

 private:
  // True when every message `inner` matches is also matched by `outer`.
  bool MatchCovers(const RuleFacts& outer, const RuleFacts& inner) {
    if (inner.transactional && !outer.transactional) return false;
    if (!BitsCover(outer.channels, inner.channels) || !BitsCover(outer.classes, inner.classes)) return false;
    if (!SetCovers(outer.tenants, inner.tenants) || !SetCovers(outer.campaigns, inner.campaigns)) return false;
    // Every attribute key of `outer` is in `inner`, with outer's values containing inner's.
    if (outer.attributes.size() > inner.attributes.size()) return false;
    auto from = inner.attributes.begin();
    for (const auto& [key, values] : outer.attributes) {
      from = std::lower_bound(from, inner.attributes.end(), std::make_pair(key, -1));
      if (from == inner.attributes.end() || from->first != key || !sets_.Subset(from->second, values)) return false;
      ++from;
    }
    return true;
  }

  bool SetCovers(int outer, int inner) { return outer < 0 || (inner >= 0 && sets_.Subset(inner, outer)); }

  // True when `later` can never be the deciding rule because `earlier` always applies whenever it would.
  static bool EffectDominates(const Rule& earlier, const RuleFacts& earlier_facts, const Rule& later,
                              const RuleFacts& later_facts) {
    if (earlier.limit && later.limit) return LimitDominates(*earlier.limit, *later.limit);
    if (earlier.suppress_if && later.suppress_if) return SuppressIfDominates(*earlier.suppress_if, *later.suppress_if);
    if (earlier.quiet_hours && later.quiet_hours) {
      return (earlier_facts.quiet & later_facts.quiet) == later_facts.quiet;
    }
    return false;
  }

  // Every release that counts toward `b` also counts toward `a` (a matches a superset, all limits of a release are
  // reserved together, and a's window holds b's), so a's counter is never below b's: while a is under its count,
  // b (count >= a's) is too.
  static bool LimitDominates(const Limit& a, const Limit& b) {
    // a's window holds b's: a rolling window at least as long; a calendar week or month holds whole days.
    const bool window_covers = a.kind == b.kind && (a.kind == WindowKind::kRolling
                                                        ? a.window >= b.window
                                                        : a.unit == b.unit || b.unit == CalendarUnit::kDay);
    return window_covers && (a.scope == b.scope || a.scope == Scope::kCustomer) && a.count <= b.count;
  }

  // Every condition of `b` is implied by one of `a`'s.
  static bool SuppressIfDominates(const SuppressIf& a, const SuppressIf& b) {
    if (b.csat_at_most && !(a.csat_at_most && *a.csat_at_most >= *b.csat_at_most && a.csat_within >= b.csat_within)) {
      return false;
    }
    if (b.open_complaint && !a.open_complaint) return false;
    if (b.escalation_within && !(a.escalation_within && *a.escalation_within >= *b.escalation_within)) {
      return false;
    }
    if (b.callback_pending && !a.callback_pending) return false;
    return !b.opted_out || a.opted_out;
  }

  ListSets sets_;
  absl::flat_hash_map<std::string, int> keys_;  // attribute key → id
  CheckWork& work_;
};

}  // namespace

struct ShadowCheck::State {
  explicit State(CheckWork& work) : checker(work) {}
  Checker checker;
  std::vector<RuleFacts> facts;  // parallel to the earlier rules
};

ShadowCheck::ShadowCheck(CheckWork& work) : state_(std::make_unique<State>(work)) {}

ShadowCheck::~ShadowCheck() = default;

absl::Status ShadowCheck::Add(Rule& rule, const std::vector<Rule>& earlier, const yaml_reader::Source& src,
                              const YAML::Mark& mark) {
  RuleFacts facts = state_->checker.Compile(rule);
  if (const Rule* first = state_->checker.FindShadowing(earlier, state_->facts, rule, facts)) {
    return src.Error(mark.line + 1, mark.column + 1,
                     absl::StrCat("rule '", rule.id, "' can never decide: the earlier rule '", first->id, "' (",
                                  first->file, ":", first->line,
                                  ") matches every message it matches and always applies first "
                                  "(remove it, or make it stricter than '", first->id, "')"));
  }
  state_->facts.push_back(std::move(facts));
  return absl::OkStatus();
}

}  // namespace tact::policy
