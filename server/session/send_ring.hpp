#pragma once
// Per io_context: the writes that the wake list's wake-ups make, handed to the kernel 32 at a
// time in one io_uring system call instead of one send() each.
//
// A big room's broadcast is one small write per member. On a machine whose kernel isolates its
// page tables (most virtual machines), entering and leaving the kernel costs about a
// microsecond, a fifth of a loopback send's whole cost (docs/performance.md). 32 per call, not
// a whole slice of the wake list (256): a write waits for at most 31 others to be framed. Each
// send still happens during that one call, in the order added, and never waits (MSG_DONTWAIT):
// what the socket does not take comes back as a short count, and the session sends the rest
// through its gate as before, so the ring changes when the kernel is entered, not what the
// session's queue guarantees.
//
// Only with --io-uring on (off by default until the whole benchmark has run with it;
// docs/performance.md), only while a wake list runs a slice (collecting() is not null), only for
// plain TCP sockets and writes under 4 KiB (worth_collecting); everything else writes as before.
// With the ring, a busy room's rounds of writes are cheaper and would come sooner, each with
// fewer messages, which costs more per delivery: the wake list's batch window (--batch-window,
// 1 ms with the ring) keeps them apart.
// A kernel or a sandbox that refuses io_uring (Docker's default seccomp profile does, from
// Docker 25 on) leaves every write as before too.

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crier {

struct write_batch;

// What the ring hands a finished send back to, on the thread that added it.
class ring_sender {
public:
  // `result` is what send() would have returned (bytes, or -errno); `b` is the batch that was
  // added, framed, its `total` bytes in `b.buffers`. The sender keeps or clears `b`.
  virtual void sent(int result, write_batch& b, std::size_t total) = 0;
  // Called a few sends ahead of sent(), like wakeable::prefetch_for_wake.
  virtual void prefetch_for_sent() const noexcept {}

protected:
  ~ring_sender() = default;
};

class send_ring final : public boost::asio::io_context::service {
public:
  static inline boost::asio::execution_context::id id;

  explicit send_ring(boost::asio::io_context& ctx);
  ~send_ring() override;

  // Whether this process may use io_uring here: empty when it may, else why not (for the log).
  static std::string probe();
  // Turns batching on or off for every ring made after (from --io-uring, before any thread runs).
  static void enable(bool on) noexcept { enabled_ = on; }

  // Every ring's sends and submissions (the system calls), since the process started.
  static std::uint64_t sends_total() noexcept { return sends_.load(std::memory_order_relaxed); }
  static std::uint64_t submits_total() noexcept { return submits_.load(std::memory_order_relaxed); }

  // The ring that collects this thread's writes now, or null: writes go out at once.
  static send_ring* collecting() noexcept { return collecting_; }

  // While one is alive, this thread's writes collect in `ring` (when it has a working ring);
  // flush() sends them.
  class collect {
  public:
    explicit collect(send_ring& ring) noexcept { collecting_ = ring.usable() ? &ring : nullptr; }
    ~collect() { collecting_ = nullptr; }
    collect(collect const&) = delete;
    collect& operator=(collect const&) = delete;
  };

  // Queues a send of `b.buffers` (`total` bytes) on `fd`, to be made by flush(), which then
  // calls `owner->sent()`. Takes `b`'s frames and buffers and leaves `b` with empty vectors of
  // an earlier batch (their capacity kept). Only from the context's thread. False when the ring
  // is full or has failed since (`b` is left as it was): write it at once.
  bool add(int fd, write_batch& b, std::size_t total, std::shared_ptr<ring_sender> owner);

  // Whether a write of `total` bytes is worth collecting. The ring saves a write its kernel entry
  // and nothing more; a write of a page or more costs that many times over in copying, and made
  // at once it reaches its client a whole slice sooner. In a room of 10 sending 64 KiB messages,
  // collecting them cost 0.69–0.93× the deliveries per second (docs/performance.md).
  static constexpr bool worth_collecting(std::size_t total) noexcept { return total < 4096; }

  // True when add() would refuse for want of room: time to flush(). Never flush from inside a
  // writer (a pump that is adding): the owners' follow-up writes use the thread's scratch batch
  // that writer is framing in.
  bool full() const noexcept { return capacity_ != 0 && used_ == capacity_; }

  // Makes every send added, in one system call, then hands each result to its owner, in the
  // order they were added. Writes the owners make from sent() go out at once, not here.
  void flush();

private:
  struct slot;
  struct ring;

  bool usable() const noexcept { return ring_ != nullptr; }
  void shutdown() override;

  std::unique_ptr<ring> ring_; // null: batching off, or io_uring refused
  std::vector<slot> slots_;
  std::size_t capacity_ = 0; // slots_.size(), for full() where slot is not known
  std::size_t used_ = 0;

  static inline bool enabled_ = true;
  static inline std::atomic<std::uint64_t> sends_{0};
  static inline std::atomic<std::uint64_t> submits_{0};
  static inline thread_local send_ring* collecting_ = nullptr;
};

} // namespace crier
