#pragma once
// One room's replica on this node, as the broker keeps it: the room it feeds, the reorder buffer
// that puts the channel's text messages in seq order, and the state of its warm-up. Only the
// broker touches it, on its strand.

#include "common/envelope.hpp"
#include "server/cluster/broker.hpp"
#include "server/cluster/reorder_buffer.hpp"
#include "server/net.hpp"
#include "server/rooms/room.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace crier {

struct broker::replica {
  std::string name;
  std::shared_ptr<room> r;
  reorder_buffer order;
  bool warming = false;
  bool warm = false;
  bool ever_warm = false;
  std::vector<envelope> buffered; // channel messages that came during warm-up
  std::vector<std::function<void()>> waiters;
  asio::steady_timer gap_timer;
  bool gap_armed = false;

  replica(std::string n, std::shared_ptr<room> room, asio::any_io_executor ex)
    : name(std::move(n)), r(std::move(room)), gap_timer(std::move(ex)) {}
};

} // namespace crier
