// The system's zlib (Debian package zlib1g-dev), for inflating compressed request bodies.
#include <zlib.h>
