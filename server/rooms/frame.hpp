#pragma once
// One encoded message on its way out: an immutable payload shared by every recipient's queue.

#include <cstddef>
#include <memory>
#include <string>

namespace crier {

struct frame {
  std::shared_ptr<std::string const> payload;
  bool binary = false;

  std::size_t size() const noexcept { return payload ? payload->size() : 0; }
};

inline frame make_frame(std::string data, bool binary) {
  return frame{std::make_shared<std::string const>(std::move(data)), binary};
}

} // namespace crier
