#pragma once

// The campaign desk's notice port: where notices about a campaign (PROPOSED, RELEASED, ACKNOWLEDGED, PAUSED,
// RESUMED, CANCELLED; notices.h) go once they are recorded. tactd's adapter is pipeline::KafkaNoticeSink (topic
// tact.campaign-notices); tests use a fake.
#include "absl/status/status.h"
#include "tact/v1/capacity.pb.h"

namespace tact::campaign {

inline constexpr char kCampaignNoticesTopic[] = "tact.campaign-notices";

// Thread-safety: implementations are called from any thread (blocking is fine: the desk runs on its workers).
class NoticePort {
 public:
  virtual ~NoticePort() = default;
  virtual absl::Status Publish(const v1::CampaignNotice& notice) = 0;
};

}  // namespace tact::campaign
