// Memory for greenlet records: 64-byte-aligned blocks in size classes of 64 bytes, carved from
// 64 KiB slabs, with a free list per class in each thread. A record takes its size rounded to
// the class and nothing more: no malloc header, no alignment slack (malloc(size + 64) cost a
// sleeping greenlet 80 more bytes), and no memalign on the spawn path.
#pragma once

#include <cstddef>

namespace gevent::detail {

// The largest record the pool serves; larger ones (a big capture) use aligned operator new.
inline constexpr std::size_t kLargestPooledRecord = 1024;

void* allocate_record(std::size_t size);
void free_record(void* block, std::size_t size) noexcept;

}  // namespace gevent::detail
