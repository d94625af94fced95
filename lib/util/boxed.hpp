// Boxed<T>: a T kept on the heap only when it differs from T's default,
// with value semantics (deep copies, comparison by value). For the large,
// rarely set members of a per-program struct: a program without a health
// check pays a pointer for it, not the check's size (issue 7: memory per
// program).
#pragma once

#include <memory>
#include <utility>

namespace sup {

template <class T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(T value) { *this = std::move(value); }  // NOLINT: converts like the plain member did
  Boxed(const Boxed& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(T value) {
    if (value == fallback()) p_.reset();
    else if (p_) *p_ = std::move(value);
    else p_ = std::make_unique<T>(std::move(value));
    return *this;
  }

  const T& operator*() const { return p_ ? *p_ : fallback(); }
  const T* operator->() const { return &**this; }
  // For changing single fields in place (allocates).
  T& mut() {
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }

  bool operator==(const Boxed& o) const { return **this == *o; }

 private:
  static const T& fallback() {
    static const T value{};
    return value;
  }
  std::unique_ptr<T> p_;
};

}  // namespace sup
