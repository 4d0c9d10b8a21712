// Byte classes of HTTP (RFC 9110 5.6, RFC 3986) as one 256-entry table, and the two scans the
// parser spends its time in: find the end of a request target and of a field value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gevent::pywsgi::http::detail {

enum CharClass : std::uint8_t {
  kTchar = 1,      // token characters
  kHexDigit = 2,   // HEXDIG
  kDigit = 4,      // DIGIT
  kRegName = 8,    // RFC 3986 reg-name: unreserved / sub-delims / "%" (of pct-encoded)
  kQdtext = 16,    // quoted-string content: HTAB / SP / VCHAR / obs-text less DQUOTE and "\"
  kPairChar = 32,  // after "\" in a quoted-pair: HTAB / SP / VCHAR / obs-text
};

constexpr std::array<std::uint8_t, 256> make_char_table() {
  std::array<std::uint8_t, 256> t{};
  auto add = [&t](std::string_view chars, std::uint8_t cls) {
    for (char c : chars) t[static_cast<unsigned char>(c)] |= cls;
  };
  constexpr std::string_view alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  constexpr std::string_view digit = "0123456789";
  // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
  //         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA                  (RFC 9110 5.6.2)
  add(alpha, kTchar);
  add(digit, kTchar);
  add("!#$%&'*+-.^_`|~", kTchar);
  add(digit, kHexDigit | kDigit);
  add("abcdefABCDEF", kHexDigit);
  // reg-name = *( unreserved / pct-encoded / sub-delims )                   (RFC 3986 3.2.2)
  // unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
  // sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
  add(alpha, kRegName);
  add(digit, kRegName);
  add("-._~!$&'()*+,;=%", kRegName);
  for (int c = 0; c < 256; ++c) {
    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text              (RFC 9110 5.6.4)
    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
    bool visible = c == '\t' || (c >= 0x20 && c != 0x7F);
    if (visible) t[c] |= kPairChar;
    if (visible && c != '"' && c != '\\') t[c] |= kQdtext;
  }
  return t;
}

inline constexpr std::array<std::uint8_t, 256> kCharTable = make_char_table();

inline bool is(char c, CharClass cls) noexcept {
  return (kCharTable[static_cast<unsigned char>(c)] & cls) != 0;
}
inline bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// A request target's byte: VCHAR (0x21-0x7E). The scan stops at SP, CR, LF or a bad byte.
inline bool is_target_byte(unsigned char c) noexcept { return c > 0x20 && c < 0x7F; }
// A field value's byte: HTAB, SP, VCHAR or obs-text. The scan stops at the rest (CR, LF, NUL,
// the other controls, DEL) and, to keep the vector loop simple, at HTAB too.
inline bool is_plain_value_byte(unsigned char c) noexcept { return c >= 0x20 && c != 0x7F; }

// Byte-at-a-time forms: the reference the vector forms are tested against, and the tails.
inline const char* find_target_stop_scalar(const char* p, const char* end) noexcept {
  while (p < end && is_target_byte(static_cast<unsigned char>(*p))) ++p;
  return p;
}
inline const char* find_value_stop_scalar(const char* p, const char* end) noexcept {
  while (p < end && is_plain_value_byte(static_cast<unsigned char>(*p))) ++p;
  return p;
}
// The first byte that is not a tchar: the end of a field name.
inline const char* find_name_stop_scalar(const char* p, const char* end) noexcept {
  while (p < end && is(*p, kTchar)) ++p;
  return p;
}

// Vector forms: 16 bytes per step with SSE2 (every x86-64 has it), never reading at or past
// `end` (the tests put input right before a PROT_NONE page). A typical browser header value
// is 20-120 bytes, so most of a head is crossed 16 bytes at a time.
#if defined(__SSE2__)
inline int first_set_bit(unsigned mask) noexcept { return __builtin_ctz(mask); }

// Returns the first byte <= 0x20 or >= 0x7F.
inline const char* find_target_stop(const char* p, const char* end) noexcept {
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i low = _mm_cmpeq_epi8(_mm_max_epu8(v, space), space);  // v <= 0x20
    __m128i high = _mm_cmpeq_epi8(_mm_min_epu8(v, del), del);     // v >= 0x7F
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(low, high)));
    if (mask != 0) return p + first_set_bit(mask);
  }
  return find_target_stop_scalar(p, end);
}

// Returns the first byte < 0x20 or == 0x7F.
inline const char* find_value_stop(const char* p, const char* end) noexcept {
  const __m128i unit_sep = _mm_set1_epi8(0x1F);
  const __m128i del = _mm_set1_epi8(0x7F);
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, unit_sep), unit_sep);  // v <= 0x1F
    __m128i is_del = _mm_cmpeq_epi8(v, del);
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, is_del)));
    if (mask != 0) return p + first_set_bit(mask);
  }
  return find_value_stop_scalar(p, end);
}
// Field names are nearly always [A-Za-z0-9-]: 16 bytes per step cross those, and the table
// takes over at the first other byte (usually the colon). Browser request, 20 fields: 348 -> 310 ns
// (bench_http_parser, release build).
inline const char* find_name_stop(const char* p, const char* end) noexcept {
  auto in_range = [](__m128i v, char low, char span) {  // low <= v <= low + span, unsigned
    __m128i offset = _mm_sub_epi8(v, _mm_set1_epi8(low));
    __m128i top = _mm_set1_epi8(span);
    return _mm_cmpeq_epi8(_mm_max_epu8(offset, top), top);
  };
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i alpha = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 25);
    __m128i digit = in_range(v, '0', 9);
    __m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
    unsigned ok =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), dash)));
    if (ok != 0xFFFF) {
      p += first_set_bit(~ok);
      break;
    }
  }
  return find_name_stop_scalar(p, end);
}
#else
inline const char* find_name_stop(const char* p, const char* end) noexcept {
  return find_name_stop_scalar(p, end);
}
inline const char* find_target_stop(const char* p, const char* end) noexcept {
  return find_target_stop_scalar(p, end);
}
inline const char* find_value_stop(const char* p, const char* end) noexcept {
  return find_value_stop_scalar(p, end);
}
#endif

// A field value may hold visible characters, spaces and tabs, and obs-text: no CR, LF or NUL,
// which would let a value end the header (response splitting).
inline bool is_field_value(std::string_view value) noexcept {
  const char* const end = value.data() + value.size();
  for (const char* p = value.data();; ++p) {
    p = find_value_stop(p, end);
    if (p == end) return true;
    if (*p != '\t') return false;
  }
}

}  // namespace gevent::pywsgi::http::detail
