#include "batcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/client_context.h"

namespace sessiond::internal {
namespace {

// The field of `oneof_name` in `container`'s type whose message type is `type`.
const google::protobuf::FieldDescriptor* CaseOf(const google::protobuf::Descriptor& container,
                                                const char* oneof_name,
                                                const google::protobuf::Descriptor* type) {
  const google::protobuf::OneofDescriptor* oneof = container.FindOneofByName(oneof_name);
  for (int i = 0; i < oneof->field_count(); ++i) {
    if (oneof->field(i)->message_type() == type) return oneof->field(i);
  }
  return nullptr;
}

// Await's answer to a caller whose turn to go alone has come.
Batcher::Turn SendAlone() {
  Batcher::Turn turn;
  turn.send_alone = true;
  return turn;
}

}  // namespace

v1::BatchOperation ToOperation(const google::protobuf::Message& request) {
  v1::BatchOperation operation;
  const google::protobuf::FieldDescriptor* field =
      CaseOf(*v1::BatchOperation::descriptor(), "request", request.GetDescriptor());
  operation.GetReflection()->MutableMessage(&operation, field)->CopyFrom(request);
  return operation;
}

absl::Status TakeResponse(v1::BatchResult& result, google::protobuf::Message* response) {
  const google::protobuf::FieldDescriptor* field =
      CaseOf(*v1::BatchResult::descriptor(), "response", response->GetDescriptor());
  const google::protobuf::Reflection* reflection = result.GetReflection();
  if (field == nullptr || !reflection->HasField(result, field)) {
    return absl::InternalError(
        absl::StrCat("the server's Batch result holds no ", response->GetDescriptor()->name()));
  }
  std::unique_ptr<google::protobuf::Message> taken(reflection->ReleaseMessage(&result, field));
  response->GetReflection()->Swap(response, taken.get());
  return absl::OkStatus();
}

// A Batch rpc in flight: what gRPC needs alive until it completes, and whom to tell.
struct Batcher::Flight {
  grpc::ClientContext context;
  v1::BatchRequest request;
  v1::BatchResponse response;
  Group waiters;
};

Batcher::Batcher(v1::SessionService::Stub* stub, std::string bearer_token, Limits limits)
    : stub_(stub),
      authorization_(bearer_token.empty() ? "" : "Bearer " + bearer_token),
      limits_(limits) {}

Batcher::~Batcher() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](int* batches) { return *batches == 0; }, &batches_));
}

Batcher::Turn Batcher::Await(v1::BatchOperation operation, size_t bytes, absl::Time deadline) {
  auto waiter = std::make_shared<Waiter>();
  waiter->bytes = bytes;
  waiter->operation = std::move(operation);
  waiter->deadline = deadline;
  std::vector<Group> ready;
  {
    absl::MutexLock lock(&mutex_);
    if (flights_ == 0 && queue_.empty()) {
      ++flights_;
      return SendAlone();
    }
    queue_.push_back(waiter);
    queue_bytes_ += waiter->bytes;
    ready = TakeReady();
  }
  Start(std::move(ready));  // may hold our own group
  Turn turn;
  turn.result = absl::DeadlineExceededError("Deadline Exceeded");
  {
    absl::MutexLock lock(&mutex_);
    while (!waiter->Answered() && !waiter->answered.WaitWithDeadline(&mutex_, deadline)) {
    }
    switch (waiter->state) {
      case Waiter::State::kDone:
        turn.result = std::move(waiter->result);
        return turn;
      case Waiter::State::kAlone:
        if (absl::Now() < deadline) return SendAlone();
        // Too late to go: pass the turn on.
        --flights_;
        ready = TakeReady();
        break;
      case Waiter::State::kQueued:
        queue_.erase(std::find(queue_.begin(), queue_.end(), waiter));
        queue_bytes_ -= waiter->bytes;
        break;
      case Waiter::State::kSent:  // its result will be dropped
        break;
    }
  }
  Start(std::move(ready));
  return turn;
}

