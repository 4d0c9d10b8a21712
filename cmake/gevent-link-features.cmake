# The link feature that keeps a shared gevent::monkey under -Wl,--as-needed: a program whose own
# code names no hook still needs the library, because the libraries it loads call recv, poll...
# Used by the project and by the installed package (gevent-cppConfig.cmake).
set(CMAKE_LINK_LIBRARY_USING_GEVENT_NO_AS_NEEDED
  "LINKER:--push-state,--no-as-needed" "<LIBRARY>" "LINKER:--pop-state")
set(CMAKE_LINK_LIBRARY_USING_GEVENT_NO_AS_NEEDED_SUPPORTED TRUE)
