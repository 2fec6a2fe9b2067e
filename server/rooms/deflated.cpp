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

// Compresses `in` into `out` as one permessage-deflate message (RFC 7692 section 7.2.1): a sync
// flush, whose trailing 0x00 0x00 0xff 0xff is removed. With the stream's context as it is: reset
// first for a message on its own. Counted in deflate_compressions(). False (and `out` empty) only
// on an error of the compressor, a bug.
bool compress_message(boost::beast::zlib::deflate_stream& z, std::string_view in, std::string& out) {
  namespace zlib = boost::beast::zlib;
  compressions.fetch_add(1, std::memory_order_relaxed);
  // The bound on deflate's output, plus the empty stored block of the sync flush; grown if a
  // stream's pending bits ever need more.
  out.resize(z.upper_bound(in.size()) + 16);
  zlib::z_params zs;
  zs.next_in = in.data();
  zs.avail_in = in.size();
  zs.next_out = out.data();
  zs.avail_out = out.size();
  for (;;) {
    boost::system::error_code ec;
    z.write(zs, zlib::Flush::sync, ec);
    // Done once the input is in and the flush's output fit: what is left of the buffer says so.
    if (zs.avail_in == 0 && zs.avail_out > 0) break;
    if (ec && ec != zlib::error::need_buffers) {
      out.clear();
      return false;
    }
    auto const used = out.size() - zs.avail_out;
    out.resize(out.size() * 2);
    zs.next_out = out.data() + used;
    zs.avail_out = out.size() - used;
  }
  if (zs.total_out < 4 || out.compare(zs.total_out - 4, 4, std::string_view("\0\0\xff\xff", 4)) != 0) {
    out.clear();
    return false;
  }
  out.resize(zs.total_out - 4);
  return true;
}

} // namespace

bool deflate_message(std::string_view in, int level, std::string& out) {
  auto& c = this_thread_compressor;
  if (c.level != level) {
    c.stream.reset(level, 15, 6, boost::beast::zlib::Strategy::normal);
    c.level = level;
  } else {
    c.stream.reset();
  }
  // A message that does not shrink goes out plain; so, rather than broken, would one the
  // compressor failed on.
  if (!compress_message(c.stream, in, out) || out.size() >= in.size()) {
    out.clear();
    return false;
  }
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

streamed_deflate deflate_context::compress(std::string_view payload) {
  streamed_deflate out;
  out.stream = id_;
  out.index = index_++;
  out.reset = index_ == 1 || since_reset_ >= reset_every || (joined_ && since_reset_ >= reset_after_join);
  if (out.reset && index_ != 1) impl_->stream.reset(); // the window forgets, the settings stay
  if (out.reset) {
    since_reset_ = 0;
    joined_ = false;
  }
  ++since_reset_;
  // Unlike a message on its own, this one goes out compressed even if it did not shrink: the
  // stream has taken it in, and a member's inflater must too to stay in step.
  if (!compress_message(impl_->stream, payload, out.bytes)) throw std::logic_error("deflate: the room's stream failed");
  return out;
}

std::uint64_t deflate_compressions() noexcept { return compressions.load(std::memory_order_relaxed); }

} // namespace crier
