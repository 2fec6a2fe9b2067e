#pragma once
// A broadcast to a big room walks thousands of members that were last touched one broadcast
// ago and have left the cache since: every member's first lines are a wait on memory. Loops that
// walk them ask for the next few ahead, so that the wait overlaps with serving the ones between
// (what a plain array of sockets gets from the hardware prefetcher on its own).

#include <cstddef>
#include <cstdint>

namespace crier {

// How many members ahead a walk asks for: far enough for a fetch from memory to finish while
// the members in between are served, near enough that the lines are still there when used.
inline constexpr std::size_t prefetch_ahead = 6;

// Asks for the first `lines` cache lines of the object at `p` (a hint: it never faults).
inline void prefetch_object(void const* p, int lines = 2) noexcept {
  constexpr int line = 64;
  if (p == nullptr) return;
  for (int i = 0; i < lines; ++i) __builtin_prefetch(static_cast<char const*>(p) + i * line);
}

// Asks for every cache line that [begin, end) touches.
inline void prefetch_range(void const* begin, void const* end) noexcept {
  constexpr std::uintptr_t line = 64;
  auto a = reinterpret_cast<std::uintptr_t>(begin) & ~(line - 1);
  for (auto const e = reinterpret_cast<std::uintptr_t>(end); a < e; a += line)
    __builtin_prefetch(reinterpret_cast<void const*>(a));
}

// Where an object made by std::make_shared keeps its reference counts: libstdc++ puts them
// (16 bytes with a vtable pointer) just before the object, often on the line before its own
// first one. Taking or dropping a reference (weak_from_this().lock(), a shared_ptr going out of
// scope) waits for that line too.
template <class T>
char const* make_shared_counts(T const* p) noexcept {
  return reinterpret_cast<char const*>(p) - (alignof(T) > 16 ? alignof(T) : 16);
}

// One step of a walk over `n` members, serving member `i`: asks for the first `lines` lines of
// the member prefetch_ahead on (`at(j)` is its address) and, for the one half as far on, whose
// lines were asked for a few steps ago and have arrived, has `deeper(j)` ask for what it points
// to. The fan-out and the wake list walk this way.
template <class At, class Deeper>
void prefetch_walk(std::size_t i, std::size_t n, int lines, At at, Deeper deeper) noexcept {
  if (i + prefetch_ahead < n) prefetch_object(at(i + prefetch_ahead), lines);
  if (i + prefetch_ahead / 2 < n) deeper(i + prefetch_ahead / 2);
}

} // namespace crier
