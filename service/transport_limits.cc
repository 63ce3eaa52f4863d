#include "service/transport_limits.h"

#include <grpc/compression.h>

#include <algorithm>
#include <cstdint>

#include "grpcpp/resource_quota.h"

namespace sessiond::service {
namespace {

// Protobuf's framing of one map entry (tags and lengths of the entry, its key and its Value),
// rounded up; and the room left for a request's other fields (id, conditions, timeouts).
constexpr size_t kFramingPerKey = 32;
constexpr size_t kOtherFields = 64 * 1024;

int Millis(absl::Duration duration) {
  return static_cast<int>(absl::ToInt64Milliseconds(duration));
}

}  // namespace

void ApplyTransportLimits(const TransportLimits& limits, size_t max_message_bytes,
                          grpc::ServerBuilder& builder) {
  grpc::ResourceQuota quota("sessiond");
  quota.Resize(limits.memory_quota_bytes);
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(static_cast<int>(max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(limits.max_concurrent_streams));
  // Only identity: a gzip or deflate request is refused when its headers arrive.
  builder.AddChannelArgument(GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET,
                             1 << GRPC_COMPRESS_NONE);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             Millis(limits.handshake_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(limits.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(limits.keepalive_timeout));
  // Clients keep idle channels alive with pings no more often than min_client_ping_interval.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Millis(limits.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
}

size_t MessageBytesFor(size_t max_session_bytes, size_t max_keys) {
  return std::min<size_t>(max_session_bytes + max_keys * kFramingPerKey + kOtherFields, INT32_MAX);
}

}  // namespace sessiond::service
