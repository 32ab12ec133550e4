// Failover: a request whose upstream failed before answering (no response head: the connection was
// refused, timed out or closed; nothing reached the client) is moved once to the next-best upstream
// that serves its model and may be called (upstream_route.h), in the ledger and in its Flight.
//
// The ledger stays truthful by closing and reserving anew, never by editing a record:
//   - the failed call is closed by the one rule of charge.h: released after a refused connection
//     (nothing was sent), counted in full after a timeout or a connection closed before the head
//     (the upstream may have generated up to the cap, and may bill it);
//   - the retry is a new request in the ledger (a new request id, the same key, the same tokens),
//     reserved for the upstream that serves it, so spend per upstream is exact.
// When the ledger has no room for the retry (racing requests took the tokens a release gave back,
// or the failed call was counted), the request ends with its first failure. The two ledger entries
// are linked by one line on stderr ("request A: upstream X failed before answering (connect);
// retried as request B on upstream Y"); a whole response's headers name the retry, a stream's name
// the first call (its head was sent before the upstream was called).
//
// Thread-safety: as Flight: one request at a time.
#pragma once

#include <string_view>

#include "gateway/admission.h"
#include "gateway/flight.h"
#include "gateway/gateway_impl.h"
#include "http/upstream_client.h"

namespace clearhouse::gateway {

// The kind label of clearhouse_upstream_errors_total for a failed call: connect, timeout, protocol
// (closed), status (an error answer).
[[nodiscard]] std::string_view upstream_error_kind(http::UpstreamFailure failure);

// Call after every upstream call of the request, with its reply: records the call in the health of
// its upstream; then, when the call failed before its response head and may be retried, moves the
// request to the next-best upstream (closing the failed call and reserving anew, as above) and
// returns true: the caller calls again, on flight.upstream(), with that upstream's body. Else
// returns false and leaves the flight as the call left it, for the caller to settle.
[[nodiscard]] bool fail_over(Gateway::Impl& g, Admission& a, Flight& flight,
                             const http::UpstreamReply& reply);

}  // namespace clearhouse::gateway
