// Whether the tests run under AddressSanitizer or ThreadSanitizer: checks of
// resident memory or of generated code say nothing there.
#pragma once

namespace xtape::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool under_sanitizer = true;
#elif defined(__has_feature)
inline constexpr bool under_sanitizer = __has_feature(address_sanitizer) || __has_feature(thread_sanitizer);
#else
inline constexpr bool under_sanitizer = false;
#endif

}  // namespace xtape::test
