#pragma once

// result<T>: either a value or a parley::error. Callback forms of the SDK's operations receive one.

#include <parley/error.hpp>

#include <utility>
#include <variant>

namespace parley {

template <class T>
class result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(error err) : v_(std::in_place_index<1>, std::move(err)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // The value; throws the error when there is none.
  T& value() & {
    throw_if_error();
    return std::get<0>(v_);
  }
  const T& value() const& {
    throw_if_error();
    return std::get<0>(v_);
  }
  T&& value() && {
    throw_if_error();
    return std::get<0>(std::move(v_));
  }

  // The error. Precondition: !ok().
  const error& err() const { return std::get<1>(v_); }

 private:
  void throw_if_error() const {
    if (!ok()) throw std::get<1>(v_);
  }

  std::variant<T, error> v_;
};

template <>
class result<void> {
 public:
  result() = default;
  result(error err) : err_(std::move(err)) {}

  bool ok() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  // Throws the error when there is one.
  void value() const {
    if (err_) throw *err_;
  }

  // The error. Precondition: !ok().
  const error& err() const { return *err_; }

 private:
  std::optional<error> err_;
};

}  // namespace parley
