// gevent::pywsgi: WSGIServer and the WSGI-shaped application interface (layer wsgi).
#pragma once

#include "gevent/pywsgi/application.hpp"
#include "gevent/pywsgi/counters.hpp"
#include "gevent/pywsgi/server.hpp"
