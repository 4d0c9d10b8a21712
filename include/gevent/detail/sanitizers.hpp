// Which sanitizers this translation unit is built with (the whole build shares one choice).
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define GEVENT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GEVENT_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define GEVENT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GEVENT_TSAN 1
#endif
#endif

#ifndef GEVENT_ASAN
#define GEVENT_ASAN 0
#endif
#ifndef GEVENT_TSAN
#define GEVENT_TSAN 0
#endif
