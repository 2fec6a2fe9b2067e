#pragma once
// An allocator that is plain operator new/delete, for the handlers a session keeps pending
// while idle (its wait for readability, its ping timer). Asio allocates an operation for a
// handler with the default allocator from a small per-thread cache of freed blocks, and reuses
// any cached block that is large enough: a 100-byte wait could sit in a 600-byte block left by
// an HTTP read, for as long as the connection is idle. Giving those handlers this allocator
// (any type other than std::allocator bypasses the cache) makes each take only its own size.

#include <cstddef>
#include <new>

namespace crier {

template <class T>
struct exact_allocator {
  using value_type = T;

  exact_allocator() noexcept = default;
  template <class U>
  exact_allocator(exact_allocator<U> const&) noexcept {} // NOLINT(google-explicit-constructor): allocators convert

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }

  template <class U>
  bool operator==(exact_allocator<U> const&) const noexcept {
    return true;
  }
};

} // namespace crier
