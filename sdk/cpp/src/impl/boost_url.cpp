// Boost.URL compiled once into libparley (its header-only mode: Debian's Boost 1.81 ships the
// sources with the headers, so no separate library package is needed). Nothing else includes
// boost/url/src.hpp.

#include <boost/url/src.hpp>
