#pragma once
// One enum <-> string mapping per enum: the name an enumerator has on the wire, in stored JSON,
// in logs and in error messages, and back.
//
// An enum whose names are its enumerators' own is described where it is declared, with
// BOOST_DESCRIBE_ENUM (same namespace as the enum). An enum whose names differ declares one
// table instead, found by argument-dependent lookup:
//
//   constexpr std::array<std::pair<my_enum, std::string_view>, N> enum_names(my_enum) {...}
//
// Both are read only through parley::to_string and parley::from_string.

#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace parley {

namespace detail {

template <class E>
concept has_name_table = std::is_enum_v<E> && requires(E e) {
  enum_names(e);
};

template <class E>
concept has_description = std::is_enum_v<E> && boost::describe::has_describe_enumerators<E>::value;

template <class E>
constexpr auto described_names() {
  using list = boost::describe::describe_enumerators<E>;
  std::array<std::pair<E, std::string_view>, boost::mp11::mp_size<list>::value> out{};
  std::size_t i = 0;
  boost::mp11::mp_for_each<list>([&](auto d) { out[i++] = {d.value, d.name}; });
  return out;
}

}  // namespace detail

// An enum with exactly one mapping: a table or a description, never both.
template <class E>
concept named_enum = detail::has_name_table<E>
!= detail::has_description<E>;

// Every (enumerator, name) pair of `E`, in declaration order.
template <named_enum E>
constexpr auto names_of() {
  if constexpr (detail::has_name_table<E>)
    return enum_names(E{});
  else
    return detail::described_names<E>();
}

// The table both directions read, built once.
template <named_enum E>
inline constexpr auto name_table = names_of<E>();

// The name of `e`; empty for a value that is not one of E's enumerators (a cast integer).
template <named_enum E>
constexpr std::string_view to_string(E e) noexcept {
  for (const auto& [value, name] : name_table<E>)
    if (value == e) return name;
  return {};
}

// The enumerator named `s` (exact, case-sensitive), or nullopt for any other string.
template <named_enum E>
constexpr std::optional<E> from_string(std::string_view s) noexcept {
  for (const auto& [value, name] : name_table<E>)
    if (name == s) return value;
  return std::nullopt;
}

}  // namespace parley
