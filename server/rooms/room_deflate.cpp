#include "server/rooms/room_deflate.hpp"

namespace crier {

void room_deflate::joined(std::size_t format) {
  auto& p = formats_.at(format);
  ++p.followers;
  if (p.context) p.context->joined();
}

void room_deflate::left(std::size_t format) {
  auto& p = formats_.at(format);
  --p.followers;
  // Kept down to half the threshold, so that a room whose size hovers around it does not free and
  // allocate 256 KiB at every join and leave.
  if (p.context && p.followers * 2 < min_members_) p.context.reset();
}

void room_deflate::attach(frame& f, std::size_t format) {
  auto& p = formats_.at(format);
  if (min_members_ == 0 || !f.payload || f.payload->empty() || f.size() < min_size_) return;
  if (!p.context) {
    if (p.followers < min_members_) return;
    p.context = std::make_unique<deflate_context>(level_);
  }
  f.deflated = std::make_shared<deflate_cache const>(p.context->compress(*f.payload));
}

} // namespace crier
