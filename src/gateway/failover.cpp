#include "gateway/failover.h"

#include <cstdio>
#include <string>

#include "gateway/charge.h"

namespace clearhouse::gateway {

std::string_view upstream_error_kind(http::UpstreamFailure failure) {
  switch (failure) {
    case http::UpstreamFailure::kConnect: return "connect";
    case http::UpstreamFailure::kTimeout: return "timeout";
    case http::UpstreamFailure::kClosed: return "protocol";
    default: return "status";
  }
}

bool fail_over(Gateway::Impl& g, Admission& a, Flight& flight, const http::UpstreamReply& reply) {
  a.route.finished(reply);
  if (g.aborting || !a.route.may_retry(reply)) return false;
  const std::optional<AuctionPick> next = a.route.choose(g.auction, flight.cap());
  if (!next) return false;

  const std::string failed_id = flight.id();
  const std::string& failed_name = flight.name();
  g.metrics.count_upstream_error(failed_name, upstream_error_kind(reply.failure));
  g.metrics.count_upstream_retry(failed_name);
  // Nothing arrived: nothing reported, nothing observed.
  flight.close(charge_for(
      {reply.failure, reply.status, openai::ReportedUsage{}, std::nullopt, flight.tokens()}));

  const std::string& next_name = g.config.upstreams[next->winner].name;
  std::string id = g.next_request_id();
  const std::int64_t now_ms = g.clock.now_ms();
  const ledger::ReserveResult reserve =
      g.ledger.reserve(id, a.key_id, next_name, flight.tokens(), ledger::IdCheck::kFreshId);
  g.budget_view.observe(reserve, now_ms);
  if (reserve.status != ledger::ReserveStatus::kReserved) {
    a.route.give_back();
    std::fprintf(stderr,
                 "gateway: request %s: upstream '%s' failed before answering (%s); no retry on "
                 "upstream '%s': the ledger refused its reservation (%s)\n",
                 failed_id.c_str(), failed_name.c_str(),
                 std::string(to_string(reply.failure)).c_str(), next_name.c_str(),
                 std::string(ledger::to_string(reserve.status)).c_str());
    return false;
  }
  std::fprintf(stderr,
               "gateway: request %s: upstream '%s' failed before answering (%s); retried as "
               "request %s on upstream '%s'\n",
               failed_id.c_str(), failed_name.c_str(),
               std::string(to_string(reply.failure)).c_str(), id.c_str(), next_name.c_str());
  flight.reserved(std::move(id), next->winner, *next, flight.cap(), flight.tokens());
  return true;
}

}  // namespace clearhouse::gateway
