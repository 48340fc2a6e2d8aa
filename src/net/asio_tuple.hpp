// net/asio_tuple: the completion token for "errors as values" (Asio 1.22 keeps as_tuple in
// asio::experimental; later versions move it to asio::). `auto [ec, n] = co_await
// x.async_op(use_tuple);`
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace mailroom {
inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace mailroom