void Batcher::Post(v1::BatchOperation operation, size_t bytes, absl::Time deadline, Callback done) {
  auto waiter = std::make_shared<Waiter>();
  waiter->bytes = bytes;
  waiter->operation = std::move(operation);
  waiter->deadline = deadline;
  waiter->done = std::move(done);
  std::vector<Group> ready;
  {
    absl::MutexLock lock(&mutex_);
    queue_.push_back(std::move(waiter));
    queue_bytes_ += bytes;
    ready = TakeReady();
  }
  Start(std::move(ready));
}

void Batcher::AloneDone() {
  std::vector<Group> ready;
  {
    absl::MutexLock lock(&mutex_);
    --flights_;
    ready = TakeReady();
  }
  Start(std::move(ready));
}

std::vector<Batcher::Group> Batcher::TakeReady() {
  std::vector<Group> ready;
  while (!queue_.empty() && (flights_ == 0 || queue_.size() >= limits_.max_operations ||
                             queue_bytes_ >= limits_.max_bytes)) {
    Group group;
    size_t bytes = 0;
    while (!queue_.empty() && group.size() < limits_.max_operations &&
           (group.empty() || bytes + queue_.front()->bytes <= limits_.max_bytes)) {
      bytes += queue_.front()->bytes;
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queue_bytes_ -= bytes;
    ++flights_;
    if (group.size() == 1 && group.front()->done == nullptr) {
      group.front()->state = Waiter::State::kAlone;
      group.front()->answered.Signal();
      continue;
    }
    for (const auto& waiter : group) waiter->state = Waiter::State::kSent;
    ++batches_;
    ready.push_back(std::move(group));
  }
  return ready;
}

void Batcher::Start(std::vector<Group> groups) {
  for (Group& group : groups) {
    auto* flight = new Flight();
    absl::Time deadline = absl::InfinitePast();
    for (const auto& waiter : group) {
      // A waiter's operation is only read here, before its result can be delivered.
      *flight->request.add_operations() = waiter->operation;
      deadline = std::max(deadline, waiter->deadline);
    }
    if (deadline != absl::InfiniteFuture()) {
      flight->context.set_deadline(absl::ToChronoTime(deadline));
    }
    if (!authorization_.empty()) flight->context.AddMetadata("authorization", authorization_);
    flight->waiters = std::move(group);
    stub_->async()->Batch(&flight->context, &flight->request, &flight->response,
                          [this, flight](grpc::Status status) { Finish(flight, status); });
  }
}

void Batcher::Finish(Flight* flight, const grpc::Status& status) {
  std::unique_ptr<Flight> done(flight);
  const size_t count = done->waiters.size();
  absl::Status error;
  if (!status.ok()) {
    error =
        absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  } else if (static_cast<size_t>(done->response.results_size()) != count) {
    error = absl::InternalError(absl::StrCat("the server answered a Batch of ", count,
                                             " operations with ", done->response.results_size(),
                                             " results"));
  }
  std::vector<Group> ready;
  Group posted;
  {
    absl::MutexLock lock(&mutex_);
    for (size_t i = 0; i < count; ++i) {
      Waiter& waiter = *done->waiters[i];
      if (error.ok()) {
        waiter.result = std::move(*done->response.mutable_results(static_cast<int>(i)));
      } else {
        waiter.result = error;
      }
      waiter.state = Waiter::State::kDone;
      if (waiter.done != nullptr) {
        posted.push_back(done->waiters[i]);
      } else {
        waiter.answered.Signal();
      }
    }
    --flights_;
    ready = TakeReady();
  }
  Start(std::move(ready));
  for (const auto& waiter : posted) waiter->done(std::move(waiter->result));
  // The flight (its ClientContext) must be gone before the destructor, which waits for batches_
  // to reach 0, lets the stub and its channel go; releasing the mutex is the last use of `this`.
  done.reset();
  absl::MutexLock lock(&mutex_);
  --batches_;
}

}  // namespace sessiond::internal
