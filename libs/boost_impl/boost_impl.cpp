// The one translation unit that holds the compiled bodies of Boost.Asio, its SSL layer and
// Boost.Beast. Everything else includes them with *_SEPARATE_COMPILATION defined.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
