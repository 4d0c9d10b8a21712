// gevent-cpp: gevent for C++. Includes the common headers.
#pragma once

#include "gevent/config.hpp"
#include "gevent/duration.hpp"
#include "gevent/event.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/hub.hpp"
#include "gevent/local.hpp"
#include "gevent/lock.hpp"
#include "gevent/pool.hpp"
#include "gevent/queue.hpp"
#include "gevent/threadpool.hpp"
#include "gevent/timeout.hpp"
#include "gevent/wait.hpp"
