#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tact/v1/capacity.pb.h"

namespace tact::store {

// The campaign repository port (used by daemon/campaign: the desk and the gate enforcer; adapters here: Redis,
// in memory): a tenant's staffing, its released campaigns and the notices sent about them. Pure data: v1 messages.
// Redis keys (hash-tagged per tenant, so a tenant's keys live in one Cluster slot):
//   tact:cap:{<tenant>}:staffing   string  v1.PutStaffingRequest
//   tact:cap:{<tenant>}:campaigns  hash    campaign_id → v1.Campaign
//   tact:cap:{<tenant>}:notices    list    v1.CampaignNotice, oldest first, the last kMaxNotices kept
// Enforcement and feedback (campaign::StoreGateEnforcer, campaign::CampaignDesk::OnCampaignSignal):
//   tact:cap:{<tenant>}:paced:<campaign>:<interval unix s>  set  event ids released in a paced interval (2 days)
//   tact:cap:{<tenant>}:released:<campaign>   HyperLogLog  event ids released (approximate count, 90 days)
//   tact:cap:{<tenant>}:feedback:<campaign>   hash  contacts, complaints (90 days)
//   tact:cap:{<tenant>}:fbseen:<campaign>     set   signal ids already counted (90 days)
// Thread-safety: implementations are safe to call from any thread. UNAVAILABLE when the backend is down.
struct SlotReservation {
  bool admitted = false;  // the event holds a slot of the interval (newly or already)
  int64_t used = 0;       // slots used in the interval after this call
};

struct CampaignCounts {
  int64_t released = 0;    // approximate (HyperLogLog, about ±1%)
  int64_t contacts = 0;
  int64_t complaints = 0;
};

inline constexpr absl::Duration kPacedSlotTtl = absl::Hours(48);
inline constexpr absl::Duration kFeedbackTtl = absl::Hours(24 * 90);

class CapacityStore {
 public:
  virtual ~CapacityStore() = default;
  virtual absl::Status PutStaffing(const v1::PutStaffingRequest& staffing) = 0;
  virtual absl::StatusOr<std::optional<v1::PutStaffingRequest>> GetStaffing(std::string_view tenant) = 0;
  // ALREADY_EXISTS when `campaign` is new (`create`) but its id is taken.
  virtual absl::Status PutCampaign(const v1::Campaign& campaign, bool create) = 0;
  virtual absl::StatusOr<std::optional<v1::Campaign>> GetCampaign(std::string_view tenant,
                                                                  std::string_view campaign_id) = 0;
  virtual absl::StatusOr<std::vector<v1::Campaign>> ListCampaigns(std::string_view tenant) = 0;
  virtual absl::Status AddNotice(const v1::CampaignNotice& notice) = 0;
  virtual absl::StatusOr<std::vector<v1::CampaignNotice>> ListNotices(std::string_view tenant) = 0;

  // Paced enforcement, atomic across instances: admits `event_id` into the interval's set when it is already a
  // member (a redelivery) or the set holds fewer than `batch`; `dry_run` only looks.
  virtual absl::StatusOr<SlotReservation> ReserveSlot(std::string_view tenant, std::string_view campaign_id,
                                                      absl::Time interval, std::string_view event_id, int64_t batch,
                                                      bool dry_run) = 0;
  // Gives a reserved slot back (the customer-level decision did not release the event).
  virtual absl::Status ReturnSlot(std::string_view tenant, std::string_view campaign_id, absl::Time interval,
                                  std::string_view event_id) = 0;
  // Counts a released event of the campaign (idempotent by event id).
  virtual absl::Status CountReleased(std::string_view tenant, std::string_view campaign_id,
                                     std::string_view event_id) = 0;
  // Adds a signal's contacts and complaints (once per non-empty `signal_id`); returns the counts after.
  virtual absl::StatusOr<CampaignCounts> AddFeedback(std::string_view tenant, std::string_view campaign_id,
                                                     std::string_view signal_id, int64_t contacts,
                                                     int64_t complaints) = 0;
  virtual absl::StatusOr<CampaignCounts> GetCounts(std::string_view tenant, std::string_view campaign_id) = 0;
};

inline constexpr int kMaxNotices = 1000;

std::string CapacityKey(std::string_view tenant, std::string_view what);
// "paced:<campaign>:<interval unix seconds>"
std::string PacedSlotKey(std::string_view tenant, std::string_view campaign_id, absl::Time interval);

// The fake: same semantics, in memory. Also what tests use without Redis.
class InMemoryCapacityStore final : public CapacityStore {
 public:
  absl::Status PutStaffing(const v1::PutStaffingRequest& staffing) override;
  absl::StatusOr<std::optional<v1::PutStaffingRequest>> GetStaffing(std::string_view tenant) override;
  absl::Status PutCampaign(const v1::Campaign& campaign, bool create) override;
  absl::StatusOr<std::optional<v1::Campaign>> GetCampaign(std::string_view tenant,
                                                          std::string_view campaign_id) override;
  absl::StatusOr<std::vector<v1::Campaign>> ListCampaigns(std::string_view tenant) override;
  absl::Status AddNotice(const v1::CampaignNotice& notice) override;
  absl::StatusOr<std::vector<v1::CampaignNotice>> ListNotices(std::string_view tenant) override;
  absl::StatusOr<SlotReservation> ReserveSlot(std::string_view tenant, std::string_view campaign_id,
                                              absl::Time interval, std::string_view event_id, int64_t batch,
                                              bool dry_run) override;
  absl::Status ReturnSlot(std::string_view tenant, std::string_view campaign_id, absl::Time interval,
                          std::string_view event_id) override;
  absl::Status CountReleased(std::string_view tenant, std::string_view campaign_id,
                             std::string_view event_id) override;
  absl::StatusOr<CampaignCounts> AddFeedback(std::string_view tenant, std::string_view campaign_id,
                                             std::string_view signal_id, int64_t contacts,
                                             int64_t complaints) override;
  absl::StatusOr<CampaignCounts> GetCounts(std::string_view tenant, std::string_view campaign_id) override;

 private:
  struct Figures {
    std::set<std::string> released;
    std::set<std::string> signals;
    int64_t contacts = 0;
    int64_t complaints = 0;
  };
  CampaignCounts CountsLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Mutex mu_;
  std::map<std::string, v1::PutStaffingRequest> staffing_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, v1::Campaign> campaigns_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<v1::CampaignNotice>> notices_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> slots_ ABSL_GUARDED_BY(mu_);    // CapacityKey(paced:…) → ids
  std::map<std::string, Figures> figures_ ABSL_GUARDED_BY(mu_);                // CapacityKey(feedback:…)
};

}  // namespace tact::store
