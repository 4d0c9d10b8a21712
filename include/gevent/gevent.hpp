// gevent-cpp: gevent for C++. Includes the common headers.
#pragma once

#include "gevent/config.hpp"
#include "gevent/duration.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/hub.hpp"
#include "gevent/timeout.hpp"
#include "gevent/wait.hpp"
