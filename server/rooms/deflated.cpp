#include "server/rooms/deflated.hpp"

#include <boost/beast/zlib/deflate_stream.hpp>

#include <stdexcept>

namespace crier {
namespace {

std::atomic<std::uint64_t> compressions{0};

// One compressor per thread, reset for each message. memLevel 6 keeps the hash table that each
// reset clears at 16 KiB (the default's 64 KiB memset costs more than compressing a chat message),
// at no measurable loss of ratio on messages of a few hundred bytes.
struct compressor {
  boost::beast::zlib::deflate_stream stream;
  int level = -1;
};
thread_local compressor this_thread_compressor;

} // namespace

bool deflate_message(std::string_view in, int level, std::string& out) {
  namespace zlib = boost::beast::zlib;
  auto& c = this_thread_compressor;
  if (c.level != level) {
    c.stream.reset(level, 15, 6, zlib::Strategy::normal);
    c.level = level;
  } else {
    c.stream.reset();
  }
  compressions.fetch_add(1, std::memory_order_relaxed);
  // The bound on deflate's output, plus the empty stored block of the sync flush.
  out.resize(c.stream.upper_bound(in.size()) + 16);
  zlib::z_params zs;
  zs.next_in = in.data();
  zs.avail_in = in.size();
  zs.next_out = out.data();
  zs.avail_out = out.size();
  boost::system::error_code ec;
  c.stream.write(zs, zlib::Flush::sync, ec);
  // The whole input in one call with room for all of the output: anything else is a bug, and the
  // message then goes out plain rather than broken.
  if ((ec && ec != zlib::error::need_buffers) || zs.avail_in != 0 || zs.total_out < 4 || zs.total_out - 4 >= in.size()) {
    out.clear();
    return false;
  }
  out.resize(zs.total_out - 4);
  return true;
}

struct deflate_context::impl {
  boost::beast::zlib::deflate_stream stream;
};

namespace {
std::atomic<std::uint64_t> next_stream_id{1};
} // namespace

deflate_context::deflate_context(int level) : impl_(std::make_unique<impl>()), id_(next_stream_id.fetch_add(1)) {
  impl_->stream.reset(level, window_bits, mem_level, boost::beast::zlib::Strategy::normal);
}

deflate_context::~deflate_context() = default;

std::shared_ptr<streamed_deflate const> deflate_context::compress(std::string_view payload) {
  namespace zlib = boost::beast::zlib;
  auto out = std::make_shared<streamed_deflate>();
  out->stream = id_;
  out->index = index_++;
  out->reset = index_ == 1 || since_reset_ >= reset_every || (joined_ && since_reset_ >= reset_after_join);
  if (out->reset && index_ != 1) impl_->stream.reset(); // the window forgets, the settings stay
  if (out->reset) {
    since_reset_ = 0;
    joined_ = false;
  }
  ++since_reset_;
  compressions.fetch_add(1, std::memory_order_relaxed);
  // Unlike a message on its own, this one goes out compressed even if it did not shrink: the
  // stream has taken it in, and a member's inflater must too to stay in step.
  auto& bytes = out->bytes;
  bytes.resize(impl_->stream.upper_bound(payload.size()) + 16);
  zlib::z_params zs;
  zs.next_in = payload.data();
  zs.avail_in = payload.size();
  zs.next_out = bytes.data();
  zs.avail_out = bytes.size();
  for (;;) {
    boost::system::error_code ec;
    impl_->stream.write(zs, zlib::Flush::sync, ec);
    // Done once the input is in and the flush's output fit: what is left of the buffer says so.
    if (zs.avail_in == 0 && zs.avail_out > 0) break;
    if (ec && ec != zlib::error::need_buffers) throw std::runtime_error("deflate: " + ec.message());
    auto const used = bytes.size() - zs.avail_out;
    bytes.resize(bytes.size() * 2);
    zs.next_out = bytes.data() + used;
    zs.avail_out = bytes.size() - used;
  }
  if (zs.total_out < 4 || bytes.compare(zs.total_out - 4, 4, std::string_view("\0\0\xff\xff", 4)) != 0)
    throw std::logic_error("deflate: a sync flush without its empty stored block");
  bytes.resize(zs.total_out - 4);
  return out;
}

std::uint64_t deflate_compressions() noexcept { return compressions.load(std::memory_order_relaxed); }

} // namespace crier
