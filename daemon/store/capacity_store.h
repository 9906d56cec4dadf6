#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tact/v1/capacity.pb.h"

namespace tact::store {

// What the campaign gate keeps: a tenant's staffing, its released campaigns and the notices sent about them.
// Redis keys (hash-tagged per tenant, so a tenant's keys live in one Cluster slot):
//   tact:cap:{<tenant>}:staffing   string  v1.PutStaffingRequest
//   tact:cap:{<tenant>}:campaigns  hash    campaign_id → v1.Campaign
//   tact:cap:{<tenant>}:notices    list    v1.CampaignNotice, oldest first, the last kMaxNotices kept
// Thread-safety: implementations are safe to call from any thread. UNAVAILABLE when the backend is down.
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
};

inline constexpr int kMaxNotices = 1000;

std::string CapacityKey(std::string_view tenant, std::string_view what);

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

 private:
  absl::Mutex mu_;
  std::map<std::string, v1::PutStaffingRequest> staffing_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, v1::Campaign> campaigns_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<v1::CampaignNotice>> notices_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::store
